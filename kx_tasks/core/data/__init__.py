"""Datasets: where the published files come from (fetch), how they are read (formats), and which datasets kx knows
(catalogue). Stages read the prepared `.npz` files through `load`."""

from kx_tasks.core.data.catalogue import DATASETS, IMAGES, Dataset, check_identity, load, prepare, prepared
from kx_tasks.core.data.fetch import ENV_DATA_DIR, DataError, Source, local_data_dir

__all__ = [
    "DATASETS",
    "ENV_DATA_DIR",
    "IMAGES",
    "DataError",
    "Dataset",
    "Source",
    "check_identity",
    "load",
    "local_data_dir",
    "prepare",
    "prepared",
]
