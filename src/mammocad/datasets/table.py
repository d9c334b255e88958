"""The lesion table: one row per lesion, the common currency of every dataset.

Every adapter (:mod:`~mammocad.datasets.mias`, :mod:`~mammocad.datasets.cbis_ddsm`,
:mod:`~mammocad.datasets.manifest`) produces a :class:`pandas.DataFrame` with the
columns :data:`LESION_COLUMNS` first, in that order, followed by free metadata
columns. :func:`read_lesion_table` validates a table written as CSV row by row and
names the file and the 1-based CSV line of the first bad row;
:func:`write_lesion_table` writes one atomically.

Conventions
-----------
- ``x``, ``y``, ``radius``: circular region of interest in pixels of the image at
  ``image_path`` (origin top-left pixel centre, ``x`` to the right, ``y`` down);
  all three NaN where the dataset gives no location.
- String columns hold ``""`` where a value is unknown; float columns hold NaN.
- Relative ``image_path`` / ``mask_path`` values in a CSV are relative to the CSV's
  own folder; :func:`read_lesion_table` returns them as absolute paths and
  :func:`write_lesion_table` writes paths lying under the table's folder relative
  to it, so that a folder of images plus its table can be moved as one.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mammocad._fileio import atomic_write_csv, neutralise_frame, neutralise_text, restore_text
from mammocad.errors import DatasetError
from mammocad.io import PIXEL_SPACING_RANGE_MM

__all__ = [
    "LESION_COLUMNS",
    "ABNORMALITIES",
    "PATHOLOGIES",
    "SPLITS",
    "read_lesion_table",
    "write_lesion_table",
    "lesion_frame",
    "summarise",
    "neutralise_text",
    "neutralise_frame",
    "cell_text",
    "cell_number",
    "finite_or_none",
]

#: Columns of a lesion table, in order; any further column is free metadata.
LESION_COLUMNS: tuple[str, ...] = (
    "lesion_id",
    "patient_id",
    "image_path",
    "laterality",
    "view",
    "abnormality",
    "x",
    "y",
    "radius",
    "mask_path",
    "pathology",
    "pixel_spacing_mm",
    "split",
)

#: Columns a lesion-table CSV may leave out (read as empty): the ROI may come from
#: elsewhere, and side, view, mask, spacing and split are not always known.
OPTIONAL_COLUMNS: tuple[str, ...] = ("laterality", "view", "mask_path", "pixel_spacing_mm", "split")

#: Allowed values of ``abnormality``.
ABNORMALITIES: tuple[str, ...] = ("calcification", "mass", "other")
#: Allowed values of ``pathology``.
PATHOLOGIES: tuple[str, ...] = ("benign", "malignant")
#: Allowed non-empty values of ``split``.
SPLITS: tuple[str, ...] = ("train", "test")

#: Mammographic view codes accepted in ``view`` (ACR / DICOM CID 4014 abbreviations).
VIEWS: tuple[str, ...] = ("CC", "MLO", "ML", "LM", "LMO", "XCCL", "XCCM", "FB", "SIO", "CV", "AT", "ID")

_FLOAT_COLUMNS = ("x", "y", "radius", "pixel_spacing_mm")
_STRING_COLUMNS = tuple(c for c in LESION_COLUMNS if c not in _FLOAT_COLUMNS)
_REQUIRED_VALUES = ("lesion_id", "patient_id", "image_path", "abnormality", "pathology")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_LATERALITY = {"L": "L", "LEFT": "L", "R": "R", "RIGHT": "R"}


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))  # NaN, None, pd.NA, NaT
    except (TypeError, ValueError):
        return False


def cell_text(value: object) -> str:
    """A table cell as stripped text; ``""`` for a blank cell (None, NaN, NA, whitespace).

    Examples
    --------
    >>> cell_text("  mdb001 "), cell_text(float("nan")), cell_text(None)
    ('mdb001', '', '')
    """
    return "" if _is_blank(value) else str(value).strip()


def cell_number(value: object, column: str, where: str) -> float:
    """A table cell as a finite float; NaN for a blank cell.

    Raises
    ------
    DatasetError
        Naming ``where`` and ``column``, if the cell is not a finite number.

    Examples
    --------
    >>> cell_number(" 0.2", "pixel_spacing_mm", "row 1"), cell_number("", "x", "row 1")
    (0.2, nan)
    """
    if _is_blank(value):
        return math.nan
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: {column} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise DatasetError(f"{where}: {column} must be a finite number, got {value!r}")
    return number


def finite_or_none(value: object) -> float | None:
    """A value as a finite float, or None where it is blank, not a number or not finite.

    For values that may be unknown (a lesion without ROI, a JSON ``null``).

    Examples
    --------
    >>> finite_or_none("2.5"), finite_or_none(float("nan")), finite_or_none(""), finite_or_none(None)
    (2.5, None, None, None)
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _resolve(value: str, base: Path | None) -> str:
    if not value or base is None:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    return os.path.normpath(path)


