"""From lesions to the feature table: segment each ROI, then measure all 41 features.

:func:`extract_lesion_features` does one lesion of one mammogram;
:func:`extract_table` does a lesion table, locally or on Dask
(:mod:`mammocad.parallel`), writing the feature table in atomic chunks so that a
rerun resumes where an interrupted one stopped.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mammocad._fileio import atomic_path
from mammocad.errors import FeatureError, MammocadError
from mammocad.features.registry import FEATURE_NAMES, calcification_features, mass_features
from mammocad.io import ROI, Mammogram, read_mammogram
from mammocad.io import normalise as normalise_mammogram
from mammocad.parallel import check_execution, map_completed

__all__ = [
    "extract_lesion_features",
    "extract_table",
    "read_feature_table",
    "TABLE_ID_COLUMNS",
    "TABLE_COLUMNS",
]

#: Identification columns of the feature table, before the 41 features.
TABLE_ID_COLUMNS: tuple[str, ...] = ("lesion_id", "patient_id", "abnormality", "pathology", "label", "split")
#: All columns of the feature table, in order.
TABLE_COLUMNS: tuple[str, ...] = TABLE_ID_COLUMNS + FEATURE_NAMES
_LABELS = {"benign": 0, "malignant": 1}
_TABLE_SUFFIXES = (".parquet", ".csv")


def extract_lesion_features(mammogram: Mammogram, roi: ROI, *, normalise: bool = True) -> dict[str, float]:
    """Segment the calcifications and the mass in an ROI and measure all 41 features.

    Parameters
    ----------
    mammogram : Mammogram
        The image, with its pixel spacing.
    roi : ROI
        Region of interest in the pixel coordinates of ``mammogram``.
    normalise : bool
        Bring the image to the paper's 1024-pixel, 8-bit grid first
        (:func:`mammocad.io.normalise`; the ROI is mapped with it).

    Returns
    -------
    dict
        The 41 features, in registry order; never NaN.

    Raises
    ------
    FeatureError
        If the pixel spacing is unknown or a feature is not finite.
    ROIError
        If the ROI lies outside the image.
    """
    mg = normalise_mammogram(mammogram) if normalise else mammogram
    if mg.pixel_spacing_mm is None:
        raise FeatureError(
            f"{mammogram.source or 'mammogram'}: pixel spacing unknown; physical features need it "
            "(give pixel_spacing_mm when reading, or in the lesion table)"
        )
    from mammocad.segment import segment_calcifications, segment_mass

    roi_here = roi.scaled(mg.scale / mammogram.scale)
    s = float(mg.pixel_spacing_mm)
    image = mg.pixels
    calcs = segment_calcifications(image, roi_here, pixel_spacing_mm=s)
    mass = segment_mass(image, roi_here, pixel_spacing_mm=s)
    values = calcification_features(image, calcs.labels, pixel_spacing_mm=s, roi=roi_here)
    values.update(mass_features(image, mass.mask, pixel_spacing_mm=s))
    bad = [name for name in FEATURE_NAMES if not math.isfinite(values[name])]
    if bad:
        raise FeatureError(f"{mammogram.source or 'mammogram'}: non-finite feature(s) {', '.join(bad)}")
    return {name: values[name] for name in FEATURE_NAMES}


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def _lesion_roi(record: Mapping[str, Any], image_shape: tuple[int, int]) -> ROI:
    x, y, r = (_number(record.get(k)) for k in ("x", "y", "radius"))
    if all(math.isfinite(v) for v in (x, y, r)):
        return ROI(x, y, r)
    mask_path = _text(record.get("mask_path"))
    if not mask_path:
        raise FeatureError("no ROI (x, y, radius) and no mask_path to derive one from")
    from mammocad.datasets import roi_from_mask

    mask = read_mammogram(mask_path).pixels > 0
    if mask.shape != image_shape:
        raise FeatureError(
            f"mask {mask_path} is {mask.shape[1]}x{mask.shape[0]}, the image is "
            f"{image_shape[1]}x{image_shape[0]}"
        )
    x, y, r = roi_from_mask(mask)
    if not math.isfinite(r):
        raise FeatureError(f"mask {mask_path} is empty")
    return ROI(x, y, r)


def _extract_record(record: Mapping[str, Any]) -> tuple[str, dict[str, Any] | str]:
    """Worker task: one lesion-table row → ``("ok", row)`` or ``("skip", reason)``."""
    try:
        spacing = _number(record.get("pixel_spacing_mm"))
        mg = read_mammogram(
            _text(record.get("image_path")),
            pixel_spacing_mm=spacing if math.isfinite(spacing) and spacing > 0 else None,
        )
        roi = _lesion_roi(record, mg.shape)
        values = extract_lesion_features(mg, roi)
    except MammocadError as exc:
        return "skip", str(exc)
    except Exception as exc:  # noqa: BLE001 - one odd lesion must not end a batch of thousands
        return "skip", f"unexpected {type(exc).__name__} while measuring it: {exc}"
    row: dict[str, Any] = {
        "lesion_id": _text(record.get("lesion_id")),
        "patient_id": _text(record.get("patient_id")),
        "abnormality": _text(record.get("abnormality")),
        "pathology": _text(record.get("pathology")).lower(),
        "label": _LABELS[_text(record.get("pathology")).lower()],
        "split": _text(record.get("split")),
    }
    row.update(values)
    return "ok", row


def _check_lesions(lesions: pd.DataFrame) -> None:
    if not isinstance(lesions, pd.DataFrame):
        raise FeatureError(f"lesions must be a lesion table (DataFrame), got {type(lesions).__name__}")
    missing = [
        c for c in ("lesion_id", "patient_id", "image_path", "abnormality", "pathology") if c not in lesions
    ]
    if missing:
        raise FeatureError(f"lesion table lacks column(s) {', '.join(missing)}")
    ids = lesions["lesion_id"].map(_text)
    if (ids == "").any():
        raise FeatureError(f"lesion table row {int(np.flatnonzero(ids == '')[0])}: empty lesion_id")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise FeatureError(f"lesion table: lesion_id {dup.iloc[0]!r} appears more than once")
    bad = lesions["pathology"].map(lambda v: _text(v).lower() not in _LABELS)
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise FeatureError(
            f"lesion table row {k} (lesion {ids.iloc[k]!r}): pathology {lesions['pathology'].iloc[k]!r}; "
            "expected benign or malignant"
        )


def _table_suffix(out_path: Path) -> str:
    suffix = out_path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise FeatureError(f"{out_path}: output must end in .parquet or .csv")
    return suffix


def read_feature_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a feature table written by :func:`extract_table` (Parquet or CSV).

    Raises
    ------
    FeatureError
        If the file cannot be read, lacks columns of the feature table, or holds
        a label or feature that is not a number.
    """
    p = Path(path)
    suffix = _table_suffix(p)
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(p)
        else:
            table = pd.read_csv(
                p, dtype={c: str for c in TABLE_ID_COLUMNS if c != "label"}, keep_default_na=False
            )
    except (OSError, ValueError) as exc:
        raise FeatureError(f"{p}: cannot read feature table ({exc})") from None
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise FeatureError(f"{p}: not a mammocad feature table (missing {', '.join(missing[:5])})")
    try:
        return _typed(table[list(TABLE_COLUMNS)])
    except (TypeError, ValueError) as exc:
        raise FeatureError(
            f"{p}: not a mammocad feature table (a label or feature is not a number: {exc})"
        ) from None


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for c in TABLE_ID_COLUMNS:
        table[c] = table[c].astype("int64") if c == "label" else table[c].astype(str)
    for c in FEATURE_NAMES:
        table[c] = table[c].astype("float64")
    return table.reset_index(drop=True)


