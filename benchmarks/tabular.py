"""Benchmark: RobustLab's schema-valid tabular attack against ART's HopSkipJump (and ZOO) on the
same black-box model and rows, and tabular perturbation throughput.

(a) Attacks. Two tables: scikit-learn's breast-cancer (30 continuous columns, the relation
``mean radius <= worst radius``, ranges) and a synthetic loan table of mixed types (an integer
age that is immutable, a one-hot home-ownership pair, integer account counts with
``open_accounts <= total_accounts``, a categorical region). One gradient-boosted tree model per
table (scikit-learn's HistGradientBoosting: no gradients, so both tools attack it as a black
box). Both tools see the same encoded rows; ART gets them standardised (each column divided by
its standard deviation), so its L-infinity distance is in column standard deviations, the unit
of RobustLab's ``epsilon``. A row counts as broken at ``--epsilon`` when the adversarial row is
misclassified and within ``epsilon`` standard deviations in every column (categorical cells may
change freely for both). Queries are the rows each tool had the model score (one counting
wrapper). "violating" is the share of each tool's adversarial rows (of the rows it changed) that
break the schema: out of range, a non-integer in an integer column, an unknown level, a one-hot
group without exactly one 1, a changed immutable cell, a broken relation. Ours must be 0.

(b) Perturbation throughput: rows per second of each tabular perturbation on ``--rows`` rows of
the loan table (schema repair included), one warm-up call, median of ``--repeats``.

Run:  python benchmarks/tabular.py [--rows-attacked 100] [--epsilon 0.5] [--rows 20000]
The peer rows need ART (see benchmarks/README.md); without it only RobustLab runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).parent / "results" / "tabular.json"


def _loans(n: int, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    total = rng.integers(2, 20, n)
    own = (rng.random(n) < 0.5).astype(float)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.gamma(3, 20_000, n),
            "open_accounts": np.minimum(rng.integers(0, 20, n), total),
            "total_accounts": total,
            "region": rng.choice(["north", "south", "east"], n),
            "own": own,
            "rent": 1.0 - own,
        }
    )
    score = (
        df["income"] / 60_000
        - df["open_accounts"] / df["total_accounts"]
        + 0.3 * df["own"]
        + 0.2 * (df["region"] == "south")
        + rng.normal(0, 0.3, n)
    )
    return df, (score > 0.4).to_numpy().astype(int)


def _tables(seed: int) -> list[tuple[str, Any, Any, Any]]:
    from sklearn.datasets import load_breast_cancer

    from robustlab.tabular import Schema

    bc = load_breast_cancer(as_frame=True)
    bc_schema = Schema.infer(bc.data, relations=["`mean radius` <= `worst radius`"])
    loans, y = _loans(2000, seed)
    loan_schema = Schema.infer(
        loans,
        one_hot=[["own", "rent"]],
        immutable=["age"],
        relations=["open_accounts <= total_accounts"],
    )
    return [
        ("breast-cancer", bc.data, bc.target.to_numpy(), bc_schema),
        ("loans (mixed types)", loans, y, loan_schema),
    ]


class Counter:
    """The model's probabilities on encoded rows, counting the rows scored."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rows = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.rows += len(x)
        return np.asarray(self.model.predict_proba(np.asarray(x, dtype=np.float64)))


def _broken_within(
    counter: Counter, adv: np.ndarray, x: np.ndarray, y: np.ndarray, schema: Any, eps: float
) -> np.ndarray:
    numeric = schema.numeric
    dist = np.abs((adv - x) / schema.scales)[:, numeric].max(axis=1, initial=0.0)
    pred = counter(adv).argmax(axis=1)
    return (pred != y) & (dist <= eps + 1e-9)


def _violating(schema: Any, adv: np.ndarray, x: np.ndarray) -> tuple[float, int]:
    changed = ~np.isclose(adv, x, equal_nan=True).all(axis=1)
    if not changed.any():
        return 0.0, 0
    bad = ~schema.valid(adv[changed], original=x[changed])
    return float(bad.mean()), int(changed.sum())


def run_ours(model: Any, x: np.ndarray, y: np.ndarray, schema: Any, eps: float, seed: int) -> dict:
    from robustlab.attacks.tabular import attack_rows
    from robustlab.tabular import TableModel

    counter = Counter(model)
    counted = TableModel(
        counter,
        schema,
        task="classification",
        input_format="array",
        num_classes=model.num_classes,
        name=model.name,
    )
    t0 = time.perf_counter()
    res = attack_rows(counted, x, y, attack="search", epsilon=eps, seed=seed)
    seconds = time.perf_counter() - t0
    spent = counter.rows
    clean_ok = counter(x).argmax(axis=1) == y
    broken = _broken_within(counter, res.adversarial, x, y, schema, eps) & clean_ok
    share, changed = _violating(schema, res.adversarial, x)
    return {
        "tool": "robustlab search",
        "success_rate": float(broken.sum() / max(clean_ok.sum(), 1)),
        "queries_per_row": spent / len(x),
        "seconds": seconds,
        "violating": share,
        "changed_rows": changed,
    }