def _check_no_nul(row: Mapping[str, object], where: str) -> None:
    for column, value in row.items():
        if isinstance(value, str) and "\x00" in value:
            raise DatasetError(f"{where}: {column} contains a NUL byte")


def _normalise_row(
    row: Mapping[str, object], where: str, base: Path | None, check_files: bool
) -> dict[str, object]:
    """Validate one lesion row and return it with canonical values."""
    _check_no_nul(row, where)
    out: dict[str, object] = {}
    for column in _REQUIRED_VALUES:
        if _is_blank(row.get(column)):
            raise DatasetError(f"{where}: {column} is empty")
    out["lesion_id"] = cell_text(row["lesion_id"])
    out["patient_id"] = cell_text(row["patient_id"])
    out["image_path"] = _resolve(cell_text(row["image_path"]), base)

    laterality = cell_text(row.get("laterality")).upper()
    if laterality and laterality not in _LATERALITY:
        raise DatasetError(f"{where}: laterality must be L, R or empty, got {row.get('laterality')!r}")
    out["laterality"] = _LATERALITY.get(laterality, "")

    view = cell_text(row.get("view")).upper()
    if view and view not in VIEWS:
        raise DatasetError(
            f"{where}: unknown view {row.get('view')!r}; expected one of {', '.join(VIEWS)} or empty"
        )
    out["view"] = view

    abnormality = cell_text(row["abnormality"]).lower()
    if abnormality not in ABNORMALITIES:
        raise DatasetError(
            f"{where}: unknown abnormality {row['abnormality']!r}; expected one of {', '.join(ABNORMALITIES)}"
        )
    out["abnormality"] = abnormality

    roi = [cell_number(row.get(c), c, where) for c in ("x", "y", "radius")]
    known = [not math.isnan(v) for v in roi]
    if any(known) and not all(known):
        raise DatasetError(f"{where}: x, y and radius must be given together (or all left empty)")
    x, y, radius = roi
    if all(known):
        if x < 0 or y < 0:
            raise DatasetError(f"{where}: ROI centre must not be negative, got x={x:g}, y={y:g}")
        if radius <= 0:
            raise DatasetError(f"{where}: radius must be > 0 pixels, got {radius:g}")
    out["x"], out["y"], out["radius"] = x, y, radius

    out["mask_path"] = _resolve(cell_text(row.get("mask_path")), base)

    pathology = cell_text(row["pathology"]).lower()
    if pathology not in PATHOLOGIES:
        raise DatasetError(
            f"{where}: unknown pathology {row['pathology']!r}; expected one of {', '.join(PATHOLOGIES)}"
        )
    out["pathology"] = pathology

    spacing = cell_number(row.get("pixel_spacing_mm"), "pixel_spacing_mm", where)
    low, high = PIXEL_SPACING_RANGE_MM
    if not math.isnan(spacing) and spacing <= 0:
        raise DatasetError(f"{where}: pixel_spacing_mm must be > 0, got {spacing:g}")
    if not math.isnan(spacing) and not low <= spacing <= high:
        raise DatasetError(
            f"{where}: pixel_spacing_mm {spacing:g} is outside the plausible range {low:g}-{high:g} mm"
        )
    out["pixel_spacing_mm"] = spacing

    split = cell_text(row.get("split")).lower()
    if split and split not in SPLITS:
        raise DatasetError(f"{where}: split must be train, test or empty, got {row.get('split')!r}")
    out["split"] = split

    if check_files:
        for column in ("image_path", "mask_path"):
            file = str(out[column])
            if file and not Path(file).is_file():
                raise DatasetError(f"{where}: {column} {file} does not exist")
    for key, extra in row.items():
        if key not in out and key not in LESION_COLUMNS:
            out[key] = extra
    return out


def _frame(rows: list[dict[str, object]], extras: list[str]) -> pd.DataFrame:
    columns = list(LESION_COLUMNS) + extras
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for column in _STRING_COLUMNS:
        frame[column] = frame[column].astype(object)
    for column in _FLOAT_COLUMNS:
        frame[column] = frame[column].astype(np.float64)
    for column in extras:
        frame[column] = _metadata_column(frame[column])
    return frame.reset_index(drop=True)


