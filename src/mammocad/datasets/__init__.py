"""Lesion tables and the dataset adapters that produce them.

A lesion table has one row per lesion with the columns :data:`LESION_COLUMNS`
(then free metadata); see :mod:`mammocad.datasets.table` for the conventions.

Examples
--------
>>> from mammocad.datasets import load_mias, write_lesion_table
>>> table = load_mias("data/mias")  # doctest: +SKIP
>>> write_lesion_table(table, "lesions.csv")  # doctest: +SKIP
"""

from mammocad.datasets.cbis_ddsm import load_cbis_ddsm, roi_from_mask
from mammocad.datasets.manifest import load_manifest
from mammocad.datasets.mias import load_mias, read_mias_info
from mammocad.datasets.table import (
    ABNORMALITIES,
    LESION_COLUMNS,
    OPTIONAL_COLUMNS,
    PATHOLOGIES,
    SPLITS,
    cell_number,
    cell_text,
    finite_or_none,
    lesion_frame,
    read_lesion_table,
    summarise,
    write_lesion_table,
)

__all__ = [
    "LESION_COLUMNS",
    "OPTIONAL_COLUMNS",
    "ABNORMALITIES",
    "PATHOLOGIES",
    "SPLITS",
    "read_lesion_table",
    "write_lesion_table",
    "lesion_frame",
    "summarise",
    "cell_text",
    "cell_number",
    "finite_or_none",
    "load_mias",
    "read_mias_info",
    "load_cbis_ddsm",
    "roi_from_mask",
    "load_manifest",
]