def _write(table: pd.DataFrame, out_path: Path) -> None:
    with atomic_path(out_path) as tmp:
        if out_path.suffix.lower() == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)


def extract_table(
    lesions: pd.DataFrame,
    out_path: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    chunk_size: int = 25,
    flush_seconds: float = 30.0,
) -> pd.DataFrame:
    """Measure the 41 features of every lesion of a lesion table and write the feature table.

    Each lesion's image is read (pixel spacing from the file, else the table's
    ``pixel_spacing_mm``), normalised, and its ROI (``x``, ``y``, ``radius``, or the
    circle around its ``mask_path`` mask) segmented for calcifications and for a
    mass; every lesion gets all 41 features. Lesions already in ``out_path`` are
    skipped, so an interrupted run is resumed by running it again. Results are
    written every ``chunk_size`` lesions or ``flush_seconds`` seconds, each time
    atomically.

    Parameters
    ----------
    lesions : DataFrame
        Lesion table (:func:`mammocad.datasets.read_lesion_table`).
    out_path : path-like
        ``.parquet`` or ``.csv`` file of the feature table.
    workers : int, optional
        Local Dask workers (``None``/1: in this process).
    scheduler : str, optional
        Address of an existing Dask scheduler.
    progress : bool
        Show a progress bar.
    chunk_size : int
        Lesions per checkpoint.
    flush_seconds : float
        Longest time between checkpoints.

    Returns
    -------
    DataFrame
        The feature table (:data:`TABLE_COLUMNS`), rows in the order of
        ``lesions``, including those written by earlier runs.
        ``attrs["skipped"]`` lists ``{"lesion_id", "reason"}`` for lesions that
        could not be measured (no ROI and no mask, unreadable image, unknown
        spacing, ROI off the image, or an unexpected error in segmentation or
        measurement, named with its type); each is also reported as a warning.
        ``attrs["computed"]`` and ``attrs["resumed"]`` count lesions measured in
        this run and found already written.

    Raises
    ------
    FeatureError
        If the table lacks columns, has duplicate ids or unknown pathologies, the
        output suffix is not supported, or an existing output is not a feature
        table.

    Examples
    --------
    >>> from mammocad.datasets import read_lesion_table  # doctest: +SKIP
    >>> table = extract_table(read_lesion_table("lesions.csv"), "features.parquet", workers=2)  # doctest: +SKIP
    """
    check_execution(workers, scheduler)
    _check_lesions(lesions)
    out = Path(out_path)
    _table_suffix(out)
    if chunk_size < 1:
        raise FeatureError(f"chunk_size must be ≥ 1, got {chunk_size}")
    done = read_feature_table(out) if out.exists() else _typed(pd.DataFrame(columns=list(TABLE_COLUMNS)))
    done_ids = set(done["lesion_id"])
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in lesions.to_dict(orient="records")
        if _text(row["lesion_id"]) not in done_ids
    ]
    frames = [done]
    pending: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    computed = 0
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if pending:
            frames.append(_typed(pd.DataFrame(pending, columns=list(TABLE_COLUMNS))))
            pending.clear()
            frames[:] = [pd.concat(frames, ignore_index=True)]
            _write(frames[0], out)
        last_flush = time.monotonic()

    try:
        for k, (status, payload) in map_completed(
            _extract_record, records, workers=workers, scheduler=scheduler, progress=progress, desc="features"
        ):
            if status == "ok":
                pending.append(payload)  # type: ignore[arg-type]
                computed += 1
            else:
                skipped.append({"lesion_id": _text(records[k]["lesion_id"]), "reason": str(payload)})
            if len(pending) >= chunk_size or time.monotonic() - last_flush >= flush_seconds:
                flush()
    finally:
        flush()
    if not out.exists():
        _write(frames[0], out)
    for item in skipped:
        warnings.warn(f"lesion {item['lesion_id']} skipped: {item['reason']}", stacklevel=2)

    table = frames[0]
    order = {lid: k for k, lid in enumerate(lesions["lesion_id"].map(_text))}
    table = table.iloc[
        np.argsort(table["lesion_id"].map(lambda v: order.get(v, len(order))).to_numpy(), kind="stable")
    ].reset_index(drop=True)
    features = table[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(features)):
        raise FeatureError(f"{out}: the feature table holds non-finite values")
    table.attrs["skipped"] = skipped
    table.attrs["computed"] = computed
    table.attrs["resumed"] = len(done_ids)
    return table
