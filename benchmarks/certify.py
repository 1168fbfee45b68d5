"""Certification benchmark: randomized smoothing vs ART and an independent Cohen et al. loop;
IBP / CROWN time per image and verified accuracy, on the digits CNN."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from scipy.stats import beta, norm

import robustlab
from robustlab.certify import smoothing, verify
from robustlab.data.loading import load_dataset
from robustlab.demo.digits import train_digits_cnn


def _shim_statsmodels() -> None:
    """ART imports statsmodels only for the Clopper-Pearson bound; stand in with SciPy's beta."""
    try:
        import statsmodels.stats.proportion  # noqa: F401
    except ImportError:
        mod = types.ModuleType("statsmodels.stats.proportion")

        def proportion_confint(k, n, alpha=0.05, method="beta"):  # type: ignore[no-untyped-def]
            lo = beta.ppf(alpha / 2, k, n - k + 1) if k > 0 else 0.0
            hi = beta.ppf(1 - alpha / 2, k + 1, n - k) if k < n else 1.0
            return lo, hi

        mod.proportion_confint = proportion_confint  # type: ignore[attr-defined]
        for name in ("statsmodels", "statsmodels.stats"):
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules["statsmodels.stats.proportion"] = mod


@torch.no_grad()
def cohen_reference(net, x, sigma, n0, n, alpha, batch):  # type: ignore[no-untyped-def]
    """Cohen et al.'s CERTIFY written out independently (their `core.py` structure)."""
    preds, radii = [], []
    for xi in x:

        def counts(num, xi=xi):  # type: ignore[no-untyped-def]
            c = np.zeros(10, dtype=np.int64)
            left = num
            while left:
                b = min(batch, left)
                left -= b
                rep = xi.unsqueeze(0).repeat(b, 1, 1, 1)
                out = net(rep + torch.randn_like(rep) * sigma).argmax(1)
                c += np.bincount(out.numpy(), minlength=10)
            return c

        top = int(counts(n0).argmax())
        k = int(counts(n)[top])
        p = beta.ppf(alpha, k, n - k + 1) if k else 0.0
        preds.append(top if p > 0.5 else -1)
        radii.append(sigma * norm.ppf(p) if p > 0.5 else 0.0)
    return np.array(preds), np.array(radii)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--n0", type=int, default=100)
    ap.add_argument("--sigma", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--verify-images", type=int, default=200)
    ap.add_argument("--out", default="benchmarks/results/certify.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = train_digits_cnn(epochs=12, seed=0)
    test = load_dataset("digits-test")
    x, y = test.inputs[: args.images], np.asarray(test.targets[: args.images])
    alpha, results = 0.001, {}

    def timed(fn):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t

    ours, t_ours = timed(
        lambda: smoothing(
            model,
            x,
            sigma=args.sigma,
            n0=args.n0,
            n=args.n,
            alpha=alpha,
            batch_size=args.batch,
            seed=0,
        )
    )
    ref, t_ref = timed(
        lambda: cohen_reference(model.module, x, args.sigma, args.n0, args.n, alpha, args.batch)
    )
    samples = args.images * (args.n + args.n0)
    results["robustlab"] = {
        "s_per_image": t_ours / args.images,
        "samples_per_s": samples / t_ours,
        "radius": ours.radius.tolist(),
        "prediction": ours.prediction.tolist(),
    }
    results["cohen_reference"] = {
        "s_per_image": t_ref / args.images,
        "samples_per_s": samples / t_ref,
        "radius": ref[1].tolist(),
        "prediction": ref[0].tolist(),
    }
    try:
        _shim_statsmodels()
        from art.estimators.certification.randomized_smoothing import PyTorchRandomizedSmoothing

        art = PyTorchRandomizedSmoothing(
            model.module,
            torch.nn.CrossEntropyLoss(),
            input_shape=(1, 8, 8),
            nb_classes=10,
            clip_values=(0.0, 1.0),
            device_type="cpu",
            sample_size=args.n0,
            scale=args.sigma,
            alpha=alpha,
        )
        (a_pred, a_rad), t_art = timed(
            lambda: art.certify(x.numpy(), n=args.n, batch_size=args.batch)
        )
        results["art"] = {
            "s_per_image": t_art / args.images,
            "samples_per_s": samples / t_art,
            "radius": np.asarray(a_rad).tolist(),
            "prediction": np.asarray(a_pred).tolist(),
            "version": __import__("art").__version__,
        }
    except ImportError as exc:
        results["art"] = {"error": f"ART not available: {exc}"}
    xv, yv = test.inputs[: args.verify_images], test.targets[: args.verify_images]
    for method in ("ibp", "crown"):
        for norm_, eps in (("linf", 1 / 255), ("linf", 2 / 255), ("l2", 0.1)):
            res, t = timed(
                lambda e=eps, nm=norm_, m=method: verify(
                    model, xv, yv, epsilon=e, norm=nm, method=m
                )
            )
            results[f"{method}_{norm_}_{eps:.4g}"] = {
                "ms_per_image": 1000 * t / len(xv),
                "verified_accuracy": float(res.verified.mean()),
            }
    results["clean_accuracy"] = float(
        (model.predict_scores(xv).argmax(1).numpy() == np.asarray(yv)).mean()
    )
    results["targets"] = y.tolist()
    results["machine"] = {
        "platform": platform.platform(),
        "cpus": torch.get_num_threads(),
        "torch": torch.__version__,
        "robustlab": robustlab.__version__,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    for k, v in results.items():
        print(k, v)


if __name__ == "__main__":
    main()
