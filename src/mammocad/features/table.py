"""The feature table: one row per lesion, its identification and its feature values.

This module is the one definition of the table that ``mammocad features`` writes
and ``train``, ``reproduce`` and the experiment read:

- the schema: :data:`ID_COLUMNS`, then the registry's feature columns
  (:func:`feature_columns` of a scenario);
- one reader (:func:`read_feature_table`) and one writer
  (:func:`write_feature_table`) for Parquet and CSV, which agree on missing
  values (blank text is ``""``, a blank number is NaN);
- one validator (:func:`validate_feature_table`) raising one exception type,
  :class:`~mammocad.errors.FeatureTableError`;
- :func:`to_xy_groups`: the arrays a model is trained on;
- provenance (:class:`Provenance`): for every row, a hash of the inputs it was
  measured from and of the settings (mammocad version, segmentation and feature
  parameters) it was measured with. Parquet keeps it in the file's metadata; CSV in
  the columns :data:`CSV_PROVENANCE_COLUMNS`. A rerun recomputes exactly the rows
  whose hashes differ;
- :func:`feature_table_lock`: one writer per output at a time.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mammocad.features import FEATURE_NAMES
>>> rows = pd.DataFrame({"lesion_id": ["a", "b"], "patient_id": ["p1", "p2"], "label": [0, 1]})
>>> table = pd.concat([rows, pd.DataFrame(np.ones((2, 41)), columns=list(FEATURE_NAMES))], axis=1)
>>> X, y, groups = to_xy_groups(table, "calcification")
>>> X.shape, y.tolist(), groups.tolist()
((2, 15), [0, 1], ['p1', 'p2'])
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mammocad._fileio import atomic_path, neutralise_frame, restore_frame, restore_text
from mammocad.errors import FeatureTableError
from mammocad.features.registry import FEATURE_SET_NAMES, feature_names, scenario_columns

__all__ = [
    "ID_COLUMNS",
    "TEXT_ID_COLUMNS",
    "LABELS",
    "TABLE_SUFFIXES",
    "CSV_PROVENANCE_COLUMNS",
    "feature_columns",
    "table_columns",
    "empty_feature_table",
    "validate_feature_table",
    "require_feature_set",
    "read_feature_table",
    "write_feature_table",
    "to_xy_groups",
    "RowProvenance",
    "Provenance",
    "read_provenance",
    "settings_hash",
    "feature_table_lock",
    "table_format",
]

#: Identification columns of the feature table, before the features.
ID_COLUMNS: tuple[str, ...] = ("lesion_id", "patient_id", "abnormality", "pathology", "label", "split")
#: The identification columns holding text (``""`` where unknown).
TEXT_ID_COLUMNS: tuple[str, ...] = tuple(c for c in ID_COLUMNS if c != "label")
#: Columns a table must have to be a feature table (the others default to ``""``).
REQUIRED_COLUMNS: tuple[str, ...] = ("lesion_id", "label")
#: Largest magnitude of a feature value :func:`to_xy_groups` accepts (no measurement comes near).
MAX_FEATURE_MAGNITUDE = 1e12
#: Pathology → label.
LABELS: Mapping[str, int] = {"benign": 0, "malignant": 1}
#: File kinds of a feature table.
TABLE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")
#: Where a CSV feature table keeps each row's provenance (Parquet: in its metadata).
CSV_PROVENANCE_COLUMNS: tuple[str, ...] = (
    "provenance_inputs_sha256",
    "provenance_settings_sha256",
    "provenance_mammocad_version",
)
_PARQUET_KEY = b"mammocad.provenance"
_FORMAT = "mammocad feature table provenance 1"


def feature_columns(
    scenario: str | Sequence[str] = "combined", feature_set: str = "paper"
) -> tuple[str, ...]:
    """Feature columns of a scenario (the registry's), or the given column names.

    Parameters
    ----------
    scenario : str or sequence of str
        ``"calcification"`` (15), ``"mass"`` (26), ``"combined"`` (41), or explicit
        column names.
    feature_set : {"paper", "extended"}
        For a scenario name: the paper's columns, or those and the extended ones.

    Raises
    ------
    FeatureError
        For an unknown scenario name or feature set.

    Examples
    --------
    >>> feature_columns("calcification")[:2]
    ('calc_count', 'calc_mean_diameter_mm')
    """
    if isinstance(scenario, str):
        return tuple(scenario_columns(scenario, feature_set))
    return tuple(str(name) for name in scenario)


def table_columns(scenario: str | Sequence[str] = "combined", feature_set: str = "paper") -> tuple[str, ...]:
    """:data:`ID_COLUMNS` followed by :func:`feature_columns` of ``scenario`` (in ``feature_set``)."""
    return ID_COLUMNS + feature_columns(scenario, feature_set)


def empty_feature_table() -> pd.DataFrame:
    """A feature table with every column and no row."""
    return validate_feature_table(pd.DataFrame(columns=list(table_columns())))


def _fail(where: str, message: str) -> FeatureTableError:
    return FeatureTableError(f"{where}: {message}")


def require_feature_set(
    table: pd.DataFrame, columns: Sequence[str], feature_set: str, *, where: str = "feature table"
) -> None:
    """Refuse a table without the columns a feature set asks for, naming them and the set.

    Parameters
    ----------
    table : DataFrame
    columns : sequence of str
        The feature columns wanted (e.g. :func:`feature_columns` of a scenario in ``feature_set``).
    feature_set : {"paper", "extended"}
        The set they come from: the message says to measure the table with it.
    where : str
        How to name the table in the message.

    Raises
    ------
    FeatureTableError
        ``<where>: missing feature column(s) ... of the extended feature set: measure the
        lesions with it (mammocad features --feature-set extended)``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(columns=feature_columns("mass"))
    >>> require_feature_set(table, feature_columns("mass"), "paper")
    >>> wanted = feature_columns("mass", "extended")[-1:]
    >>> require_feature_set(table, wanted, "extended", where="f.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mammocad.errors.FeatureTableError: f.csv: missing feature column(s) mass_radial_length_entropy of ...
    """
    absent = [c for c in columns if c not in table.columns]
    if absent:
        more = " ..." if len(absent) > 10 else ""
        raise _fail(
            where,
            f"missing feature column(s) {', '.join(absent[:10])}{more} of the {feature_set} feature set: "
            f"measure the lesions with it (mammocad features --feature-set {feature_set})",
        )


def validate_feature_table(
    table: pd.DataFrame,
    *,
    scenario: str | Sequence[str] | None = None,
    where: str = "feature table",
) -> pd.DataFrame:
    """Check a feature table and return it with canonical columns and types.

    Parameters
    ----------
    table : DataFrame
        ``lesion_id`` and ``label`` are required; ``patient_id``, ``abnormality``,
        ``pathology`` and ``split`` default to ``""`` (a blank ``patient_id`` to the
        lesion's id: the lesion is its own patient). Feature columns are the
        registry's names present in the table (of any feature set).
    scenario : str or sequence of str, optional
        Feature columns that must be present (see :func:`feature_columns`).
    where : str
        How to name the table in messages (its path).

    Returns
    -------
    DataFrame
        A new frame: :data:`ID_COLUMNS` (text ``str``, ``label`` int64), the
        registry's feature columns present (float64, registry order), other
        columns of ``scenario``, then any further column unchanged. NaN feature
        values are kept (:func:`to_xy_groups` refuses them).

    Raises
    ------
    FeatureTableError
        If ``table`` is not a DataFrame, lacks a required column or a feature
        column of ``scenario``, has no feature column, a blank or repeated
        ``lesion_id``, a label other than 0/1, or a feature value that is not a
        number. The message names the row (0-based) and the lesion.
    """
    if not isinstance(table, pd.DataFrame):
        raise _fail(where, f"expected a feature table (DataFrame), got {type(table).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise _fail(where, f"not a mammocad feature table (missing column(s) {', '.join(missing)})")
    wanted = feature_columns(scenario) if scenario is not None else ()
    absent = [c for c in wanted if c not in table.columns]
    if absent:
        more = " ..." if len(absent) > 10 else ""
        raise _fail(where, f"missing feature column(s) {', '.join(absent[:10])}{more}")
    known = [c for c in feature_names(FEATURE_SET_NAMES[-1]) if c in table.columns]
    features = known + [c for c in wanted if c not in known]
    if not features:
        raise _fail(where, "not a mammocad feature table (no feature column)")

    rows = table.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for column in TEXT_ID_COLUMNS:
        columns[column] = _texts(rows[column]) if column in rows.columns else pd.Series("", index=rows.index)
    ids = columns["lesion_id"]
    blank = np.flatnonzero((ids == "").to_numpy())
    if blank.size:
        raise _fail(where, f"row {int(blank[0])}: lesion_id is empty")
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise _fail(where, f"lesion_id {repeated.iloc[0]!r} appears more than once")
    columns["patient_id"] = columns["patient_id"].where(columns["patient_id"] != "", ids)

    raw_labels = rows["label"]
    labels = _numbers(raw_labels)
    bad = np.flatnonzero(~labels.isin((0, 1)).to_numpy())
    if bad.size:
        k = int(bad[0])
        value = raw_labels.iloc[k]
        what = "is not a number" if math.isnan(labels.iloc[k]) else "is not 0 or 1"
        raise _fail(
            where,
            f"row {k} (lesion {ids.iloc[k]!r}): label {_shown(value)} {what} (0 = benign, 1 = malignant)",
        )
    columns["label"] = labels.astype(np.int64)

    for column in features:
        numbers = _numbers(rows[column])
        if rows[column].dtype.kind in "fiub":  # numbers already: nothing to refuse
            columns[column] = numbers
            continue
        # Blank cells are NaN; "nan"/"inf" are numbers; any other text is refused.
        bad = np.flatnonzero((numbers.isna() & (_texts(rows[column]) != "")).to_numpy())
        if bad.size:
            k = int(bad[0])
            raise _fail(
                where,
                f"row {k} (lesion {ids.iloc[k]!r}): feature {column} {_shown(rows[column].iloc[k])} "
                "is not a number",
            )
        columns[column] = numbers
    for column in rows.columns:
        columns.setdefault(column, rows[column])
    order = [*ID_COLUMNS, *features, *(c for c in rows.columns if c not in ID_COLUMNS and c not in features)]
    return pd.DataFrame({c: columns[c] for c in order}, index=rows.index)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _texts(values: pd.Series) -> pd.Series:
    """Cells as stripped text, ``""`` where blank: :func:`mammocad.datasets.cell_text`, column-wise."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _numbers(values: pd.Series) -> pd.Series:
    """Cells as float64; NaN where blank or not a number."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    text = _texts(values)
    return pd.to_numeric(text.where(text != "", None), errors="coerce").astype(np.float64)


def to_xy_groups(
    table: pd.DataFrame,
    scenario: str | Sequence[str] = "combined",
    *,
    feature_set: str = "paper",
    where: str = "feature table",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays a model is trained on: features, labels and patient groups.

    Parameters
    ----------
    table : DataFrame
        A feature table (validated here).
    scenario : str or sequence of str
        Scenario name or explicit feature columns (see :func:`feature_columns`).
    feature_set : {"paper", "extended"}
        For a scenario name: which set's columns.
    where : str
        How to name the table in messages.

    Returns
    -------
    X : ndarray of float64, shape (n_rows, n_features)
        The scenario's columns, in order.
    y : ndarray of int64, shape (n_rows,)
        1 = malignant.
    groups : ndarray of str, shape (n_rows,)
        Patient ids (the lesion id where the patient is unknown), for grouped
        cross-validation.

    Raises
    ------
    FeatureTableError
        On a malformed table, or NaN, infinite or absurdly large (beyond
        :data:`MAX_FEATURE_MAGNITUDE`) values in the scenario's columns (naming
        the columns and the lesions).
    FeatureError
        For an unknown scenario.
    """
    names = list(feature_columns(scenario, feature_set))
    valid = validate_feature_table(table, scenario=names, where=where)
    X = valid[names].to_numpy(dtype=np.float64)
    # Beyond 1e12 no feature is a measurement, and squaring it (scaling, variances) overflows.
    bad = ~(np.abs(X) <= MAX_FEATURE_MAGNITUDE)
    if bad.any():
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        ids = [str(valid["lesion_id"].iloc[i]) for i in np.flatnonzero(bad.any(axis=1))]
        kind = "NaN or infinite" if not np.isfinite(X).all() else "absurdly large (beyond ±1e12)"
        raise _fail(
            where,
            f"{kind} feature values in column(s) {', '.join(cols[:10])}"
            f"{' ...' if len(cols) > 10 else ''} for lesion(s) {', '.join(ids[:10])}"
            f"{' ...' if len(ids) > 10 else ''}",
        )
    y = valid["label"].to_numpy(dtype=np.int64)
    groups = valid["patient_id"].to_numpy(dtype=object)
    return X, y, groups


# --- provenance ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProvenance:
    """What one row of the feature table was measured from and with.

    Attributes
    ----------
    inputs_sha256 : str
        Hash of the lesion's inputs (its image and mask files, ROI, spacing and
        identification), as the measuring journey defines them.
    settings_sha256 : str
        Hash of the settings it was measured with (:func:`settings_hash`).
    mammocad_version : str
        The mammocad version that measured it.
    """

    inputs_sha256: str
    settings_sha256: str
    mammocad_version: str = ""


@dataclass(frozen=True)
class Provenance:
    """Provenance of a feature table: per row, and the settings of its last writer.

    Attributes
    ----------
    rows : mapping of str to RowProvenance
        By ``lesion_id``.
    settings : mapping
        JSON-ready settings of the run that wrote the file (Parquet only; empty
        for a CSV table, which keeps the per-row hashes only).
    """

    rows: Mapping[str, RowProvenance] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The JSON stored in a Parquet file's metadata."""
        return json.dumps(
            {
                "format": _FORMAT,
                "settings": dict(self.settings),
                "settings_sha256": settings_hash(self.settings) if self.settings else "",
                "rows": {
                    lid: [p.inputs_sha256, p.settings_sha256, p.mammocad_version]
                    for lid, p in self.rows.items()
                },
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "feature table") -> Provenance:
        """Parse :meth:`to_json` output (:class:`FeatureTableError` if malformed)."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError("unknown provenance format")
            rows = {
                str(lid): RowProvenance(str(v[0]), str(v[1]), str(v[2]))
                for lid, v in dict(data["rows"]).items()
            }
            settings = dict(data.get("settings") or {})
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise _fail(where, f"unreadable provenance metadata ({exc})") from None
        return cls(rows=rows, settings=settings)


def settings_hash(settings: Mapping[str, Any]) -> str:
    """SHA-256 of a JSON-ready settings mapping (key order does not matter).

    Examples
    --------
    >>> settings_hash({"a": 1, "b": [2, 3]}) == settings_hash({"b": [2, 3], "a": 1})
    True
    """
    import hashlib

    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- reading and writing ---------------------------------------------------------------


def table_format(path: str | os.PathLike[str]) -> str:
    """``".parquet"`` or ``".csv"``: the kind of feature table a path names.

    Raises
    ------
    FeatureTableError
        For any other suffix.

    Examples
    --------
    >>> table_format("out/features.PARQUET")
    '.parquet'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise _fail(str(path), f"a feature table must be .parquet or .csv, not {suffix or 'no suffix'!r}")
    return suffix


def read_feature_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a feature table (Parquet or CSV) and validate it.

    Both formats give the same frame for the same table: blank text is ``""``
    and a blank number NaN (see :func:`validate_feature_table`); a CSV's
    provenance columns are not part of the result (see :func:`read_provenance`).

    Parameters
    ----------
    path : path-like
        ``.parquet`` or ``.csv`` file.

    Returns
    -------
    DataFrame

    Raises
    ------
    FeatureTableError
        If the file is missing, of another kind, unreadable or not a valid
        feature table; the message names the file.
    """
    p = Path(path)
    suffix = table_format(p)
    if not p.is_file():
        raise _fail(str(p), "no such feature table")
    try:
        if suffix == ".parquet":
            raw = pd.read_parquet(p)
        else:
            header = list(pd.read_csv(p, nrows=0).columns)
            text = [c for c in header if c in TEXT_ID_COLUMNS or c in CSV_PROVENANCE_COLUMNS]
            raw = pd.read_csv(
                p,
                dtype=dict.fromkeys(text, str),
                keep_default_na=False,
                na_values={c: ["", "nan", "NaN", "NA", "N/A", "null"] for c in header if c not in text},
            )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(p), f"cannot read feature table ({exc})") from None
    raw = raw.drop(columns=[c for c in CSV_PROVENANCE_COLUMNS if c in raw.columns])
    if suffix != ".parquet":  # undo write_feature_table's spreadsheet guard on text cells
        raw = restore_frame(raw)
    return validate_feature_table(raw, where=str(p))


def read_provenance(path: str | os.PathLike[str]) -> Provenance | None:
    """The provenance recorded in a feature table file, or None where it has none.

    Raises
    ------
    FeatureTableError
        If the file cannot be read or its provenance is malformed.
    """
    p = Path(path)
    suffix = table_format(p)
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            metadata = pq.read_schema(p).metadata or {}
            text = metadata.get(_PARQUET_KEY)
            return None if text is None else Provenance.from_json(text, where=str(p))
        header = list(pd.read_csv(p, nrows=0).columns)
        if not all(c in header for c in CSV_PROVENANCE_COLUMNS) or "lesion_id" not in header:
            return None
        columns = ["lesion_id", *CSV_PROVENANCE_COLUMNS]
        raw = pd.read_csv(p, usecols=columns, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(p), f"cannot read feature table ({exc})") from None
    rows = {
        str(restore_text(r[0])).strip(): RowProvenance(str(r[1]), str(r[2]), str(r[3]))
        for r in raw[columns].itertuples(index=False)
        if str(r[1]) and str(r[2])
    }
    return Provenance(rows=rows)


def write_feature_table(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    provenance: Provenance | None = None,
) -> None:
    """Validate a feature table and write it atomically as Parquet or CSV.

    Parameters
    ----------
    table : DataFrame
        See :func:`validate_feature_table`.
    path : path-like
        ``.parquet`` or ``.csv``.
    provenance : Provenance, optional
        Stored in the Parquet file's metadata, or as the CSV columns
        :data:`CSV_PROVENANCE_COLUMNS` (rows without provenance get blanks).

    Raises
    ------
    FeatureTableError
        If the table is not valid or the suffix is not supported.
    """
    p = Path(path)
    suffix = table_format(p)
    valid = validate_feature_table(table, where=f"cannot write {p}")
    with atomic_path(p) as tmp:
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrow = pa.Table.from_pandas(valid, preserve_index=False)
            if provenance is not None:
                metadata = dict(arrow.schema.metadata or {})
                metadata[_PARQUET_KEY] = provenance.to_json().encode("utf-8")
                arrow = arrow.replace_schema_metadata(metadata)
            pq.write_table(arrow, tmp)
        else:
            if provenance is not None:
                valid = valid.copy()
                rows = [provenance.rows.get(lid) for lid in valid["lesion_id"]]
                for k, column in enumerate(CSV_PROVENANCE_COLUMNS):
                    valid[column] = [
                        "" if r is None else (r.inputs_sha256, r.settings_sha256, r.mammocad_version)[k]
                        for r in rows
                    ]
            neutralise_frame(valid).to_csv(tmp, index=False, lineterminator="\n")


@contextlib.contextmanager
def feature_table_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the lock of a feature table output for the length of a ``with`` block.

    The lock is a file ``<path>.lock`` locked with the operating system's file
    lock (:mod:`filelock`): it is released when the block ends or the process
    dies (even by ``kill -9``), so it never goes stale. The empty lock file stays
    next to the table (removing it races with a waiting writer); deleting it while
    no run is writing is harmless.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    FeatureTableError
        If another run holds the lock (it is writing the same table).
    """
    from filelock import FileLock, Timeout

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lock_path = p.with_name(p.name + ".lock")
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise _fail(
            str(p),
            f"another run is writing this feature table (its lock {lock_path.name} is held); "
            "wait for it to finish, or write to another output",
        ) from None
    try:
        yield lock_path
    finally:
        lock.release()
