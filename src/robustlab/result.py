"""ScanResult: the handle a scan returns, reading everything from the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from robustlab.analysis.axes import SUMMARY_KEY
from robustlab.errors import ConfigError
from robustlab.store import Store

if TYPE_CHECKING:
    from robustlab.analysis import RunAnalysis

__all__ = ["ScanResult"]


class ScanResult:
    """The results of one stored run.

    Attributes:
        run_id: The run's id in the store.
        store: The store holding it.
    """

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = store.resolve_run(run_id)

    def _doc(self, artifacts: bool = False) -> dict[str, Any]:
        from robustlab.report import collect

        return collect(self.store, [self.run_id], artifacts=artifacts)

    def analysis(self) -> RunAnalysis:
        """The run's analyses (scorecard, robustness curves, drops), typed and versioned."""
        from robustlab.analysis import analyse_run
        from robustlab.report.data import run_data

        return analyse_run(self.store, run_data(self.store, self.run_id))

    @property
    def scorecard(self) -> list[dict[str, Any]]:
        """Headline number per robustness axis (see :mod:`robustlab.analysis.axes`)."""
        return [a.to_dict() for a in self.analysis().scorecard]

    @property
    def status(self) -> str:
        return str(self.store.run(self.run_id)["status"])

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """One row per (probe, metric): label, axis, kind, value, ci_low, ci_high, n,
        higher_is_better."""
        return self._doc()["runs"][0]["metrics"]

    @property
    def skipped(self) -> dict[str, str]:
        """Probes that could not measure this model, with the reason."""
        return {
            p["key"]: p["reason"]
            for p in self._doc()["runs"][0]["probes"]
            if p.get("status") == "skipped"
        }

    @property
    def undefined_summaries(self) -> dict[str, str]:
        """Summaries that apply to the run but have no value (e.g. mCE against a baseline that
        makes no errors under a corruption), with the reason."""
        return dict(self._doc()["runs"][0].get("undefined_summaries") or {})

    @property
    def undefined_metrics(self) -> dict[str, str]:
        """Metrics the suite names that no probe could compute (e.g. worst_group_accuracy
        without a group column), with the reason."""
        return dict(self._doc()["runs"][0].get("undefined_metrics") or {})

    @property
    def summaries(self) -> dict[str, float]:
        """Cross-probe summaries (mean corruption accuracy, mCE, worst-case robust accuracy)."""
        return {
            r["metric"]: float(r["value"]) for r in self.metrics if r["probe_key"] == SUMMARY_KEY
        }

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Units whose model or probe raised: probe key and label, shard, example range
        ``[start, stop)`` and error message. Re-running the scan tries them again."""
        return list(self._doc()["runs"][0].get("failures") or [])

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return self._doc()["runs"][0]["warnings"]

    def table(self, metric: str | None = None) -> list[dict[str, Any]]:
        """Metric rows, optionally of one metric only."""
        rows = self.metrics
        return [r for r in rows if metric is None or r["metric"] == metric]

    def value(self, probe: str, metric: str = "accuracy") -> float:
        """The value of ``metric`` for the probe with key or label ``probe``."""
        for r in self.metrics:
            if r["metric"] == metric and probe in (r["probe_key"], r["label"]):
                return float(r["value"])
        raise ConfigError(
            f"No {metric!r} for probe {probe!r} in run {self.run_id}; probes: "
            f"{', '.join(sorted({r['probe_key'] for r in self.metrics}))}."
        )

    def to_json(self, path: str | Path) -> Path:
        from robustlab.report import write_json

        return write_json(self._doc(), path)

    def to_html(self, path: str | Path) -> Path:
        from robustlab.report import write_html

        return write_html(self._doc(artifacts=True), path)

    def to_pandas(self) -> Any:
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise ConfigError("to_pandas() needs pandas; pip install pandas.") from None
        return pd.DataFrame(self.metrics)

    def __str__(self) -> str:
        lines = [f"Run {self.run_id} ({self.status})"]
        # a minimal-norm probe breaks what it can at any size: its number is the median size
        median = {r["probe_key"]: r for r in self.table("median_perturbation")}
        for r in self.table("accuracy"):
            if r.get("kind") == "minimal" and r["probe_key"] in median:
                r, what = median[r["probe_key"]], "median perturbation"
            else:
                what = "accuracy"
            lines.append(
                f"  {r['label']:<32} {what} {r['value']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
            )
        for key, reason in self.skipped.items():
            lines.append(f"  {key:<32} skipped: {reason}")
        for name, reason in self.undefined_summaries.items():
            lines.append(f"  {name:<32} undefined: {reason}")
        for f in self.failures:
            lines.append(
                f"  {f['probe']:<32} failed on examples {f['examples'][0]}..{f['examples'][1] - 1}: "
                f"{f['error']}"
            )
        for name, reason in self.undefined_metrics.items():
            lines.append(f"  {name:<32} not computed: {reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ScanResult(run_id={self.run_id!r}, store={self.store.url!r})"
