"""Benchmark: RobustLab's standard ensemble against AutoAttack built from torchattacks' parts.

Trains a standard and an adversarially trained small CNN on scikit-learn digits (8x8 in [0, 1]),
then measures robust accuracy, wall time and peak memory of both tools at Linf 0.1, Linf 0.2 and
L2 1.0. Each (model, setting, tool) runs in a fresh subprocess so peak memory is its own.

Run:  python benchmarks/attacks.py [--n 200] [--out benchmarks/results/attacks.json]
The peer rows need torchattacks (see benchmarks/README.md); without it only RobustLab runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn

SETTINGS = [("linf", 0.1), ("linf", 0.2), ("l2", 1.0)]
N_TRAIN = 1297
# Both tools run single-threaded: on a small, shared CPU, torch's intra-op threads spin against
# each other and other processes, which made batch-100 forward passes 40x slower in our runs.
THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def build_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32).view(-1, 1, 8, 8)
    return x, torch.tensor(data.target)


def _pgd_linf(net: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    delta = (torch.rand_like(x) * 2 - 1) * eps
    for _ in range(5):
        delta.requires_grad_(True)
        loss = nn.functional.cross_entropy(net((x + delta).clamp(0, 1)), y)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + 0.25 * eps * grad.sign()).clamp(-eps, eps)
    return (x + delta).clamp(0, 1).detach()


def train(adversarial: bool, epochs: int = 30) -> nn.Module:
    """Standard training, or PGD adversarial training (Linf 0.1, 5 steps; Madry et al. 2018)."""
    torch.manual_seed(0)
    x, y = digits()
    x, y = x[:N_TRAIN], y[:N_TRAIN]
    net = build_net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i : i + 64]
            xb = _pgd_linf(net, x[b], y[b], 0.1) if adversarial else x[b]
            loss = nn.functional.cross_entropy(net(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _current_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(weights: str, tool: str, norm: str, eps: float, n: int) -> dict:
    """Attack the test points with one tool; runs inside a fresh subprocess."""
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    net = build_net()
    net.load_state_dict(torch.load(weights))
    net.eval()
    x, y = digits()
    x, y = x[N_TRAIN : N_TRAIN + n], y[N_TRAIN : N_TRAIN + n]
    base = _current_rss_mib()
    start = time.perf_counter()
    if tool == "robustlab":
        from robustlab.attacks import standard
        from robustlab.models import TorchModel

        result = standard(TorchModel(net, num_classes=10), x, y, norm=norm, epsilon=eps, seed=0)
        robust = result.robust_accuracy
        extra = {"per_attack": result.per_attack, "warnings": [w.code for w in result.warnings]}
    else:
        import torchattacks as ta

        ta_norm = {"linf": "Linf", "l2": "L2"}[norm]
        attack = ta.MultiAttack(
            [
                ta.APGD(net, norm=ta_norm, eps=eps, steps=100, n_restarts=1, loss="ce", seed=0),
                ta.APGDT(net, norm=ta_norm, eps=eps, steps=100, n_restarts=1, n_classes=10, seed=0),
                ta.FAB(
                    net,
                    norm=ta_norm,
                    eps=eps,
                    steps=100,
                    n_restarts=1,
                    multi_targeted=True,
                    n_classes=10,
                    seed=0,
                ),
                ta.Square(net, norm=ta_norm, eps=eps, n_queries=5000, n_restarts=1, seed=0),
            ]
        )
        adv = attack(x, y)
        with torch.no_grad():
            robust = float((net(adv).argmax(dim=1) == y).float().mean())
        extra = {}
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        clean = float((net(x).argmax(dim=1) == y).float().mean())
    return {
        "tool": tool,
        "norm": norm,
        "epsilon": eps,
        "n": n,
        "clean_accuracy": clean,
        "robust_accuracy": robust,
        "wall_s": round(elapsed, 2),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "peak_over_baseline_mib": round(_peak_rss_mib() - base, 1),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="test points per setting")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "attacks.json"))
    parser.add_argument(
        "--one", nargs=5, metavar=("WEIGHTS", "TOOL", "NORM", "EPS", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        w, tool, norm, eps, n = args.one
        print(json.dumps(run_one(w, tool, norm, float(eps), int(n))))
        return

    try:
        import torchattacks

        peer = f"torchattacks {torchattacks.__version__}"
    except ImportError:
        peer = None
        print("torchattacks is not installed: only RobustLab runs (see benchmarks/README.md).")
    torch.set_num_threads(THREADS)
    tools = ["robustlab"] + (["torchattacks"] if peer else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, adversarial in [("standard-trained", False), ("adv-trained", True)]:
            t0 = time.perf_counter()
            net = train(adversarial)
            print(f"trained {label} CNN in {time.perf_counter() - t0:.1f}s")
            weights = os.path.join(tmp, f"{label}.pt")
            torch.save(net.state_dict(), weights)
            for norm, eps in SETTINGS:
                for tool in tools:
                    cmd = [
                        sys.executable,
                        __file__,
                        "--one",
                        weights,
                        tool,
                        norm,
                        str(eps),
                        str(args.n),
                    ]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                    row = {"model": label, **json.loads(out.stdout.strip().splitlines()[-1])}
                    rows.append(row)
                    print(
                        f"  {norm} {eps:<4} {tool:<13} robust {row['robust_accuracy']:.3f} "
                        f"time {row['wall_s']:7.1f}s peak {row['peak_rss_mib']:.0f} MiB"
                    )

    noise = 2.0 / args.n
    print(
        f"\n| model | norm | eps | clean | RobustLab | {peer or 'peer'} | "
        f"time RL / peer (s) | peak RSS RL / peer (MiB) | RL <= peer + {noise:.3f} |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    comparisons = []
    for label in ("standard-trained", "adv-trained"):
        for norm, eps in SETTINGS:
            ours = next(
                r
                for r in rows
                if (r["model"], r["norm"], r["epsilon"], r["tool"])
                == (label, norm, eps, "robustlab")
            )
            theirs = next(
                (
                    r
                    for r in rows
                    if (r["model"], r["norm"], r["epsilon"], r["tool"])
                    == (label, norm, eps, "torchattacks")
                ),
                None,
            )
            ok = (
                None
                if theirs is None
                else ours["robust_accuracy"] <= theirs["robust_accuracy"] + noise
            )
            comparisons.append({"model": label, "norm": norm, "epsilon": eps, "ours_le_peer": ok})
            t_peer = "-" if theirs is None else f"{theirs['wall_s']:.1f}"
            m_peer = "-" if theirs is None else f"{theirs['peak_rss_mib']:.0f}"
            r_peer = "-" if theirs is None else f"{theirs['robust_accuracy']:.3f}"
            print(
                f"| {label} | {norm} | {eps} | {ours['clean_accuracy']:.3f} | "
                f"{ours['robust_accuracy']:.3f} | {r_peer} | {ours['wall_s']:.1f} / {t_peer} | "
                f"{ours['peak_rss_mib']:.0f} / {m_peer} | {ok} |"
            )
    report = {
        "benchmark": "attacks",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gpu": torch.cuda.is_available(),
        },
        "torch_threads": THREADS,
        "versions": {"torch": torch.__version__, "peer": peer, "python": platform.python_version()},
        "n": args.n,
        "noise": noise,
        "rows": rows,
        "comparisons": comparisons,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
