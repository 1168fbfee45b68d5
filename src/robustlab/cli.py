"""The ``robustlab`` command: a thin front end over the public API."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click
from rich.table import Table

from robustlab._terminal import SafeConsole, markup, printable, safe_text
from robustlab.errors import ConfigError, RobustLabError

# Names, labels and messages come from users' files and stores: every value printed goes through
# markup() or safe_text(), and the consoles drop any control character that still reaches them.
console = SafeConsole()
err_console = SafeConsole(stderr=True)

STORE_HELP = (
    "Results store: a SQLite path or database URL (default ./robustlab.db, or $ROBUSTLAB_STORE)."
)


def _warn_password_in_argv(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    from robustlab.store._engine import has_password

    # only where the process lives long (a scan): there the password sits in the process list
    # for minutes or hours; the other commands' one-line errors stay one line
    long_running = ctx.command.name in ("scan", "demo")
    source = ctx.get_parameter_source(param.name or "")
    from_argv = source is click.core.ParameterSource.COMMANDLINE
    if long_running and from_argv and value and has_password(value):
        err_console.print(
            "[yellow]warning[/yellow] the --store URL carries a password, which other users of "
            "this machine can read in the process list while the scan runs; set "
            "ROBUSTLAB_STORE instead, or leave the password out of the URL and put it in "
            "PGPASSWORD or ~/.pgpass.",
            highlight=False,
        )
    return value


def _store_option(f: Any) -> Any:
    return click.option(
        "--store",
        "store",
        default=None,
        metavar="URL",
        envvar="ROBUSTLAB_STORE",
        callback=_warn_password_in_argv,
        help=STORE_HELP,
    )(f)


def _print_results(results: list[Any]) -> None:
    for res in results:
        run = res.store.run(res.run_id)
        table = Table(
            title=safe_text(
                f"{run['model_name']} on {run['dataset_name']} · suite {run['suite_name']} "
                f"v{run['suite_version']} · run {res.run_id}"
            ),
            title_justify="left",
        )
        # rankers' headline is nDCG@10 (robustlab.ranking)
        headline = "ndcg" if res.table("ndcg") and not res.table("accuracy") else "accuracy"
        table.add_column("probe")
        table.add_column("nDCG@10" if headline == "ndcg" else "accuracy", justify="right")
        table.add_column("95% CI", justify="right")
        table.add_column("nll", justify="right")
        nll = {r["probe_key"]: r["value"] for r in res.table("nll")}
        # attack success rate, queries per success, words perturbed, similarity, consistency
        short = {
            "attack_success_rate": "ASR",
            "queries_per_success": "q/success",
            "words_perturbed": "words",
            "adversarial_similarity": "sim",
            "consistency": "consistency",
        }
        attack: dict[str, list[str]] = {}
        for r in res.table():
            if r["metric"] in short and r["value"] == r["value"]:  # not NaN
                attack.setdefault(r["probe_key"], []).append(
                    f"{short[r['metric']]} {r['value']:.{1 if r['metric'] == 'queries_per_success' else 3}f}"
                )
        if attack:
            table.add_column("attack", justify="left")
        # a minimal-norm probe's accuracy is 0 by design: its number is the median perturbation
        median = {
            r["probe_key"]: r
            for r in res.table("median_perturbation")
            if r.get("kind") == "minimal"
        }
        for r in res.table(headline):
            m = median.get(r["probe_key"])
            table.add_row(
                safe_text(r["label"]),
                f"median ε {m['value']:.4f}" if m else f"{r['value']:.4f}",
                f"[{m['ci_low']:.4f}, {m['ci_high']:.4f}]"
                if m
                else f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]",
                f"{nll[r['probe_key']]:.3f}" if r["probe_key"] in nll else "–",
                *([" · ".join(attack.get(r["probe_key"], [])) or "–"] if attack else []),
            )
        for key, reason in res.skipped.items():
            table.add_row(
                f"[dim]{markup(key)}[/dim]",
                "[dim]skipped[/dim]",
                "",
                "",
                *([""] if attack else []),
                end_section=False,
            )
            err_console.print(f"[yellow]skipped[/yellow] {markup(key)}: {markup(reason)}")
        console.print(table)
        sums = {r["metric"]: r for r in res.table() if r["probe_key"] == "summary"}
        for name, r in sums.items():
            console.print(
                f"  {markup(name)}: {r['value']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]",
                highlight=False,
            )
        for name, reason in res.undefined_summaries.items():
            console.print(
                f"  {markup(name)}: [dim]undefined[/dim] ({markup(reason)})", highlight=False
            )
        for name, reason in res.undefined_metrics.items():
            console.print(
                f"  {markup(name)}: [dim]not computed[/dim] ({markup(reason)})", highlight=False
            )
        for w in res.warnings:  # one per code for the whole scan, however many units raised it
            where = w.get("probes") or [w.get("probe")]
            more = f" and {len(where) - 1} more" if len(where) > 1 else ""
            units = f", {w['units']} units" if w.get("units", 1) > 1 else ""
            err_console.print(
                f"[yellow]warning[/yellow] {markup(w.get('code'))} ({markup(where[0])}{more}"
                f"{units}): {markup(w.get('message'))}"
            )
        for f in res.failures:  # units whose model or probe raised; the scan went on
            first, stop = f["examples"]
            err_console.print(
                f"[red]failed[/red] {markup(f['probe'])} examples {first}..{stop - 1}: "
                f"{markup(f['error'])} (re-run the scan to retry; --fail-fast aborts instead)",
                highlight=False,
            )


def _mlflow_options(f: Any) -> Any:
    f = click.option(
        "--mlflow-experiment",
        default="robustlab",
        show_default=True,
        metavar="NAME",
        help="MLflow experiment for --mlflow.",
    )(f)
    return click.option(
        "--mlflow",
        is_flag=True,
        help="Also log the run's params and metrics to MLflow (tracking URI from "
        "MLFLOW_TRACKING_URI, else MLflow's local default); needs pip install mlflow-skinny.",
    )(f)


def _log_mlflow(store: Any, run_id: str, experiment: str) -> None:
    from robustlab.report.exports import log_to_mlflow

    mlflow_id, uri = log_to_mlflow(store, run_id, experiment=experiment)
    console.print(
        f"MLflow: run {markup(run_id)} logged as {markup(mlflow_id)} at {markup(uri)}",
        highlight=False,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="robustlab")
@click.option("--debug", is_flag=True, help="Show full tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """RobustLab: measure how and where your model breaks."""
    ctx.obj = {"debug": debug}


@cli.command()
@_store_option
@click.option("--out", default="robustlab-report", show_default=True, help="Report folder.")
@click.option("--suite", default="quick", show_default=True, help="Suite name or YAML file.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--text",
    "text",
    is_flag=True,
    help="The text demo: MiniLM and TF-IDF review classifiers scanned with text-quick.",
)
@click.option(
    "--tabular",
    "tabular",
    is_flag=True,
    help="The tabular demo: a pipeline and boosted trees on breast-cancer, tabular-standard.",
)
@click.option("--device", default="cpu", show_default=True, help="MiniLM's device (--text).")
@click.option(
    "--train",
    "train_demo",
    is_flag=True,
    help="The training demo: standard and PGD-AT training under the monitor, then scanned.",
)
@click.option(
    "--certify",
    "certify_demo",
    is_flag=True,
    help="The certified demo: a noise-trained CNN certified and attacked (the gap chart).",
)
@click.option(
    "--ranking",
    "ranking_demo",
    is_flag=True,
    help="The ranking demo: BM25 and a MiniLM ranker on bundled docstrings, ranking-standard.",
)
def demo(
    store: str | None,
    out: str,
    suite: str,
    seed: int,
    no_progress: bool,
    text: bool,
    tabular: bool,
    device: str,
    train_demo: bool,
    certify_demo: bool,
    ranking_demo: bool,
) -> None:
    """Train a small CNN and a scikit-learn model on digits, scan both, write the report.

    With --text: train MiniLM and TF-IDF sentiment classifiers on the bundled reviews instead.
    With --tabular: a pipeline and boosted trees on breast-cancer, scanned with tabular-standard.
    With --train: train the CNN with standard training and PGD-AT, monitoring robustness.
    With --certify: certify a noise-trained CNN (smoothing, IBP, CROWN) next to attacks.
    With --ranking: BM25 and a MiniLM bi-encoder on the bundled docstrings, ranking-standard.
    """
    if ranking_demo:
        from robustlab.demo.ranking import run_ranking_demo

        console.print("Scanning BM25 and a MiniLM bi-encoder on the bundled docstrings ...")
        results, html, js = run_ranking_demo(
            store=store,
            out=out,
            suite="ranking-standard" if suite == "quick" else suite,
            seed=seed,
            progress=not no_progress,
        )
        _print_results(results)
        console.print(f"Report: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")
        return
    if certify_demo:
        from robustlab.demo.certify import DEMO_N, run_certify_demo

        console.print(
            "Training a noise-augmented digits CNN; certifying it (randomized smoothing at "
            f"n={DEMO_N}, IBP, CROWN) and attacking it at the same budgets ..."
        )
        results, html, js = run_certify_demo(
            store=store, out=out, seed=seed, progress=not no_progress
        )
        _print_results(results)
        console.print(f"Report: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")
        return
    if train_demo:
        from robustlab.demo.training import run_training_demo

        console.print("Training a digits CNN with standard training and PGD-AT (monitored) ...")
        results, html, js = run_training_demo(
            store=store, out=out, suite=suite, seed=seed, progress=not no_progress
        )
        _print_results(results)
        console.print(f"Training curves: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")
        return
    if tabular:
        from robustlab.demo.tabular import run_tabular_demo

        console.print(
            "Training a logistic-regression pipeline and boosted trees on breast-cancer ..."
        )
        results, html, js = run_tabular_demo(
            store=store,
            out=out,
            suite="tabular-standard" if suite == "quick" else suite,
            seed=seed,
            progress=not no_progress,
        )
        _print_results(results)
        console.print(f"Report: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")
        return
    if text:
        from robustlab.text import demo as text_demo

        console.print("Training MiniLM and TF-IDF sentiment classifiers on the bundled reviews ...")
        results, html, js = text_demo(
            store=store,
            out=out,
            suite="text-quick" if suite == "quick" else suite,
            seed=seed,
            progress=not no_progress,
            device=device,
        )
    else:
        from robustlab.demo import run_demo

        console.print("Training a CNN and a logistic regression on scikit-learn's digits ...")
        results, html, js = run_demo(
            store=store, out=out, suite=suite, seed=seed, progress=not no_progress
        )
    _print_results(results)
    console.print(f"Report: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")


@cli.command()
@click.argument("recipe_file", type=click.Path())
@_store_option
@click.option("--out", default=None, help="Output folder (default: the file's output.dir).")
@click.option("--check", is_flag=True, help="Only check the file (recipe, keys); do not train.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars of the final scan.")
def train(
    recipe_file: str, store: str | None, out: str | None, check: bool, no_progress: bool
) -> None:
    """Train a model as RECIPE_FILE (YAML) says: recipe, schedule, averaging, monitor, outputs.

    Writes the weights, the run's JSON (history, events, monitor curves), monitor.html, and
    with a `scan:` section scans the trained model into the store.
    """
    from robustlab.training.config import load_config, run_config

    config = load_config(recipe_file)
    recipe = config["_recipe"]
    if check:
        console.print(f"{markup(recipe_file)}: recipe {markup(recipe.name)} OK.")
        return
    console.print(f"Training with recipe [bold]{markup(recipe.name)}[/bold] ...")
    done = run_config(config, out=out, store=store, progress=not no_progress)
    result = done["result"]
    for event in result.events:
        console.print(
            f"event at step {event.get('step')}: {markup(str(event.get('message', event.get('kind'))))}"
        )
    for name, path in done["paths"].items():
        console.print(f"{name}: {markup(str(path))}")
    if "training_run_id" in done:
        console.print(f"training run stored: {markup(done['training_run_id'])}")
    if "scan" in done:
        _print_results([done["scan"]])


@cli.command()
@click.option(
    "--model",
    "model_spec",
    required=True,
    metavar="FILE.py:FACTORY",
    help="Python file and a zero-argument factory returning the model.",
)
@click.option(
    "--weights",
    type=click.Path(),
    multiple=True,
    help="state_dict saved with torch.save; repeat it to scan several checkpoints (seeds).",
)
@click.option(
    "--data",
    required=True,
    metavar="PATH",
    help="Image folder (ROOT/<class>/<image>), .npz file, text table (.csv/.tsv/.jsonl with "
    "text and label columns), or a bundled name: digits, reviews, reviews-test, ranking-stdlib.",
)
@click.option("--suite", default="quick", show_default=True, help="Suite name or YAML file.")
@_store_option
@click.option("--out", default=None, help="Also write the report (index.html, results.json) here.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--shard-size",
    default=256,
    show_default=True,
    type=int,
    help="Examples per unit (the granularity of resuming).",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto (torch models).")
@click.option("--image-size", default=None, metavar="H,W", help="Resize folder images to H,W.")
@click.option(
    "--channels",
    default=None,
    type=click.Choice(["1", "3"]),
    help="Convert folder images to 1 (grayscale) or 3 (RGB) channels.",
)
@click.option(
    "--image-mode",
    default=None,
    type=click.Choice(["L", "RGB"]),
    help="Pillow mode folder images are converted to (L: grayscale, RGB).",
)
@click.option(
    "--skip-unreadable",
    is_flag=True,
    help="Leave out image files that cannot be read (counted in the console and the run).",
)
@click.option(
    "--classes",
    default=None,
    metavar="NAME,NAME,...",
    help="Class folder names in the model's class order (class 0 first); default: numeric order "
    "when every name is a number, else alphabetical.",
)
@click.option(
    "--model-arg",
    "model_arg",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keyword argument for the model factory (repeatable); values parse as Python literals.",
)
@click.option(
    "--mean",
    default=None,
    metavar="M[,M,M]",
    help="Per-channel mean the model normalises by, applied inside the wrapper (torch models).",
)
@click.option("--std", default=None, metavar="S[,S,S]", help="Per-channel std (with --mean).")
@click.option(
    "--bounds",
    default=None,
    metavar="LOW,HIGH",
    help="Range of raw model inputs (default 0,1 for images).",
)
@click.option("--text-column", default=None, help="The text column of a text table.")
@click.option("--label-column", default=None, help="The label column of a text table.")
@click.option(
    "--class-names",
    default=None,
    metavar="NAME,NAME,...",
    help="A text table's label names in the model's class order (class 0 first); default: "
    "sorted order.",
)
@click.option(
    "--reference",
    "reference_spec",
    default=None,
    metavar="FILE.py:FACTORY",
    help="A reference ('oracle') model; every probe reports agreement with it.",
)
@click.option("--reference-weights", default=None, type=click.Path(), help="Its state_dict.")
@click.option(
    "--shift",
    "shift",
    multiple=True,
    metavar="NAME=PATH",
    help="An out-of-distribution set scanned with --data (repeatable).",
)
@click.option(
    "--domain-column",
    default=None,
    metavar="COLUMN=ID_VALUE",
    help="Split --data into domains by a metadata column; rows equal to ID_VALUE are ID.",
)
@click.option(
    "--baseline",
    default=None,
    metavar="RUN_ID",
    help="Stored run of a reference model on the same data: enables mCE.",
)
@click.option(
    "--slice",
    "slice_spec",
    default=None,
    metavar="FILE.py:FUNCTION",
    help="Subgroups from a slicing function (input, meta) -> group label, applied to --data "
    "and every --shift set.",
)
@click.option(
    "--trained-on",
    default=None,
    metavar="DOMAIN",
    help="The shift domain the model was trained on (its Target Drop reference); default ID.",
)
@click.option(
    "--robust-intervention",
    is_flag=True,
    help="The model was trained with a robustness intervention (adversarial training, heavy "
    "augmentation, ...): effective robustness measures it against a line fitted on the other "
    "models.",
)
@click.option(
    "--backend",
    default="local",
    show_default=True,
    help="Where units run: local (this process), process (a pool of worker processes) or ray "
    "(actors on a Ray cluster; pip install 'robustlab[ray]').",
)
@click.option(
    "--address",
    default=None,
    metavar="auto|HOST:PORT|ray://HOST:PORT",
    help="Ray cluster of --backend ray (default: start a local Ray instance).",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="Worker processes of --backend process, or Ray actors of --backend ray (default: one "
    "per CPU).",
)
@click.option(
    "--fail-fast",
    is_flag=True,
    help="Abort the scan on the first unit whose model or probe raises, instead of recording "
    "it as failed and going on.",
)
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(min=1),
    help="Torch threads during the scan (default: torch's); 1 is often fastest on a small, "
    "loaded machine.",
)
@click.option("--fresh", is_flag=True, help="Start a new run instead of resuming a matching one.")
@click.option(
    "--no-progress",
    is_flag=True,
    help="Hide progress (by default: bars on a terminal, a plain line every 30 s in a log).",
)
@click.option(
    "--progress-every",
    default=None,
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Write plain progress lines (units done/total, ETA) every SECONDS, also on a terminal.",
)
@click.option(
    "--estimate",
    "estimate_only",
    is_flag=True,
    help="Dry run: time a few batches of every probe, print the expected time per probe and in "
    "all, and exit without scanning or storing anything.",
)
@click.option(
    "--max-examples",
    default=None,
    type=click.IntRange(min=1),
    metavar="N",
    help="Scan a seeded random sample of N examples of --data (and of each --shift set).",
)
@_mlflow_options
def scan(
    model_spec: str,
    weights: tuple[str, ...],
    data: str,
    suite: str,
    store: str | None,
    out: str | None,
    seed: int,
    shard_size: int,
    device: str | None,
    image_size: str | None,
    channels: str | None,
    image_mode: str | None,
    skip_unreadable: bool,
    classes: str | None,
    model_arg: tuple[str, ...],
    mean: str | None,
    std: str | None,
    bounds: str | None,
    text_column: str | None,
    label_column: str | None,
    class_names: str | None,
    reference_spec: str | None,
    reference_weights: str | None,
    shift: tuple[str, ...],
    domain_column: str | None,
    baseline: str | None,
    slice_spec: str | None,
    trained_on: str | None,
    robust_intervention: bool,
    backend: str,
    workers: int | None,
    address: str | None,
    fail_fast: bool,
    threads: int | None,
    fresh: bool,
    no_progress: bool,
    progress_every: float | None,
    estimate_only: bool,
    max_examples: int | None,
    mlflow: bool,
    mlflow_experiment: str,
) -> None:
    """Scan a model on a dataset with a suite and store the results (--estimate: say how long
    it would take first)."""
    from torch import nn

    import robustlab
    from robustlab.models import TorchModel

    if mlflow:  # before the scan, not after it: a missing package should cost no compute
        from robustlab.report.exports import require_mlflow

        require_mlflow()

    runner: Any = backend
    if address is not None:  # the Ray cluster to run on (one backend for every model)
        if backend != "ray":
            raise robustlab.ConfigError(
                f"--address names a Ray cluster and applies to --backend ray, not "
                f"{backend!r}. Add --backend ray or drop --address."
            )
        from robustlab.runner.ray_backend import RayBackend

        runner, workers = RayBackend(workers=workers, address=address), None
    kwargs: dict[str, Any] = {}
    if image_size:
        try:
            h, w = (int(v) for v in image_size.split(","))
        except ValueError:
            raise robustlab.ConfigError(
                f"--image-size must be H,W (e.g. 32,32). Got {image_size!r}."
            ) from None
        kwargs["size"] = (h, w)
    if channels is not None:
        kwargs["channels"] = int(channels)
    if image_mode is not None:
        kwargs["mode"] = image_mode
    if skip_unreadable:
        kwargs["skip_unreadable"] = True
    if classes is not None:
        order = [n.strip() for n in classes.split(",")]
        if len(order) < 2 or not all(order):
            raise robustlab.ConfigError(
                f"--classes takes two or more comma-separated class folder names, class 0 "
                f"first (e.g. cat,dog). Got {classes!r}."
            )
        kwargs["classes"] = order
    model_kwargs: dict[str, Any] = {}
    for option, value, count in (
        ("--mean", mean, None),
        ("--std", std, None),
        ("--bounds", bounds, 2),
    ):
        if value is not None:
            model_kwargs[option[2:]] = _numbers(option, value, count)
    if "bounds" in model_kwargs:
        model_kwargs["bounds"] = tuple(model_kwargs["bounds"])
    from robustlab.models.loading import parse_model_args

    factory_args = parse_model_args(model_arg)
    if text_column is not None:
        kwargs["text_column"] = text_column
    if label_column is not None:
        kwargs["label_column"] = label_column
    if class_names is not None:
        names = [n.strip() for n in class_names.split(",")]
        if len(names) < 2 or not all(names):
            raise robustlab.ConfigError(
                f"--class-names takes two or more comma-separated names in the model's class "
                f"order (e.g. negative,positive). Got {class_names!r}."
            )
        kwargs["class_names"] = names
    shifted = {}
    for item in shift:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise robustlab.ConfigError(
                f"--shift takes NAME=PATH (e.g. night=data/night). Got {item!r}."
            )
        with _notes():
            shifted[key] = robustlab.load_dataset(path, **kwargs)
    suite_obj = robustlab.load_suite(suite)
    with _notes():
        dataset = robustlab.load_dataset(data, **kwargs)
    if getattr(dataset, "class_order", None) == "numeric":
        console.print(
            f"Classes in numeric folder order: {', '.join(dataset.class_names or [])} "
            f"(pass --classes to set another)."
        )
    if slice_spec:
        from robustlab.data import slice_by
        from robustlab.models.loading import load_callable

        fn = load_callable(slice_spec, "--slice")
        dataset = slice_by(dataset, fn)
        shifted = {k: slice_by(v, fn) for k, v in shifted.items()}
    if domain_column:
        from robustlab.data import DomainsDataset

        column, sep, id_value = domain_column.partition("=")
        if not sep or not column or not id_value:
            raise robustlab.ConfigError(
                f"--domain-column takes COLUMN=ID_VALUE (e.g. domain=clean). Got {domain_column!r}."
            )
        if shifted:
            raise robustlab.ConfigError("Use either --shift or --domain-column, not both.")
        dataset = DomainsDataset.from_column(dataset, column, id_value)
    with _notes():
        models = [
            robustlab.load_model(model_spec, w, model_args=factory_args, **model_kwargs)
            for w in weights or [None]
        ]
    reference = robustlab.load_model(reference_spec, reference_weights) if reference_spec else None
    if estimate_only:
        _print_estimates(
            models,
            dataset,
            suite_obj,
            seed=seed,
            shift=shifted or None,
            reference=reference,
            device=device,
            max_examples=max_examples,
            threads=threads,
            shard_size=shard_size,
        )
        return
    progress: bool | float = not no_progress
    if progress_every is not None and not no_progress:
        progress = progress_every
    results = []
    for model in models:  # one run per checkpoint; the report compares seeds of one model
        if device is not None:
            if not isinstance(model, TorchModel) or not isinstance(model.module, nn.Module):
                raise robustlab.ConfigError("--device applies to torch models only.")
            model.to(device)
        if trained_on:
            model.trained_on = trained_on
        if robust_intervention:
            model.robust_intervention = True
        results.append(
            robustlab.scan(
                model,
                dataset,
                suite_obj,
                store=store,
                seed=seed,
                shard_size=shard_size,
                resume=not fresh,
                progress=progress,
                baseline=baseline,
                shift=shifted or None,
                reference=reference,
                backend=runner,
                workers=workers,
                fail_fast=fail_fast,
                threads=threads,
                max_examples=max_examples,
            )
        )
    _print_results(results)
    if out:
        from robustlab.report import write_report

        html, _ = write_report(results[0].store, [r.run_id for r in results], out)
        console.print(f"Report: [bold]{markup(html)}[/bold]")
    if mlflow:
        for res in results:
            _log_mlflow(res.store, res.run_id, mlflow_experiment)


@cli.command()
@_store_option
@click.option("--suite", default=None, help="Only runs of this suite.")
def runs(store: str | None, suite: str | None) -> None:
    """List the runs in the store, newest first."""
    from robustlab.store import open_store

    db = open_store(store, read_only=True)
    rows = db.runs(suite=suite)
    if not rows:
        console.print(
            f"No runs in {markup(db.url)}; run `robustlab demo` or `robustlab scan` first."
        )
        return
    from robustlab.runner.liveness import liveness

    table = Table(title=safe_text(f"Runs in {db.url}"), title_justify="left")
    # ids, names and status never wrap (they are what one copies); the rest may fold
    for col in ("run", "model", "weights", "dataset", "suite", "seed", "units", "status"):
        table.add_column(
            col,
            justify="right" if col == "units" else "left",
            no_wrap=col in ("run", "model", "units", "status"),
            overflow="fold",
        )
    table.add_column("created", overflow="fold")
    stale: list[str] = []
    for r in rows:
        # a run stored as running whose process is gone (or silent) is shown as interrupted
        status, why = liveness(r)
        if why:
            stale.append(f"{r['id']}: stored as running, but {why}")
        env = r.get("environment") or {}
        weights = env.get("weights")
        table.add_row(
            safe_text(r["id"]),
            safe_text(r["model_name"]),
            safe_text(os.path.basename(weights) if weights else "–"),
            safe_text(r["dataset_name"]),
            safe_text(f"{r['suite_name']} v{r['suite_version']}"),
            str(r["seed"]),
            _units_done(db, r),
            safe_text(f"{status} (stale)" if why else status),
            str(r["created_at"])[:19],
        )
    console.print(table)
    for line in stale:
        console.print(f"[dim]{markup(line)}; re-run its scan to resume it.[/dim]", highlight=False)


def _print_estimates(models: list[Any], dataset: Any, suite: Any, **options: Any) -> None:
    """``scan --estimate``: each model's expected time per probe and in all; nothing stored."""
    from robustlab._progress import format_duration
    from robustlab.runner.estimate import estimate_scan

    for model in models:
        est = estimate_scan(model, dataset, suite, **options)
        console.print(
            f"[bold]Estimate:[/bold] {markup(est.model)} on {markup(est.dataset)} "
            f"({est.examples} examples) · suite {markup(est.suite)}",
            highlight=False,
            soft_wrap=True,
        )
        table = Table()
        table.add_column("probe")
        table.add_column("expected", justify="right")
        table.add_column("ms/example", justify="right")
        for p in sorted(est.probes, key=lambda p: -p.seconds):
            table.add_row(
                safe_text(p.label),
                format_duration(p.seconds),
                f"{1000 * p.seconds_per_example:.1f}",
            )
        for key, reason in est.skipped.items():
            table.add_row(safe_text(key), "skipped", safe_text(reason))
        console.print(table)
        console.print(
            f"Expected total: [bold]{format_duration(est.seconds)}[/bold] "
            f"({format_duration(est.per_examples())} per 1,000 examples; {est.threads} torch "
            f"thread{'s' if est.threads != 1 else ''}, local backend; measuring took "
            f"{format_duration(est.timing_seconds)}). Nothing was stored; drop --estimate to "
            f"scan, or cut the time with --max-examples N or a smaller suite "
            f"(robustlab list suites).",
            highlight=False,
        )


