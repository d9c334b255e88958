"""A generic CSV manifest: any dataset described with the lesion-table columns.

For a collection that has no adapter of its own, write a CSV with the columns of
:data:`~mammocad.datasets.LESION_COLUMNS` (any order; extra columns are kept as
metadata; ``laterality``, ``view``, ``mask_path``, ``pixel_spacing_mm`` and ``split``
may be left out) and load it with :func:`load_manifest`. The minimal manifest::

    lesion_id,patient_id,image_path,abnormality,x,y,radius,pathology
    case1,p1,images/case1.dcm,mass,812,1430,95,malignant

A ``nominal_pixel_spacing_mm`` column, where given, is the collection's documented
pixel spacing: used only for files that carry none, when the row has no
``pixel_spacing_mm`` and no ``--pixel-spacing`` is given.
"""

from __future__ import annotations

import os

import pandas as pd

from mammocad.datasets.table import read_lesion_table

__all__ = ["load_manifest"]


def load_manifest(path: str | os.PathLike[str], *, check_files: bool = True) -> pd.DataFrame:
    """Read and validate a CSV manifest of lesions.

    The same as :func:`~mammocad.datasets.read_lesion_table`, checking by default
    that the image (and mask) files exist.

    Parameters
    ----------
    path : path-like
        CSV with a header holding the lesion-table columns (the optional ones,
        :data:`~mammocad.datasets.table.OPTIONAL_COLUMNS`, may be left out); other
        columns are passed through as metadata.
    check_files : bool
        Whether every ``image_path`` and non-empty ``mask_path`` must exist.

    Returns
    -------
    DataFrame
        The normalised lesion table (paths absolute, values canonical).

    Raises
    ------
    DatasetError
        For a missing column or an invalid row, naming the file and the CSV line.

    Examples
    --------
    >>> table = load_manifest("my_cases.csv")  # doctest: +SKIP
    """
    return read_lesion_table(path, check_files=check_files)