def _metadata_column(values: pd.Series) -> pd.Series:
    """Booleans, integers or floats where every cell is one, otherwise text ("" for blanks).

    Integers stay integers only where no cell is blank (NaN needs a float column).
    """
    blank = values.map(_is_blank)
    if not len(values) or blank.all():
        return values.map(cell_text).astype(object)
    if not blank.any():
        if all(isinstance(v, (bool, np.bool_)) for v in values):
            return values.astype(bool)
        if all(isinstance(v, str) and v.strip() in ("True", "False") for v in values):
            return values.map(lambda v: v.strip() == "True").astype(bool)
    if any(
        isinstance(v, (bool, np.bool_)) or (isinstance(v, str) and _LEADING_ZERO.match(v.strip()))
        for v in values
    ):
        return values.map(cell_text).astype(object)  # "007" is an identifier, not the number 7
    numeric = pd.to_numeric(values.where(~blank), errors="coerce")
    if numeric[~blank].isna().any():
        return values.map(cell_text).astype(object)
    numeric = numeric.astype(np.float64)
    if not blank.any() and np.array_equal(numeric, np.round(numeric)) and np.abs(numeric).max() < 2**53:
        return numeric.astype(np.int64)
    return numeric


def lesion_frame(
    rows: Iterable[Mapping[str, object]],
    *,
    source: str = "lesion table",
    base: str | os.PathLike[str] | None = None,
    check_files: bool = False,
) -> pd.DataFrame:
    """Validate lesion rows and return them as a lesion table.

    Adapters build their rows as dictionaries and pass them through here, so that
    every table in mammocad obeys the same rules.

    Parameters
    ----------
    rows : iterable of mappings
        One mapping per lesion with (at least) the :data:`LESION_COLUMNS` that
        must not be empty; missing optional columns count as empty. Keys not in
        :data:`LESION_COLUMNS` become metadata columns, in first-seen order.
    source : str
        How to name the rows' origin in error messages (``"<source>: row N"``).
    base : path-like, optional
        Folder against which relative paths are resolved.
    check_files : bool
        Whether ``image_path`` (and ``mask_path`` where given) must exist.

    Returns
    -------
    DataFrame
        :data:`LESION_COLUMNS` in order, then the metadata columns.

    Raises
    ------
    DatasetError
        On the first invalid row or a duplicated ``lesion_id``.
    """
    base_path = None if base is None else Path(base)
    out: list[dict[str, object]] = []
    extras: list[str] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        where = f"{source}: row {number}"
        normal = _normalise_row(row, where, base_path, check_files)
        _check_unique(normal, where, seen, number, "row")
        for key in row:
            if key not in LESION_COLUMNS and key not in extras:
                extras.append(key)
        out.append(normal)
    return _frame(out, extras)


def _check_unique(
    row: Mapping[str, object], where: str, seen: dict[str, int], number: int, unit: str
) -> None:
    lesion_id = str(row["lesion_id"])
    if lesion_id in seen:
        raise DatasetError(f"{where}: duplicate lesion_id {lesion_id!r} (first on {unit} {seen[lesion_id]})")
    seen[lesion_id] = number