def _units_done(db: Any, run: dict[str, Any]) -> str:
    """``"k/n"`` units stored (done or skipped) of the run's total, ``"k"`` for runs stored
    before the total was kept."""
    units = db.units(run["id"])
    done = sum(1 for u in units if u["status"] in ("done", "skipped"))
    total = (run.get("environment") or {}).get("units_total")
    return f"{done}/{total}" if total else str(done)


@cli.command()
@click.argument("run_ids", nargs=-1, required=True)
@_store_option
@click.option("--out", default="robustlab-report", show_default=True, help="Report folder.")
@click.option(
    "--id-domains",
    default=None,
    metavar="A,B",
    help="ID test sets of the multi-ID effective-robustness fit (default: ID plus every "
    "domain a stored model was trained on).",
)
@click.option(
    "--union-reference",
    default=None,
    metavar="RUN",
    help="Stored run (id or prefix) the union probes' CR_ind-avg / CR_ind-worst compare to "
    "(default: each union probe's own 'reference').",
)
def report(
    run_ids: tuple[str, ...],
    store: str | None,
    out: str,
    id_domains: str | None,
    union_reference: str | None,
) -> None:
    """Write the HTML report and JSON export of one or more runs (ids or unique prefixes)."""
    from robustlab.report import write_report
    from robustlab.store import open_store

    db = open_store(store, read_only=True)
    ids = [db.resolve_run(r) for r in run_ids]
    if union_reference:
        union_reference = db.resolve_run(union_reference)  # an unknown run fails before any work
    chosen = [d.strip() for d in id_domains.split(",") if d.strip()] if id_domains else None
    html, js = write_report(db, ids, out, id_domains=chosen, union_reference=union_reference)
    console.print(f"Report: [bold]{markup(html)}[/bold]\nJSON:   {markup(js)}")


