"""The tabular demo: a scikit-learn pipeline and gradient-boosted trees on breast-cancer, scanned
with ``tabular-standard`` under the data's own schema, with subgroups on binned mean radius."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["run_tabular_demo"]


def run_tabular_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    suite: Any = "tabular-standard",
    seed: int = 0,
    progress: bool = True,
) -> tuple[list[Any], Path, Path]:
    """Train both models on 70% of breast-cancer, scan them on the rest, write the report."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store
    from robustlab.tabular import Schema, TableDataset, TableModel

    db = open_store(store)
    bc = load_breast_cancer(as_frame=True)
    train, test = train_test_split(bc.frame, test_size=0.3, random_state=seed)
    features = bc.data.columns
    # The schema comes from all rows (ranges a clinician would accept), with one relation of
    # the data itself: the worst radius is at least the mean radius.
    schema = Schema.infer(bc.data, relations=["`mean radius` <= `worst radius`"])
    data = TableDataset(
        test.reset_index(drop=True),
        "target",
        schema=schema,
        group_column="mean radius",
        name="breast-cancer-test",
    )
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    trees = HistGradientBoostingClassifier(max_iter=50, random_state=seed)
    models = [
        TableModel(pipe.fit(train[features], train["target"]), schema, name="logreg-pipeline"),
        TableModel(trees.fit(train[features], train["target"]), schema, name="hist-gbt"),
    ]
    if suite == "tabular-standard":
        # the demo adds one metamorphic test of this data: a larger tumour radius must not make
        # the model more sure that the tumour is benign (class 1)
        from robustlab.suites import load_suite

        base = load_suite(suite)
        suite = {
            "name": "tabular-demo",
            "version": base.version,
            "description": f"{base.name} v{base.version} and a metamorphic test of tumour radius",
            "probes": [
                *[p.spec for p in base.probes],
                {
                    "probe": "tabular_metamorphic",
                    "column": "mean radius",
                    "amount": 1.0,
                    "expect": "decreasing",
                    "class_index": 1,
                    "tolerance": 0.01,
                    "threshold": 0.95,
                },
            ],
        }
    results = [scan(m, data, suite, store=db, seed=seed, progress=progress) for m in models]
    html, js = write_report(db, [r.run_id for r in results], out)
    return results, html, js