def run_art(
    name: str, model: Any, x: np.ndarray, y: np.ndarray, schema: Any, eps: float, args: Any
) -> dict:
    try:
        from art.attacks.evasion import HopSkipJump, ZooAttack
        from art.estimators.classification import BlackBoxClassifier
    except ImportError as exc:
        return {"tool": f"ART {name}", "error": f"not installed: {exc}"}
    counter = Counter(model)
    scale = schema.scales
    finite = np.nan_to_num(x)
    lo = np.array(
        [c.low if c.low is not None else finite[:, j].min() for j, c in enumerate(schema.columns)],
        dtype=np.float64,
    )
    hi = np.array(
        [
            c.high if c.high is not None else finite[:, j].max()
            for j, c in enumerate(schema.columns)
        ],
        dtype=np.float64,
    )
    k = int(model.num_classes or 2)
    if name == "ZOO":  # ZOO broadcasts per-feature clip values wrongly; give it the global box
        clip: tuple[Any, Any] = (float((lo / scale).min()), float((hi / scale).max()))
    else:
        clip = (lo / scale, hi / scale)
    clf = BlackBoxClassifier(
        lambda z: counter(np.asarray(z, dtype=np.float64) * scale),
        input_shape=(x.shape[1],),
        nb_classes=k,
        clip_values=clip,
    )
    if name == "HopSkipJump":
        attack = HopSkipJump(
            clf,
            targeted=False,
            norm=np.inf,
            max_iter=args.hsj_iter,
            max_eval=args.hsj_eval,
            init_eval=25,
            verbose=False,
        )
    else:
        attack = ZooAttack(
            clf,
            max_iter=args.zoo_iter,
            nb_parallel=min(8, x.shape[1] - 1),
            use_resize=False,
            use_importance=False,
            verbose=False,
        )
    t0 = time.perf_counter()
    try:
        adv = attack.generate(x=(x / scale).astype(np.float32)).astype(np.float64) * scale
    except Exception as exc:  # a peer that cannot run on this model is reported, not hidden
        return {"tool": f"ART {name}", "error": f"{type(exc).__name__}: {exc}"[:200]}
    seconds = time.perf_counter() - t0
    spent = counter.rows
    clean_ok = counter(x).argmax(axis=1) == y
    broken = _broken_within(counter, adv, x, y, schema, eps) & clean_ok
    share, changed = _violating(schema, adv, x)
    return {
        "tool": f"ART {name}",
        "success_rate": float(broken.sum() / max(clean_ok.sum(), 1)),
        "queries_per_row": spent / len(x),
        "seconds": seconds,
        "violating": share,
        "changed_rows": changed,
    }


def throughput(rows: int, repeats: int) -> list[dict]:
    from robustlab.perturbations import PERTURBATIONS
    from robustlab.tabular import Schema

    df, _ = _loans(rows, seed=1)
    schema = Schema.infer(
        df,
        one_hot=[["own", "rent"]],
        immutable=["age"],
        relations=["open_accounts <= total_accounts"],
    )
    x = schema.encode(df)
    out = []
    for name, cls in PERTURBATIONS.items():
        if cls.modality != "tabular":
            continue
        p = PERTURBATIONS.build(name)
        p.apply(x[:100], seed=0, schema=schema)
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            p.apply(x, seed=r, schema=schema)
            times.append(time.perf_counter() - t0)
        out.append({"perturbation": name, "rows_per_second": rows / statistics.median(times)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows-attacked", type=int, default=100)
    ap.add_argument("--epsilon", type=float, default=0.5)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hsj-iter", type=int, default=5)
    ap.add_argument("--hsj-eval", type=int, default=100)
    ap.add_argument("--zoo-iter", type=int, default=10)
    ap.add_argument("--no-zoo", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sklearn.ensemble import HistGradientBoostingClassifier

    from robustlab.tabular import TableModel

    attacks = []
    for table, frame, y, schema in _tables(args.seed):
        x_all = schema.encode(frame)
        trees = HistGradientBoostingClassifier(max_iter=60, random_state=args.seed)
        trees.fit(x_all, y)
        model = TableModel(trees, schema, input_format="array", name="hist-gbt")
        rng = np.random.default_rng(args.seed)
        pick = rng.choice(len(x_all), size=min(args.rows_attacked, len(x_all)), replace=False)
        x, yy = x_all[pick], y[pick]
        rows = [run_ours(model, x, yy, schema, args.epsilon, args.seed)]
        rows.append(run_art("HopSkipJump", model, x, yy, schema, args.epsilon, args))
        if not args.no_zoo:
            rows.append(run_art("ZOO", model, x, yy, schema, args.epsilon, args))
        for r in rows:
            r["table"] = table
        attacks += rows
    print(f"\n(a) attacks on {args.rows_attacked} rows, epsilon {args.epsilon} column sd")
    print(
        f"{'table':22} {'tool':18} {'success':>8} {'queries/row':>12} {'seconds':>8} "
        f"{'violating':>10} {'changed':>8}"
    )
    for r in attacks:
        if "error" in r:
            print(f"{r['table']:22} {r['tool']:18} {r['error']}")
            continue
        print(
            f"{r['table']:22} {r['tool']:18} {r['success_rate']:8.3f} "
            f"{r['queries_per_row']:12.0f} {r['seconds']:8.1f} {r['violating']:10.3f} "
            f"{r['changed_rows']:8d}"
        )
    tp = throughput(args.rows, args.repeats)
    print(f"\n(b) perturbation throughput on {args.rows} mixed-type rows (schema repair included)")
    for r in tp:
        print(f"{r['perturbation']:24} {r['rows_per_second']:12,.0f} rows/s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                    "load": os.getloadavg(),
                },
                "args": vars(args),
                "attacks": attacks,
                "throughput": tp,
            },
            indent=2,
        )
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