@cli.command()
@click.argument("run_ids", nargs=-1)
@_store_option
@click.option("--suite", default=None, help="Suite name (needed when the store holds several).")
@click.option(
    "--suite-version",
    type=int,
    default=None,
    metavar="N",
    help="Suite version (needed when the store holds runs of several versions).",
)
@click.option(
    "--dataset",
    default=None,
    metavar="NAME|FINGERPRINT",
    help="Dataset (needed when the suite's runs used different data).",
)
@click.option(
    "--sort",
    type=click.Choice(["kemeny", "borda", "mean"]),
    default="kemeny",
    show_default=True,
    help="Row order.",
)
@click.option("--html", "html_dir", default=None, metavar="DIR", help="Write DIR/leaderboard.html.")
@click.option("--csv", "csv_path", default=None, metavar="FILE", help="Write the table as CSV.")
@click.option("--markdown", "md_path", default=None, metavar="FILE", help="Write it as Markdown.")
@click.option("--json", "json_path", default=None, metavar="FILE", help="Write it as JSON.")
def leaderboard(
    run_ids: tuple[str, ...],
    store: str | None,
    suite: str | None,
    suite_version: int | None,
    dataset: str | None,
    sort: str,
    html_dir: str | None,
    csv_path: str | None,
    md_path: str | None,
    json_path: str | None,
) -> None:
    """Rank the stored models on a suite: one column per robustness axis, aggregated by the mean,
    Borda count and Kemeny-Young (Colombo et al., NeurIPS 2022), showing where they disagree.

    Without RUN_IDS, the latest complete run of every model on the suite is compared; the store
    must then hold one suite, version and dataset, or --suite/--suite-version/--dataset choose.
    """
    from robustlab.errors import ConfigError
    from robustlab.leaderboard import (
        build_leaderboard,
        leaderboard_csv,
        leaderboard_json,
        leaderboard_markdown,
        write_leaderboard_html,
    )
    from robustlab.leaderboard.formats import rich_tables, write_text
    from robustlab.store import open_store

    if run_ids and (suite or suite_version is not None or dataset):
        raise ConfigError(
            "Give either run ids or --suite/--suite-version/--dataset, not both: run ids "
            "already fix the suite and the data."
        )
    board = build_leaderboard(
        open_store(store, read_only=True),
        suite=suite,
        suite_version=suite_version,
        dataset=dataset,
        run_ids=list(run_ids) or None,
        sort=sort,
    )
    for table in rich_tables(board, console.width):
        console.print(table)
    a = board.agreement
    tau = a["mean_vs_kemeny"]
    console.print(
        "Kendall's tau, mean vs Kemeny: " + ("–" if tau != tau else f"{tau:.2f}"),
        highlight=False,
    )
    for d in a["discordant"]:
        console.print(
            f"  ↕ the mean ranks {markup(d['mean_prefers'])} above "
            f"{markup(d['kemeny_prefers'])}; Kemeny the other way (it wins "
            f"{d['wins']:g} of {d['shared']} shared axes)",
            highlight=False,
        )
    for w in board.warnings:
        err_console.print(f"[yellow]warning[/yellow] {markup(w)}", highlight=False)
    for n in board.notes:
        console.print(f"[dim]{markup(n)}[/dim]", highlight=False)
    written = []
    if html_dir:
        written.append(write_leaderboard_html(board, html_dir))
    if csv_path:
        written.append(write_text(leaderboard_csv(board), csv_path))
    if md_path:
        written.append(write_text(leaderboard_markdown(board), md_path))
    if json_path:
        written.append(write_text(leaderboard_json(board), json_path))
    for path in written:
        console.print(f"Wrote [bold]{markup(path)}[/bold]")


