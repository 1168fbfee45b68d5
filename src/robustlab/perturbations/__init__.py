"""Perturbations of inputs, one sub-package per modality: ``image`` (common corruptions and
ImageNet-P sequences) and ``text`` (label-preserving and directional transformations)."""
