"""CheckList's three test types for text classifiers, a built-in sentiment library, user tests.

A minimum functionality test (:class:`MFT`) fills templates and expects a label; an invariance
test (:class:`INV`) changes the dataset's texts in a way that must not change the prediction;
a directional test (:class:`DIR`) changes them in a way that must move one class's probability
up or down (within a tolerance). Each test runs as one ``checklist`` probe::

    probes:
      - {probe: checklist, test: negated_positive}           # the built-in sentiment library
      - {probe: checklist, test: my_test, file: tests.yaml}  # your own tests

or from Python, after :func:`register`-ing an :class:`MFT`, :class:`INV` or :class:`DIR`.
Test files are YAML or JSON in the format of the built-in ``checklist-sentiment.yaml``:
``classes`` (the label space its tests assume, in class order; a test may declare its own),
shared ``fills`` and a list of ``tests``.

References:
    Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with CheckList, ACL 2020.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from robustlab import validation
from robustlab._yaml import load_yaml
from robustlab.errors import ConfigError
from robustlab.registry import Registry

__all__ = [
    "CHECKLIST_TESTS",
    "DIR",
    "INV",
    "MFT",
    "ChecklistTest",
    "builtin_tests",
    "digest",
    "get_test",
    "load_tests",
    "parse_test",
    "register",
]

_TYPES = ("MFT", "INV", "DIR")
_FIELD = re.compile(r"\{(?:a:)?([A-Za-z_][A-Za-z0-9_]*)\}")
"""A template field: ``{name}``, or ``{a:name}`` for the value with "a" or "an" before it."""


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class ChecklistTest:
    """What every CheckList test has.

    Attributes:
        name: The test's name (a word), used as ``test=`` of the ``checklist`` probe.
        description: What the test checks, in one line.
        capability: The linguistic capability tested (``vocabulary``, ``negation``,
            ``robustness``, ``fairness``, ``temporal``, ...).
        classes: The label space the test assumes: class names in the model's class order
            (a test file's ``classes``, or the test's own). MFT and DIR tests are skipped, with
            the reason shown, on data whose class names differ or, for data without names, on
            a model with another number of classes; ``()`` assumes nothing.
    """

    type: ClassVar[str]

    name: str
    description: str = ""
    capability: str = ""
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ConfigError(
                f"A CheckList test name must be a word of letters, digits, '_', '.' or '-'. "
                f"Got {self.name!r} instead."
            )

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class MFT(ChecklistTest):
    """Minimum functionality test: every sentence the templates generate has label ``label``.

    Attributes:
        templates: Sentences with ``{field}`` placeholders (``{a:field}`` puts "a" or "an"
            before the value).
        fills: Values of each field; every combination a template uses becomes a case.
        label: The expected class index.
        max_cases: At most this many cases, drawn with the probe's seed when there are more.
    """

    type: ClassVar[str] = "MFT"

    templates: tuple[str, ...] = ()
    fills: tuple[tuple[str, tuple[str, ...]], ...] = ()
    label: int = 0
    max_cases: int = 200

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"MFT {self.name!r}"
        if not self.templates or not all(isinstance(t, str) and t for t in self.templates):
            raise ConfigError(f"{where} needs 'templates': a list of non-empty sentences.")
        known = dict(self.fills)
        for t in self.templates:
            missing = sorted(set(_FIELD.findall(t)) - set(known))
            if missing:
                raise ConfigError(
                    f"{where}: template {t!r} uses {', '.join(missing)} but 'fills' has no "
                    f"values for {'it' if len(missing) == 1 else 'them'}; add them to fills."
                )
        for key, values in self.fills:
            if not values or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"{where}: fills[{key!r}] must be a non-empty list of str.")
        validation.check_int(where, "label", self.label, 0)
        validation.check_int(where, "max_cases", self.max_cases, 1)

    def cases(self, seed: int) -> list[str]:
        """The sentences of the test: every fill combination of every template, in order, or
        ``max_cases`` of them drawn with ``seed``."""
        known = dict(self.fills)
        out: list[str] = []
        for template in self.templates:
            names = list(dict.fromkeys(_FIELD.findall(template)))
            for combo in itertools.product(*(known[n] for n in names)):
                values = dict(zip(names, combo))
                out.append(_FIELD.sub(functools.partial(_fill, values=values), template))
        out = list(dict.fromkeys(out))
        if len(out) > self.max_cases:
            keep = sorted(
                random.Random(f"{seed}/{self.name}").sample(range(len(out)), self.max_cases)
            )
            out = [out[i] for i in keep]
        return out


def _fill(m: re.Match[str], values: Mapping[str, str]) -> str:
    value = values[m.group(1)]
    return f"{_article(value)} {value}" if m.group(0).startswith("{a:") else value


@dataclass(frozen=True)
class INV(ChecklistTest):
    """Invariance test: a label-preserving transformation of the dataset's texts must leave the
    prediction unchanged. Texts the transformation does not change are not cases.

    Attributes:
        transformation: A registered transformation (:func:`robustlab.perturbations.text.names`).
        rate: Its rate (fraction of eligible units changed).
    """

    type: ClassVar[str] = "INV"

    transformation: str = ""
    rate: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        from robustlab.perturbations.text import TRANSFORMATIONS

        spec = TRANSFORMATIONS.get(self.transformation)
        if not spec.preserves_label:
            raise ConfigError(
                f"INV {self.name!r}: transformation {self.transformation!r} changes the meaning; "
                f"use it in a DIR test."
            )
        validation.check_number(f"INV {self.name!r}", "rate", self.rate, high=1.0)


@dataclass(frozen=True)
class DIR(ChecklistTest):
    """Directional test: a change to the dataset's texts must move the probability of a class
    the stated way. A case passes when ``sign * (p_after - p_before) >= -tolerance`` with
    ``sign`` +1 for ``up`` and -1 for ``down`` (CheckList's monotonic expectation).

    Attributes:
        transformation: A registered transformation applied to each text (for example
            ``negate``); leave empty when using ``append``.
        append: Sentences, one of which (drawn per text with the probe's seed) is appended to
            each text; leave empty when using ``transformation``.
        rate: The transformation's rate.
        direction: ``up`` or ``down``.
        target_class: The class whose probability must move; ``None`` for the class predicted on
            the original text.
        tolerance: How far the probability may move the wrong way and still pass.
    """

    type: ClassVar[str] = "DIR"

    transformation: str = ""
    append: tuple[str, ...] = ()
    rate: float = 1.0
    direction: str = "down"
    target_class: int | None = None
    tolerance: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"DIR {self.name!r}"
        if bool(self.transformation) == bool(self.append):
            raise ConfigError(
                f"{where} needs exactly one of 'transformation' (a transformation name) or "
                f"'append' (sentences to append)."
            )
        if self.transformation:
            from robustlab.perturbations.text import TRANSFORMATIONS

            TRANSFORMATIONS.get(self.transformation)
        if not all(isinstance(a, str) and a.strip() for a in self.append):
            raise ConfigError(f"{where}: 'append' must be a list of non-empty sentences.")
        validation.check_number(where, "rate", self.rate, high=1.0)
        if self.direction not in ("up", "down"):
            raise ConfigError(
                f"The 'direction' of {where} must be 'up' or 'down'. Got {self.direction!r}."
            )
        if self.target_class is not None:
            validation.check_int(where, "class", self.target_class, 0)
        if (
            isinstance(self.tolerance, bool)
            or not isinstance(self.tolerance, (int, float))
            or not (0 <= self.tolerance < 1)
        ):
            raise ConfigError(
                f"The 'tolerance' of {where} must be a float in [0, 1). Got {self.tolerance!r}."
            )

    @property
    def sign(self) -> int:
        return 1 if self.direction == "up" else -1


CHECKLIST_TESTS: Registry[ChecklistTest] = Registry("CheckList test")

_TEST_KEYS = {
    "MFT": {"templates", "fills", "label", "max_cases"},
    "INV": {"transformation", "rate"},
    "DIR": {"transformation", "append", "rate", "direction", "class", "tolerance"},
}


def _label(value: Any, classes: Sequence[str], where: str, what: str) -> int:
    if isinstance(value, str) and value in classes:
        return list(classes).index(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    names = f" or one of {list(classes)}" if classes else ""
    raise ConfigError(f"The {what!r} of {where} must be a class index{names}. Got {value!r}.")


def parse_test(
    entry: Mapping[str, Any],
    *,
    fills: Mapping[str, Sequence[str]] | None = None,
    classes: Sequence[str] = (),
    source: str = "python",
) -> ChecklistTest:
    """One test from its mapping form (as in a test file); ``fills`` and ``classes`` are the
    file's shared ones."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"A CheckList test ({source}) must be a mapping. Got {entry!r}.")
    kind = entry.get("type")
    name = entry.get("name")
    where = f"CheckList test {name!r} ({source})"
    if kind not in _TYPES:
        raise ConfigError(f"{where}: 'type' must be one of {list(_TYPES)}. Got {kind!r}.")
    allowed = {"name", "type", "description", "capability", "classes"} | _TEST_KEYS[kind]
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; a {kind} test takes "
            f"{', '.join(sorted(allowed))}."
        )
    own_classes = entry.get("classes")
    if own_classes is not None:
        if not isinstance(own_classes, Sequence) or isinstance(own_classes, str) or not own_classes:
            raise ConfigError(
                f"{where}: 'classes' must be a non-empty list of class names, in the model's "
                f"class order. Got {own_classes!r}."
            )
        classes = own_classes
    common: dict[str, Any] = {
        "name": name,
        "description": " ".join(str(entry.get("description", "")).split()),
        "capability": str(entry.get("capability", "")),
        "classes": tuple(str(c) for c in classes),
    }
    if kind == "MFT":
        own = entry.get("fills") or {}
        if not isinstance(own, Mapping):
            raise ConfigError(f"{where}: 'fills' must map field names to lists of values.")
        merged = {**dict(fills or {}), **own}
        templates = entry.get("templates") or []
        used = {f for t in templates if isinstance(t, str) for f in _FIELD.findall(t)}
        return MFT(
            **common,
            templates=tuple(templates),
            fills=tuple(sorted((k, tuple(v)) for k, v in merged.items() if k in used)),
            label=_label(entry.get("label"), classes, where, "label"),
            max_cases=entry.get("max_cases", 200),
        )
    if kind == "INV":
        return INV(
            **common,
            transformation=str(entry.get("transformation", "")),
            rate=entry.get("rate", 1.0),
        )
    cls = entry.get("class")
    return DIR(
        **common,
        transformation=str(entry.get("transformation") or ""),
        append=tuple(entry.get("append") or ()),
        rate=entry.get("rate", 1.0),
        direction=entry.get("direction", "down"),
        target_class=None if cls is None else _label(cls, classes, where, "class"),
        tolerance=entry.get("tolerance", 0.1),
    )


def load_tests(path: str | Path) -> dict[str, ChecklistTest]:
    """The tests of a YAML or JSON test file, by name."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"CheckList test file {str(p)!r} does not exist; check the 'file' path.")
    return _parse(p.read_text(encoding="utf-8"), str(p))


def _parse(text: str, source: str) -> dict[str, ChecklistTest]:
    try:
        data = load_yaml(text, f"CheckList test file {source}")  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"CheckList test file {source} is not valid YAML or JSON: {exc}"
        ) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("tests"), list):
        raise ConfigError(
            f"CheckList test file {source} must be a mapping with a 'tests' list (and optional "
            f"'classes' and 'fills')."
        )
    classes = data.get("classes") or []
    fills = data.get("fills") or {}
    if not isinstance(fills, Mapping):
        raise ConfigError(f"CheckList test file {source}: 'fills' must be a mapping.")
    out: dict[str, ChecklistTest] = {}
    for entry in data["tests"]:
        test = parse_test(entry, fills=fills, classes=classes, source=source)
        if test.name in out:
            raise ConfigError(f"CheckList test file {source} defines {test.name!r} twice.")
        out[test.name] = test
    return out


def builtin_tests() -> dict[str, ChecklistTest]:
    """The built-in sentiment tests (``text/resources/checklist-sentiment.yaml``)."""
    text = (resources.files("robustlab.text") / "resources" / "checklist-sentiment.yaml").read_text(
        "utf-8"
    )
    return _parse(text, "checklist-sentiment.yaml")


def register(test: ChecklistTest) -> ChecklistTest:
    """Make ``test`` available to ``{probe: checklist, test: <name>}`` without a file."""
    if not isinstance(test, ChecklistTest) or type(test) is ChecklistTest:
        raise ConfigError(f"register() takes an MFT, INV or DIR test. Got {test!r}.")
    CHECKLIST_TESTS.add(test.name, test)
    return test


def get_test(name: str, file: str | None = None) -> ChecklistTest:
    """A test by name: from ``file`` if given, else the built-in or registered tests."""
    if file is not None:
        tests = load_tests(file)
        if name not in tests:
            local = Registry[ChecklistTest](f"CheckList test of {file}")
            for key, test in tests.items():
                local.add(key, test)
            return local.get(name)
        return tests[name]
    return CHECKLIST_TESTS.get(name)


def digest(test: ChecklistTest) -> str:
    """A short hash of the test's definition: part of a probe's identity, so an edited test is
    never resumed or compared as the old one."""
    blob = json.dumps(test.to_dict(), sort_keys=True, default=list).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


for _test in builtin_tests().values():
    CHECKLIST_TESTS.add(_test.name, _test)