@cli.command()
@click.argument("run_ids", nargs=-1, required=True)
@_store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "md"]),
    default=None,
    help="json (importable, with records), csv (one row per probe x metric) or md (summary); "
    "default: from the --out suffix.",
)
@click.option("--out", default=None, metavar="FILE", help="Output file (default: standard output).")
@_mlflow_options
def export(
    run_ids: tuple[str, ...],
    store: str | None,
    fmt: str | None,
    out: str | None,
    mlflow: bool,
    mlflow_experiment: str,
) -> None:
    """Export stored runs as JSON, CSV or Markdown, and/or log them to MLflow (--mlflow)."""
    from robustlab.errors import ConfigError
    from robustlab.report.exports import write_export
    from robustlab.store import open_store

    if fmt is None and out is None and not mlflow:
        raise ConfigError(
            "Say what to export: --format json|csv|md (to standard output), --out FILE, "
            "or --mlflow."
        )
    db = open_store(store, read_only=True)
    ids = [db.resolve_run(r) for r in run_ids]
    if fmt is not None or out is not None:
        result = write_export(db, ids, out, fmt)
        if out in (None, "-"):
            # to a terminal, names' escape sequences are shown; piped, the bytes stay exact
            click.echo(
                printable(result, newlines=True) if sys.stdout.isatty() else result, nl=False
            )
        else:
            err_console.print(f"Wrote {markup(result)}", highlight=False)
    if mlflow:
        for run_id in ids:
            _log_mlflow(db, run_id, mlflow_experiment)