def read_lesion_table(path: str | os.PathLike[str], *, check_files: bool = False) -> pd.DataFrame:
    """Read and validate a lesion table written as CSV.

    Parameters
    ----------
    path : path-like
        CSV file with a header row containing the columns of
        :data:`LESION_COLUMNS` (in any order; those of :data:`OPTIONAL_COLUMNS` may
        be left out and are then empty); other columns are kept as metadata.
    check_files : bool
        Whether every ``image_path`` (and non-empty ``mask_path``) must exist.

    Returns
    -------
    DataFrame
        :data:`LESION_COLUMNS` in order, then the metadata columns in file order.
        ``image_path`` and ``mask_path`` are absolute (relative values are resolved
        against the CSV's folder); ``x``, ``y``, ``radius`` and
        ``pixel_spacing_mm`` are floats (NaN where empty); ``abnormality`` and
        ``pathology`` are lower case, ``laterality`` is ``L``/``R``/``""``.

    Raises
    ------
    DatasetError
        If the file is missing or unreadable, a column is missing, or a row is
        invalid: empty required value, unknown abnormality / pathology / split /
        laterality / view, non-numeric or negative ``x``/``y``, ``radius`` ≤ 0,
        an incomplete ROI, a duplicated ``lesion_id`` or (with ``check_files``) a
        missing file. The message names the file and the 1-based CSV line.

    Examples
    --------
    >>> table = read_lesion_table("lesions.csv")  # doctest: +SKIP
    >>> table.groupby("abnormality").size()  # doctest: +SKIP
    """
    csv_path = Path(path)
    header, records = read_csv_records(csv_path)
    missing = [c for c in LESION_COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise DatasetError(
            f"{csv_path}: missing column(s) {', '.join(missing)} in the header (line 1); "
            f"only {', '.join(OPTIONAL_COLUMNS)} may be left out"
        )
    base = csv_path.resolve().parent
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for line, record in records:
        where = f"{csv_path}: line {line}"
        normal = _normalise_row(record, where, base, check_files)
        _check_unique(normal, where, seen, line, "line")
        rows.append(normal)
    extras = [c for c in header if c not in LESION_COLUMNS]
    return _frame(rows, extras)


def read_csv_records(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV into ``(header, [(first_line, {column: value}), ...])``.

    Line numbers are 1-based physical lines of the file, so a quoted field with an
    embedded newline still yields the line on which its record starts. Blank
    lines are skipped; a row with more or fewer fields than the header is an
    error naming the line.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise DatasetError(f"{path}: file is empty; expected a CSV header") from None
            if any("\x00" in h for h in header):
                raise DatasetError(f"{path}: line 1: the header contains a NUL byte")
            duplicated = sorted({h for h in header if header.count(h) > 1})
            if duplicated:
                raise DatasetError(f"{path}: duplicated column(s) {', '.join(duplicated)} in the header")
            records: list[tuple[int, dict[str, str]]] = []
            previous_end = reader.line_num
            for fields in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    raise DatasetError(
                        f"{path}: line {start}: {len(fields)} fields, expected {len(header)} (as in the header)"
                    )
                for column, value in zip(header, fields, strict=True):
                    if "\x00" in value:
                        raise DatasetError(f"{path}: line {start}: {column} contains a NUL byte")
                records.append((start, {h: restore_text(f) for h, f in zip(header, fields, strict=True)}))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a UTF-8 text CSV ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: malformed CSV ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return header, records


def write_lesion_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Validate a lesion table and write it as CSV, atomically.

    Parameters
    ----------
    table : DataFrame
        Must contain the columns of :data:`LESION_COLUMNS` (those of
        :data:`OPTIONAL_COLUMNS` may be left out: they are written empty); further
        columns are written after them as metadata.
    path : path-like
        Destination CSV. Image and mask paths lying under its folder are written
        relative to it; others are written as they are.

    Text cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``
    first) are written with a leading apostrophe (:func:`neutralise_text`), which
    :func:`read_lesion_table` removes again.

    Raises
    ------
    DatasetError
        If a column is missing or a row is invalid (the message names the row),
        e.g. a cell holding a NUL byte.
    """
    target = Path(path)
    missing = [c for c in LESION_COLUMNS if c not in table.columns and c not in OPTIONAL_COLUMNS]
    if missing:
        raise DatasetError(f"cannot write {target}: table lacks column(s) {', '.join(missing)}")
    records: list[dict[str, Any]] = table.to_dict(orient="records")  # type: ignore[assignment]
    valid = lesion_frame(records, source=f"cannot write {target}")
    base = target.resolve().parent
    for column in ("image_path", "mask_path"):
        valid[column] = [_relative_to(str(p), base) for p in valid[column]]
    atomic_write_csv(target, valid, float_format="%.10g")


def _relative_to(value: str, base: Path) -> str:
    if not value:
        return value
    path = Path(value)
    if not path.is_absolute():
        return value
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return value


def summarise(table: pd.DataFrame) -> str:
    """One line of counts: lesions, patients, per abnormality and per pathology.

    Examples
    --------
    >>> summarise(read_lesion_table("lesions.csv"))  # doctest: +SKIP
    '119 lesions, 94 patients; calcification 30, mass 59, other 30; benign 64, malignant 55'
    """

    def counts(column: str, order: tuple[str, ...]) -> str:
        values = table[column].value_counts()
        return ", ".join(f"{name} {int(values.get(name, 0))}" for name in order)

    return (
        f"{len(table)} lesions, {table['patient_id'].nunique()} patients; "
        f"{counts('abnormality', ABNORMALITIES)}; {counts('pathology', PATHOLOGIES)}"
    )
