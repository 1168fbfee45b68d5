"""Benchmark: RobustLab's PGD-AT epoch against a plain loop with torchattacks' PGD, and the clean /
robust accuracy of every recipe on digits under the ``standard`` ensemble (AutoAttack).

Both loops train the same small CNN on the same batches with the same optimiser, PGD steps, step
size and random start; only the inner maximisation and the loop differ. Epochs alternate between
the tools so both see the same background load; the table reports the median epoch time.

Run:  python benchmarks/training.py [--epochs 3] [--n 200] [--out benchmarks/results/training.json]
The peer row needs torchattacks (see benchmarks/README.md); without it only RobustLab is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
EPS, STEPS = 0.1, 7
ALPHA = 2.5 * EPS / STEPS


def build_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def ours_epoch(net: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    from robustlab.training import fit, make_recipe

    start = time.perf_counter()
    recipe = make_recipe("pgd_at", epsilon=EPS, steps=STEPS, step_size=ALPHA)
    fit(net, (x, y), recipe, epochs=1, batch_size=64, lr=0.05, weight_decay=0.0, seed=seed)
    return time.perf_counter() - start


def peer_epoch(net: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    import torchattacks

    start = time.perf_counter()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    atk = torchattacks.PGD(net, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=True)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    net.train()
    for i in range(0, len(x), 64):
        idx = order[i : i + 64]
        adv = atk(x[idx], y[idx])  # torchattacks puts the model in eval mode for the attack
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(adv), y[idx]).backward()
        opt.step()
    return time.perf_counter() - start


RECIPES = [
    ("standard", {}, None),
    ("pgd_at", {"epsilon": EPS, "steps": STEPS}, None),
    ("trades", {"epsilon": EPS, "steps": STEPS}, None),
    ("fast_at", {"epsilon": EPS}, None),
    ("gaussian", {"sigma": 0.25}, None),
    ("pgd_at", {"epsilon": EPS, "steps": STEPS}, "swa"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per tool")
    parser.add_argument("--train-epochs", type=int, default=10, help="epochs per recipe")
    parser.add_argument("--n", type=int, default=200, help="test examples for the ensemble")
    parser.add_argument("--out", default="benchmarks/results/training.json")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    from robustlab import attacks
    from robustlab.data import load_digits
    from robustlab.models import TorchModel
    from robustlab.training import fit, make_recipe

    train, test = load_digits("train"), load_digits("test")
    x, y = train.inputs.float(), torch.as_tensor(train.targets)
    try:
        import torchattacks  # noqa: F401

        have_peer = True
    except ImportError:
        have_peer = False
        print("torchattacks is not importable: timing RobustLab only (see benchmarks/README.md).")

    times: dict[str, list[float]] = {"robustlab": [], "torchattacks": []}
    ours_net, peer_net = build_net(), build_net()
    for epoch in range(args.epochs):
        times["robustlab"].append(ours_epoch(ours_net, x, y, epoch))
        if have_peer:
            times["torchattacks"].append(peer_epoch(peer_net, x, y, epoch))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"\nPGD-AT epoch ({len(x)} digits, {STEPS} steps, Linf {EPS}), median of {args.epochs}:")
    for tool, t in med.items():
        print(f"  {tool:12s} {t:6.2f} s")
    ratio = med["robustlab"] / med["torchattacks"] if "torchattacks" in med else None
    if ratio is not None:
        print(f"  ratio        {ratio:6.2f}x (target <= 1.1x)")

    rows = []
    xt, yt = test.inputs[: args.n], test.targets[: args.n]
    for name, params, averaging in RECIPES:
        start = time.perf_counter()
        result = fit(
            build_net(),
            (x, y),
            make_recipe(name, **params),
            epochs=args.train_epochs,
            optimizer="adam",
            lr=3e-3,
            weight_decay=0.0,
            averaging=averaging,
        )
        seconds = time.perf_counter() - start
        model = TorchModel(result.module, bounds=(0.0, 1.0), num_classes=10)
        ens = attacks.standard(model, xt, yt, epsilon=EPS)
        label = name + (f"+{averaging}" if averaging else "")
        rows.append(
            {
                "recipe": label,
                "clean": ens.clean_accuracy,
                "robust": ens.robust_accuracy,
                "train_s": seconds,
            }
        )
        print(
            f"  {label:14s} clean {ens.clean_accuracy:.3f}  robust {ens.robust_accuracy:.3f}  "
            f"({seconds:.1f} s)"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "threads": THREADS,
                "epoch_seconds": times,
                "median_epoch_seconds": med,
                "ratio": ratio,
                "epsilon": EPS,
                "n": args.n,
                "recipes": rows,
            },
            indent=2,
        )
    )
    print(f"\nWrote {out}")


if __name__ == "__main__":
    main()
