"""Training runs described by a YAML file: model, data, recipe, schedule, averaging, monitor, outputs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError, DataError

__all__ = ["SECTIONS", "inject_label_noise", "load_config", "run_config"]

#: Keys of each section; unknown keys are refused with the closest one.
SECTIONS: dict[str, tuple[str, ...]] = {
    "": (
        "model",
        "weights",
        "data",
        "validation",
        "recipe",
        "train",
        "averaging",
        "monitor",
        "label_noise",
        "output",
        "scan",
    ),
    "train": (
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "schedule",
        "seed",
        "max_rollbacks",
    ),
    "monitor": (
        "every",
        "epsilon",
        "norm",
        "pgd_steps",
        "examples",
        "ensemble_every",
        "ensemble_size",
        "overfit_gap",
        "memorisation_threshold",
        "rise",
        "delay_factor",
    ),
    "output": ("dir", "weights", "log", "html"),
    "scan": ("suite", "seed"),
}

#: Networks named in a recipe file instead of ``FILE.py:FACTORY``.
BUILTIN_MODELS = ("digits-cnn", "digits-mlp")


def _check_keys(section: str, mapping: Any, source: str) -> dict[str, Any]:
    where = f"section {section!r}" if section else "the top level"
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"{source}: {where} must be a mapping of keys to values. Got {type(mapping).__name__}."
        )
    allowed = SECTIONS[section]
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{source}: unknown key {key!r} in {where}.{hint} Valid keys: {', '.join(allowed)}."
            )
    return dict(mapping)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check a training YAML file (keys, recipe and its parameters) without training."""
    from robustlab._yaml import load_yaml
    from robustlab.training._base import make_recipe
    from robustlab.training.averaging import make_averager

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Training file {str(p)!r} does not exist; give the path to a YAML file.")
    config = _check_keys("", load_yaml(p.read_text(encoding="utf-8"), str(p)) or {}, str(p))
    for section in ("train", "monitor", "output", "scan"):
        config[section] = _check_keys(section, config.get(section) or {}, str(p))
    for required in ("model", "data", "recipe"):
        if required not in config:
            raise ConfigError(
                f"{p}: the key {required!r} is required (see `robustlab train --help`)."
            )
    config["_base"] = str(p.parent)
    name, params = _named(config["recipe"], "recipe", str(p))
    config["_recipe"] = make_recipe(name, **params)
    if config.get("averaging") is not None:
        avg_name, avg_params = _named(config["averaging"], "averaging", str(p))
        config["_averager"] = make_averager(avg_name, **avg_params)
    return config


def _named(value: Any, section: str, source: str) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, Mapping) and "name" in value:
        params = {k: v for k, v in value.items() if k != "name"}
        return str(value["name"]), params
    raise ConfigError(
        f"{source}: {section!r} must be a name or a mapping with 'name' and parameters, e.g. "
        f"{{name: pgd_at, epsilon: 0.1}}. Got {value!r}."
    )


