"""The checklist probe: one CheckList behavioural test (MFT, INV or DIR) of a text model."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records


@PROBES.register("checklist")
@dataclass(frozen=True)
class Checklist(Probe):
    """Pass rate of one CheckList test, with failing cases as report examples.

    ``test`` names a test of the built-in sentiment library or one registered with
    :func:`robustlab.text.checklist.register`, or, with ``file``, a test of a YAML/JSON test
    file. ``digest`` is the hash of the test's definition, filled in when the probe is built:
    a changed test becomes a different probe (never resumed or compared as the old one), and a
    stored spec whose digest no longer matches its test is refused.

    Records (one per case; ``correct`` = the case passed, so ``accuracy`` equals
    ``pass_rate``):

    * MFT: the template cases, all in the unit holding the dataset's first example (the other
      shards record none); ``target`` is the expected label.
    * INV: the dataset's texts the transformation changed; ``target`` is the prediction on the
      original text and ``value`` 1.0 if the prediction is unchanged.
    * DIR: the dataset's texts the change applies to; ``target`` is the prediction on the
      original, ``value`` the change of the tracked class's probability.

    References:
        Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with CheckList, ACL
        2020.
    """

    test: str
    file: str | None = None
    digest: str = ""

    name = "checklist"
    axis = "behaviour"
    kind = "checklist"
    modalities = ("text",)
    covers_batch = False  # MFT records its own cases, INV and DIR the texts they change
    metrics = ("pass_rate", "accuracy", "worst_group_accuracy", "group_accuracy_gap")

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.text import checklist

        # read once: the probe keeps running the test its digest names, even if the file changes
        object.__setattr__(self, "_definition", checklist.get_test(self.test, self.file))
        found = checklist.digest(self.definition)
        if not self.digest:
            object.__setattr__(self, "digest", found)
        elif self.digest != found:
            raise ConfigError(
                f"CheckList test {self.test!r} has changed since this probe was specified "
                f"(digest {self.digest}, now {found}); drop 'digest' to run the current test."
            )

    @property
    def params(self) -> dict[str, Any]:
        params = super().params
        if self.file is None:  # the common case keeps a short key
            del params["file"]
        return params

    @property
    def definition(self) -> Any:
        """The CheckList test (an MFT, INV or DIR) this probe runs."""
        return self.__dict__["_definition"]

    @classmethod
    def example(cls) -> Checklist:
        return cls("simple_positive")

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        from robustlab.text import checklist
        from robustlab.text._probing import dataset_texts

        test = self.definition
        if not isinstance(test, checklist.INV):
            self._check_label_space(test, model, dataset)
        if isinstance(test, checklist.MFT):
            if model.num_classes is not None and test.label >= model.num_classes:
                raise NotApplicable(
                    f"{self.key}: expects label {test.label} but the model has "
                    f"{model.num_classes} classes"
                )
            return
        if isinstance(test, checklist.DIR) and test.append:
            return
        from robustlab.perturbations.text import TRANSFORMATIONS

        spec = TRANSFORMATIONS.get(test.transformation)
        if not any(spec.applies_to(t) for t in dataset_texts(dataset)):
            raise NotApplicable(
                f"{self.key}: no text of dataset {dataset.name!r} has anything "
                f"{test.transformation!r} changes ({spec.unit}s)"
            )

    def _check_label_space(self, test: Any, model: Model, dataset: Dataset) -> None:
        """MFT and DIR tests assume what the classes mean (a directional test expects, say,
        negation to lower the predicted sentiment): refuse data whose classes are named
        differently, or, when the data names none, a model with another number of classes.
        INV tests only ask that the prediction stays, which holds for any label space."""
        if not test.classes:
            return
        expected = list(test.classes)
        names = dataset.class_names
        if names is not None:
            if [n.casefold() for n in names] != [c.casefold() for c in expected]:
                raise NotApplicable(
                    f"{self.key}: the test's labels mean {expected} but dataset "
                    f"{dataset.name!r} has classes {names[:10]}"
                )
            return
        k = model.num_classes or dataset.num_classes
        if k != len(expected):
            raise NotApplicable(
                f"{self.key}: the test assumes the {len(expected)} classes {expected}, but model "
                f"{model.name!r} has {k} classes and dataset {dataset.name!r} does not name them; "
                f"it applies only to a model of that label space"
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.text import checklist

        test = self.definition
        if isinstance(test, checklist.MFT):
            return self._run_mft(model, batch, test, seed)
        return self._run_change(model, batch, test, seed)

    def _run_mft(self, model: Model, batch: Batch, test: Any, seed: int) -> Records:
        from robustlab.text._probing import empty_records
        from robustlab.text.artifacts import pick_examples, text_artifact

        if len(batch.indices) and int(batch.indices[0]) != 0:
            return empty_records(model)  # the cases are the test's own: one unit runs them all
        cases = test.cases(seed)
        cases_batch = Batch(
            inputs=cases,
            targets=torch.full((len(cases),), int(test.label), dtype=torch.int64),
            ids=[f"{test.name}/{i:04d}" for i in range(len(cases))],
            reference=batch.reference,
        )
        records = predict_records(model, cases, cases_batch)
        for pos in pick_examples(~records.correct):
            passed = bool(records.correct[pos])
            records.artifacts.append(
                text_artifact(
                    example_id=cases_batch.ids[pos],
                    original=cases[pos],
                    perturbed=cases[pos],
                    edits=[],
                    target=int(test.label),
                    prediction=int(records.prediction[pos]),
                    perturbed_prediction=int(records.prediction[pos]),
                    kind="checklist",
                    probe_key=self.key,
                    probe_label=self.label,
                    note=f"{'passed' if passed else 'failed'}: expected class {test.label}, "
                    f"predicted {int(records.prediction[pos])} "
                    f"(confidence {float(records.confidence[pos]):.2f})",
                    passed=passed,
                )
            )
        return records

    def _run_change(self, model: Model, batch: Batch, test: Any, seed: int) -> Records:
        from robustlab.perturbations import text as transformations
        from robustlab.seeding import ExampleSeeds
        from robustlab.text import checklist
        from robustlab.text._probing import empty_records, sub_batch
        from robustlab.text.artifacts import pick_examples, text_artifact

        texts = list(batch.inputs)
        seeds = ExampleSeeds.of(seed, batch.ids)  # by example id: the same for any shard
        if isinstance(test, checklist.DIR) and test.append:
            changed_texts = [
                _append(t, random.Random(seeds.seed(i)).choice(test.append))
                for i, t in enumerate(texts)
            ]
            spans = [[[len(t.rstrip()), len(c)]] for t, c in zip(texts, changed_texts)]
        else:
            out = transformations.apply(texts, test.transformation, test.rate, seeds)
            changed_texts = [o.text for o in out]
            spans = [o.spans for o in out]
        changed = [i for i in range(len(texts)) if changed_texts[i] != texts[i]]
        if not changed:
            return empty_records(model)
        before = model.predict_proba([texts[i] for i in changed]).numpy()
        clean = before.argmax(axis=1)
        perturbed = [changed_texts[i] for i in changed]
        sub = sub_batch(batch, changed, perturbed)
        sub.targets = torch.as_tensor(clean, dtype=torch.int64)
        records = predict_records(model, perturbed, sub)
        if isinstance(test, checklist.INV):
            records.value = (records.prediction == clean).astype(np.float64)
            notes = [
                "prediction unchanged" if ok else "prediction changed" for ok in records.correct
            ]
        else:
            after = model.predict_proba(perturbed).numpy()
            tracked = clean if test.target_class is None else np.full(len(clean), test.target_class)
            rows = np.arange(len(clean))
            delta = after[rows, tracked] - before[rows, tracked]
            records.value = delta
            records.correct = test.sign * delta >= -test.tolerance
            notes = [
                f"{'passed' if ok else 'failed'}: P(class {c}) {before[r, c]:.2f} -> "
                f"{after[r, c]:.2f}, expected {test.direction}"
                for r, (ok, c) in enumerate(zip(records.correct, tracked))
            ]
        for pos in pick_examples(~records.correct):
            i = changed[pos]
            records.artifacts.append(
                text_artifact(
                    example_id=batch.ids[i],
                    original=texts[i],
                    perturbed=changed_texts[i],
                    edits=spans[i],
                    target=int(batch.targets[i]),
                    prediction=int(clean[pos]),
                    perturbed_prediction=int(records.prediction[pos]),
                    kind="checklist",
                    probe_key=self.key,
                    probe_label=self.label,
                    note=notes[pos],
                    passed=bool(records.correct[pos]),
                )
            )
        return records

    @property
    def label(self) -> str:
        return f"{self.test} ({self.definition.type})"


def _append(text: str, sentence: str) -> str:
    """``text`` with ``sentence`` appended as a new sentence."""
    body = text.rstrip()
    end = "" if body[-1:] in ".!?" else "."
    return f"{body}{end} {sentence}"


__all__ = ["Checklist"]