@cli.command(name="import")
@click.argument("file", metavar="FILE.json")
@_store_option
def import_(file: str, store: str | None) -> None:
    """Load the runs of a JSON export (`robustlab export RUN --format json`) into a store."""
    from robustlab.report.exports import import_document
    from robustlab.store import open_store

    db = open_store(store)
    for run_id in import_document(file, db):
        run = db.run(run_id)
        console.print(
            f"Imported run {markup(run_id)}: {markup(run['model_name'])} on "
            f"{markup(run['dataset_name'])}, suite {markup(run['suite_name'])} "
            f"v{run['suite_version']} into {markup(db.url)}",
            highlight=False,
        )


@cli.command(name="list")
@click.argument(
    "what",
    required=False,
    type=click.Choice(
        [
            "probes",
            "tests",
            "metrics",
            "summaries",
            "suites",
            "perturbations",
            "corruptions",
            "attacks",
            "transformations",
            "checklist",
            "recipes",
        ]
    ),
)
def list_(what: str | None) -> None:
    """List the available probes (tests), metrics, summaries, suites, perturbations (image
    corruptions and text transformations), attacks, CheckList tests and training recipes."""
    import dataclasses

    import robustlab

    sections = [what] if what else ["probes", "metrics", "summaries", "suites"]
    for section in sections:
        table = Table(title=section, title_justify="left")
        if section in ("probes", "tests"):
            table.add_column("probe")
            table.add_column("axis")
            table.add_column("parameters")
            table.add_column("description")
            for name, cls in robustlab.PROBES.items():
                params = ", ".join(f.name for f in dataclasses.fields(cls))
                doc = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")
                table.add_row(name, cls.axis, params or "–", doc)
        elif section == "metrics":
            table.add_column("metric")
            table.add_column("axis")
            table.add_column("better")
            table.add_column("description")
            for name, metric in robustlab.METRICS.items():
                better = "higher" if metric.higher_is_better else "lower"
                table.add_row(name, metric.axis or "any", better, metric.description)
        elif section == "suites":
            from robustlab._progress import format_duration
            from robustlab.suites.timings import MEASURED_ON, SECONDS_PER_1000

            table.caption = f"time: measured {MEASURED_ON}; `scan --estimate` times your model"
            table.add_column("suite")
            table.add_column("version")
            table.add_column("probes", justify="right")
            table.add_column("time / 1,000 images", justify="right", no_wrap=True)
            table.add_column("description")
            for name in robustlab.SUITES.names():
                s = robustlab.load_suite(name)
                seconds = SECONDS_PER_1000.get(name)
                expected = "not measured" if seconds is None else format_duration(seconds)
                table.add_row(name, str(s.version), str(len(s.probes)), expected, s.description)
        elif section == "summaries":
            from robustlab.summaries import SUMMARIES

            table.add_column("summary")
            table.add_column("better")
            table.add_column("baseline")
            table.add_column("description")
            for name, summary in SUMMARIES.items():
                better = "higher" if summary.higher_is_better else "lower"
                needs = "needed" if summary.needs_baseline else "–"
                table.add_row(name, better, needs, summary.description)
        elif section == "perturbations":
            from robustlab.perturbations import PERTURBATIONS

            table.add_column("perturbation")
            table.add_column("modality")
            table.add_column("axis")
            table.add_column("parameters")
            table.add_column("description")
            for name, pcls in PERTURBATIONS.items():
                example = pcls.example()
                params = ", ".join(f"{k}={v}" for k, v in example.params.items())
                table.add_row(name, pcls.modality, pcls.axis, params or "–", pcls.description)
        elif section == "corruptions":
            from robustlab.perturbations import image as corruptions

            table.add_column("corruption")
            for name in corruptions.names():
                table.add_row(name)
        elif section == "transformations":
            from robustlab.perturbations import text as transformations

            table.add_column("transformation")
            table.add_column("rate is a share of")
            table.add_column("keeps label")
            table.add_column("description")
            for name, spec in transformations.TRANSFORMATIONS.items():
                keeps = "yes" if spec.preserves_label else "no (CheckList DIR)"
                table.add_row(name, f"{spec.unit}s", keeps, spec.description)
        elif section == "recipes":
            from robustlab.training import RECIPES

            table.add_column("recipe")
            table.add_column("parameters")
            table.add_column("description")
            for name, rcls in RECIPES.items():
                lines = (rcls.__doc__ or "").strip().splitlines()
                table.add_row(name, _fields(rcls), lines[0].replace("``", "") if lines else "–")
        elif section == "checklist":
            from robustlab.text import checklist

            table.add_column("test")
            table.add_column("type")
            table.add_column("capability")
            table.add_column("description")
            for name, test in checklist.CHECKLIST_TESTS.items():
                table.add_row(name, test.type, test.capability, test.description)
        else:
            from robustlab import attacks

            table.add_column("attack")
            table.add_column("inputs")
            table.add_column("threat model")
            table.add_column("parameters")
            for name, acls in attacks.ATTACKS.items():
                if acls.modality == "text":
                    inputs, threat = "text", "query budget, edit budget"
                else:
                    inputs = "images, tabular"
                    threat = "minimal " if acls.minimal else ""
                    norms = getattr(acls, "norms", ())
                    threat += "/".join(norms) + " ball" if norms else "transformation grid"
                table.add_row(name, inputs, threat, _fields(acls))
        console.print(table)


