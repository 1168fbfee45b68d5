"""Datasets: in-memory arrays and texts, image folders, ``.npz`` files and the bundled digits."""

from robustlab.data.arrays import ArrayDataset, TextDataset, load_npz
from robustlab.data.base import Batch, Dataset
from robustlab.data.demo import load_digits, shifted_digits
from robustlab.data.domains import ID_DOMAIN, DomainsDataset
from robustlab.data.folder import ImageFolderDataset
from robustlab.data.loading import as_dataset, load_dataset
from robustlab.data.slices import GroupedDataset, slice_by

__all__ = [
    "ID_DOMAIN",
    "ArrayDataset",
    "Batch",
    "Dataset",
    "DomainsDataset",
    "GroupedDataset",
    "ImageFolderDataset",
    "TextDataset",
    "as_dataset",
    "load_dataset",
    "load_digits",
    "load_npz",
    "shifted_digits",
    "slice_by",
]
