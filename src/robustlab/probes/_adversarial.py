"""What the adversarial probes share: attack parameters passed through, results into records."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import torch

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import NotApplicable, Probe, coerce, gallery, predict_records
from robustlab.records import Records

NORM_LABELS = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}
#: Probe parameters that apply to one attack family only.
_ONLY_FOR = {
    "image": ("norm", "epsilon"),
    "text": ("budget", "max_words_changed", "max_chars_changed", "min_similarity"),
}


def attack_options(attack: str, extra: dict[str, Any], owner: str, fixed: tuple[str, ...]) -> tuple:
    """Validate and type ``extra`` parameters against the named attack's own fields."""
    from robustlab import attacks

    attack_cls = attacks.ATTACKS.get(attack)
    fields = {f.name for f in dataclasses.fields(attack_cls)}
    foreign = [p for family, ps in _ONLY_FOR.items() if family != attack_cls.modality for p in ps]
    fixed = tuple(f for f in fixed if f not in foreign)
    unknown = sorted(set(extra) - fields)
    if unknown:
        raise ConfigError(
            f"Probe {owner!r} with attack {attack!r} has no parameter "
            f"{', '.join(map(repr, unknown))}. Its parameters: {', '.join([*fixed, *sorted(fields)])}."
        )
    hints = typing.get_type_hints(attack_cls)
    typed = {
        k: coerce(v, hints[k], f"{k!r} parameter of attack {attack!r}") for k, v in extra.items()
    }
    if typed:
        attacks.build_attack(attack, **typed)  # the attack validates its values
    return tuple(sorted(typed.items()))


def gather_options(
    params: dict[str, Any], own: tuple[str, ...], default_attack: str, owner: str
) -> dict[str, Any]:
    """Split a probe's parameters into its own fields, the named criterion's parameters (kept,
    sorted, in ``criterion_options``) and the named attack's parameters, which are validated and
    kept, sorted, in ``options``."""
    mine = {k: v for k, v in params.items() if k in (*own, "options", "criterion_options")}
    extra = {k: v for k, v in params.items() if k not in mine}
    name = mine.get("criterion")
    if name is not None and not (isinstance(name, str) and name.lower() in ("none", "null")):
        from robustlab.tasks import CRITERIA

        fields = {f.name for f in dataclasses.fields(CRITERIA.get(str(name)))}
        hints = typing.get_type_hints(CRITERIA.get(str(name)))
        chosen = dict(mine.get("criterion_options", ()))
        for k in sorted(set(extra) & fields):
            chosen[k] = coerce(extra.pop(k), hints[k], f"{k!r} parameter of criterion {name!r}")
        mine["criterion_options"] = tuple(sorted(chosen.items()))
    merged = dict(mine.get("options", ()))
    merged.update(attack_options(str(mine.get("attack", default_attack)), extra, owner, own))
    mine["options"] = tuple(sorted(merged.items()))
    return mine


def criterion_of(probe: Any) -> Any:
    """The probe's :class:`~robustlab.tasks.Criterion`, or ``None`` for the task's default."""
    if probe.criterion is None:
        if probe.criterion_options:
            raise ConfigError(
                f"Probe {probe.name!r} got criterion parameters "
                f"{[k for k, _ in probe.criterion_options]} without criterion=NAME."
            )
        return None
    from robustlab.tasks import CRITERIA

    criterion = CRITERIA.build(probe.criterion, **dict(probe.criterion_options))
    # Text attacks also judge per-document scores (a ranker's), image attacks class scores only.
    tasks = {"classification", "ranking"} if getattr(probe, "text", False) else {"classification"}
    if not tasks & set(criterion.tasks) or criterion.needs_clean:
        usable = [n for n, c in CRITERIA.items() if tasks & set(c.tasks) and not c.needs_clean]
        raise ConfigError(
            f"The 'criterion' parameter of probe {probe.name!r} must be a criterion attacks can "
            f"decide on {'/'.join(sorted(tasks))} scores ({', '.join(usable)}). Got "
            f"{probe.criterion!r} instead."
        )
    return criterion


def check_attack_applies(probe: Probe, attack: str, model: Model) -> None:
    from robustlab import attacks

    cls = attacks.ATTACKS.get(attack)
    missing = cls.needs - model.capabilities
    if missing:
        black_box = [n for n, c in attacks.attacks_for(cls.modality) if "gradients" not in c.needs]
        raise NotApplicable(
            f"{attack} needs {', '.join(sorted(missing))}, which the {type(model).__name__} "
            f"{model.name!r} does not offer; black-box attacks: {', '.join(black_box) or 'none'}"
        )


def attack_records(model: Model, batch: Batch, result: Any, probe: Probe) -> Records:
    """Records of an attack result: predictions re-computed on the adversarial inputs (a fresh
    forward pass), the perturbation size only where the attack broke a correctly classified
    input (NaN elsewhere), the attack's warnings and a gallery of adversarial images."""
    broken = (result.success & result.clean_correct).cpu()
    size = torch.where(broken, result.norms.cpu().double(), torch.nan)
    records = predict_records(model, result.adversarial, batch, perturbation=size)
    records.warnings.extend(w.to_dict() for w in result.warnings)
    records.artifacts.extend(gallery(batch, result.adversarial, probe, records))
    return records