def _numbers(option: str, value: str, count: int | None) -> list[float]:
    """``"0.5,0.5,0.5"`` (fractions like ``1/255`` allowed) to floats for ``option``."""
    from robustlab.validation import parse_fraction

    parts = [v.strip() for v in value.split(",")]
    try:
        out = [parse_fraction(v, f"{option} value") for v in parts]
    except RobustLabError:
        out = []
    if not out or (count is not None and len(out) != count):
        shape = (
            "LOW,HIGH (e.g. 0,1)"
            if count == 2
            else "one number or one per channel (e.g. 0.5 or 0.485,0.456,0.406)"
        )
        raise ConfigError(f"{option} takes {shape}. Got {value!r}.")
    return out


@contextlib.contextmanager
def _notes() -> Any:
    """Show warnings raised while loading the model and data (a converted layout, skipped files,
    a stripped prefix) as one-line notes."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            err_console.print(
                f"[yellow]note:[/yellow] {markup(text)}", highlight=False, soft_wrap=True
            )


def _fields(cls: Any) -> str:
    import dataclasses

    return ", ".join(f.name for f in dataclasses.fields(cls)) or "–"


# -- serve-llm (issue 18): an OpenAI-compatible server around a local transformers model ----


@cli.command(name="serve-llm")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port (0: any free port).")
@click.option("--name", default=None, help="Served model name (default: the folder's name).")
def serve_llm(model_dir: str, host: str, port: int, name: str | None) -> None:
    """Serve a saved transformers causal LM (MODEL_DIR, written by save_pretrained) over the
    OpenAI completions and chat APIs, e.g. for OpenAIEndpoint or other tools; Ctrl-C stops."""
    import threading

    from robustlab.llm.models import HFCausalLM
    from robustlab.llm.server import serve

    model = HFCausalLM.from_directory(model_dir, name=name)
    server = serve(model, host=host, port=port)
    console.print(
        f"Serving {markup(server.model_name)} at {markup(server.url)} "
        "(POST /completions, /chat/completions; GET /models). Ctrl-C stops.",
        highlight=False,
    )
    try:
        threading.Event().wait()
    finally:
        server.stop()


def _message(exc: BaseException) -> str:
    """The exception's message with its notes (which probe was running, say), safe to print."""
    notes = "".join(f" ({note})" for note in getattr(exc, "__notes__", ()))
    return markup(f"{exc}{notes}", newlines=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one-line messages."""
    debug = "--debug" in (argv if argv is not None else sys.argv) or bool(
        os.environ.get("ROBUSTLAB_DEBUG")
    )
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="robustlab")
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C into Abort
        from robustlab.runner.liveness import Terminated

        err_console.print(
            "[red]Interrupted.[/red] Finished units are stored; re-run the same command to resume."
        )
        # click re-raises the KeyboardInterrupt as Abort, from the original
        terminated = isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated)
        sys.exit(143 if terminated else 130)  # 128 + SIGTERM / SIGINT
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RobustLabError as exc:
        err_console.print(f"[red]error:[/red] {_message(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:
        if debug:
            raise
        err_console.print(
            f"[red]error:[/red] unexpected {type(exc).__name__}: {_message(exc)} "
            f"(run with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
