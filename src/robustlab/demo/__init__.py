"""Offline demos: real models trained in seconds on bundled data, scanned and reported."""

from robustlab.demo.digits import (
    DigitsCNN,
    ink_groups,
    run_demo,
    train_digits_cnn,
    train_digits_logreg,
)

__all__ = ["DigitsCNN", "ink_groups", "run_demo", "train_digits_cnn", "train_digits_logreg"]