def inject_label_noise(
    targets: np.ndarray, rate: float, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric label noise: a ``rate`` share of labels replaced by a different random class.

    Returns the noisy labels and the mask of changed ones.
    """
    if not 0.0 <= rate < 1.0:
        raise ConfigError(
            f"The 'label_noise' parameter must be a float in [0, 1). Got {rate!r} instead."
        )
    rng = np.random.default_rng(seed)
    y = np.asarray(targets).astype(np.int64).copy()
    flip = rng.random(len(y)) < rate
    shift = rng.integers(1, num_classes, size=len(y))
    y[flip] = (y[flip] + shift[flip]) % num_classes
    return y, flip


def _build_model(spec: str, weights: str | None, base: str) -> Any:
    from robustlab.demo.training import build_network
    from robustlab.models import TorchModel, load_weights
    from robustlab.models.loading import load_callable

    if spec in BUILTIN_MODELS:
        net: Any = build_network(spec)
    else:
        path, _, factory = spec.rpartition(":")
        if path and not Path(path).is_absolute():
            spec = f"{Path(base) / path}:{factory}"
        net = load_callable(spec, "model")()
    target = net.module if isinstance(net, TorchModel) else net
    if weights is not None:
        w = Path(weights) if Path(weights).is_absolute() else Path(base) / weights
        load_weights(target, w)
    return net


def run_config(
    config: Mapping[str, Any],
    *,
    out: str | None = None,
    store: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train as the checked ``config`` says; write weights, the run JSON and the monitor page.

    Returns the :class:`~robustlab.training.TrainResult` and the paths written (and the scan
    result when the file has a ``scan`` section).
    """
    from robustlab.data import ArrayDataset, load_dataset
    from robustlab.training._fit import fit
    from robustlab.training.monitor import Monitor

    base = str(config.get("_base", "."))
    data = load_dataset(str(config["data"]))
    if not isinstance(data, ArrayDataset):
        raise DataError(
            f"Training data {config['data']!r} must be image or tabular arrays (an .npz file or "
            f"a bundled name such as digits-train); text training is not supported yet."
        )
    net = _build_model(str(config["model"]), config.get("weights"), base)
    train_cfg = dict(config.get("train", {}))
    seed = int(train_cfg.pop("seed", 0))
    inputs = torch.as_tensor(data.inputs).float()
    targets = np.asarray(data.targets)
    noisy = None
    num_classes = int(targets.max()) + 1
    if config.get("label_noise"):
        targets, noisy = inject_label_noise(
            targets, float(config["label_noise"]), num_classes, seed
        )
    groups = data.meta.get("group") if "group" in data.meta else None
    monitor = None
    mon_cfg = dict(config.get("monitor", {}))
    if mon_cfg or config.get("validation"):
        val = load_dataset(str(config.get("validation", "digits-test")))
        if not isinstance(val, ArrayDataset):
            raise DataError(f"Validation data {config.get('validation')!r} must be arrays.")
        n = int(mon_cfg.pop("examples", 300))
        vx, vy = torch.as_tensor(val.inputs).float()[:n], np.asarray(val.targets)[:n]
        vg = list(val.meta["group"])[:n] if "group" in val.meta else None
        sample = slice(0, min(len(inputs), 500))
        monitor = Monitor(
            vx,
            vy,
            groups=vg,
            train_inputs=inputs[sample],
            train_targets=targets[sample],
            noisy=None if noisy is None else noisy[sample],
            seed=seed,
            **mon_cfg,
        )
    result = fit(
        net,
        (inputs, torch.as_tensor(targets), *([groups] if groups is not None else [])),
        config["_recipe"],
        averaging=config.get("_averager"),
        monitor=monitor,
        seed=seed,
        **train_cfg,
    )
    out_cfg = dict(config.get("output", {}))
    folder = Path(out or out_cfg.get("dir") or "robustlab-training")
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {}
    weights_path = folder / str(out_cfg.get("weights", "weights.pt"))
    torch.save(result.module.state_dict(), weights_path)
    paths["weights"] = weights_path
    paths["log"] = result.save(folder / str(out_cfg.get("log", "training.json")))
    if monitor is not None:
        paths["html"] = monitor.to_html(folder / str(out_cfg.get("html", "monitor.html")))
        if monitor.best_state is not None:
            torch.save(monitor.best_state, folder / "best.pt")
            paths["best"] = folder / "best.pt"
    out_dict: dict[str, Any] = {"result": result, "paths": paths}
    scan_cfg = config.get("scan")
    if scan_cfg:
        from robustlab import scan
        from robustlab.models import TorchModel

        evaluated = TorchModel(
            result.module,
            bounds=(0.0, 1.0),
            num_classes=num_classes,
            name=f"trained-{config['_recipe'].name}",
        )
        val = load_dataset(str(config.get("validation", "digits-test")))
        out_dict["scan"] = scan(
            evaluated,
            val,
            str(scan_cfg.get("suite", "quick")),
            store=store,
            seed=int(scan_cfg.get("seed", seed)),
            progress=progress,
        )
    if store is not None or "scan" in out_dict:
        out_dict["training_run_id"] = _store_run(store, config, result, out_dict.get("scan"))
    return out_dict


def _store_run(store: Any, config: Mapping[str, Any], result: Any, scanned: Any) -> str:
    """Store the training run, its monitor log and the final weights' scan (a checkpoint at
    the last step) in ``store``."""
    from robustlab.store import open_store
    from robustlab.store.training import save_training_run

    db = scanned.store if scanned is not None else open_store(store)
    checkpoints = []
    if scanned is not None:
        last = max([int(e["step"]) for e in getattr(result.monitor, "log", ())] or [0])
        values = {m["metric"] + ":" + str(m["probe_key"]): m["value"] for m in scanned.metrics}
        checkpoints.append(
            {"step": last, "epoch": None, "run_id": scanned.run_id, "values": values}
        )
    return save_training_run(
        db, result, name=f"train-{config['_recipe'].name}", checkpoint_scans=checkpoints
    )
