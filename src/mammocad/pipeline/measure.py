"""Measure a lesion table: every lesion's 41 features into one feature table.

What ``mammocad features`` and ``mammocad reproduce`` run. Lesions are grouped by
image, so that each image is read and normalised once (CBIS-DDSM has several
lesions per film); each image is one task for :mod:`mammocad.parallel`, and a
worker reads its files itself (no pixels pass through the scheduler). Rows are
written in atomic chunks with their provenance (:mod:`mammocad.features.table`),
so a run killed at any moment loses nothing written, and a rerun recomputes
exactly the lesions whose inputs or settings changed. A lock keeps a second run
from writing the same output.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mammocad import __version__
from mammocad.datasets import finite_or_none, lesion_frame, read_lesion_table, roi_from_mask
from mammocad.errors import FeatureError, MammocadError
from mammocad.features.registry import FEATURE_NAMES
from mammocad.features.table import (
    LABELS,
    Provenance,
    RowProvenance,
    empty_feature_table,
    feature_table_lock,
    read_feature_table,
    read_provenance,
    settings_hash,
    table_columns,
    table_format,
    validate_feature_table,
    write_feature_table,
)
from mammocad.io import ROI, read_mammogram
from mammocad.parallel import check_execution, map_completed
from mammocad.pipeline.lesion import GRID_SIZE, analysis_grid, measure_on_grid
from mammocad.segment import segment_calcifications, segment_mass

__all__ = ["measure_lesion_table", "measurement_settings", "lesion_inputs", "lesion_roi"]


def _defaults(func: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def measurement_settings() -> dict[str, Any]:
    """The settings a feature table row is measured with (hashed into its provenance).

    The mammocad version, the analysis grid, the segmenters' parameters and the
    feature names: a change in any of them makes a rerun measure every lesion again.

    Examples
    --------
    >>> settings = measurement_settings()
    >>> settings["grid_size"], len(settings["features"])
    (1024, 41)
    """
    settings = {
        "mammocad_version": __version__,
        "grid_size": GRID_SIZE,
        "segment_calcifications": _defaults(segment_calcifications),
        "segment_mass": _defaults(segment_mass),
        "features": list(FEATURE_NAMES),
    }
    return json.loads(json.dumps(settings, default=repr))


def _file_identity(path: str) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"path": os.path.abspath(path), "missing": True}
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def lesion_inputs(record: Mapping[str, Any]) -> dict[str, Any]:
    """What one lesion's feature row is computed from (hashed into its provenance).

    The image file (path, size, modification time), the ROI (or, without one, the
    mask file it is derived from), the pixel spacing given, and the lesion's
    identification copied into the row (patient, abnormality, pathology, split).

    Parameters
    ----------
    record : mapping
        One row of a validated lesion table.

    Returns
    -------
    dict
        JSON-ready.
    """
    roi = [finite_or_none(record.get(k)) for k in ("x", "y", "radius")]
    has_roi = all(v is not None for v in roi)
    mask = str(record.get("mask_path") or "")
    return {
        "image": _file_identity(str(record["image_path"])),
        "roi": roi if has_roi else None,
        "mask": _file_identity(mask) if (mask and not has_roi) else None,
        "pixel_spacing_mm": finite_or_none(record.get("pixel_spacing_mm")),
        **{k: str(record.get(k) or "") for k in ("patient_id", "abnormality", "pathology", "split")},
    }


def _inputs_hash(record: Mapping[str, Any]) -> str:
    text = json.dumps(lesion_inputs(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lesion_roi(record: Mapping[str, Any], image_shape: tuple[int, int]) -> ROI:
    """A lesion's ROI: its ``x``, ``y``, ``radius``, else the circle around its mask.

    Parameters
    ----------
    record : mapping
        One row of a validated lesion table.
    image_shape : tuple of int
        Shape of the lesion's image as read (the mask must have it).

    Raises
    ------
    FeatureError
        If there is neither an ROI nor a mask, or the mask is empty or of
        another shape.
    ImageReadError
        If the mask cannot be read.
    """
    x, y, r = (finite_or_none(record.get(k)) for k in ("x", "y", "radius"))
    if x is not None and y is not None and r is not None:
        return ROI(x, y, r)
    mask_path = str(record.get("mask_path") or "")
    if not mask_path:
        raise FeatureError("no ROI (x, y, radius) and no mask_path to derive one from")
    mask = read_mammogram(mask_path).pixels > 0
    if mask.shape != image_shape:
        raise FeatureError(
            f"mask {mask_path} is {mask.shape[1]}x{mask.shape[0]}, the image is "
            f"{image_shape[1]}x{image_shape[0]}"
        )
    mx, my, mr = roi_from_mask(mask)
    if not math.isfinite(mr):
        raise FeatureError(f"mask {mask_path} is empty")
    return ROI(mx, my, mr)


def _unexpected(exc: Exception) -> str:
    return f"unexpected {type(exc).__name__} while measuring it: {exc}"


def _measure_image(task: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """Worker task: one image and its lesions → ``[("ok", lesion_id, row) | ("skip", lesion_id, reason)]``.

    The image is read and normalised once; each lesion is segmented and measured
    on that grid. A lesion that cannot be measured is skipped with its reason; an
    image that cannot be read skips all of its lesions.
    """
    lesions = task["lesions"]
    spacing = finite_or_none(task["pixel_spacing_mm"])
    try:
        image = read_mammogram(
            task["image_path"], pixel_spacing_mm=spacing if spacing and spacing > 0 else None
        )
        grid = analysis_grid(image)
    except MammocadError as exc:
        return [("skip", str(lesion["lesion_id"]), str(exc)) for lesion in lesions]
    except Exception as exc:  # noqa: BLE001 - one odd image must not end a batch of thousands
        return [("skip", str(lesion["lesion_id"]), _unexpected(exc)) for lesion in lesions]
    out: list[tuple[str, str, Any]] = []
    for lesion in lesions:
        lesion_id = str(lesion["lesion_id"])
        try:
            roi = lesion_roi(lesion, image.shape)
            _, values = measure_on_grid(grid, roi.scaled(grid.scale / image.scale))
        except MammocadError as exc:
            out.append(("skip", lesion_id, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one odd lesion must not end a batch of thousands
            out.append(("skip", lesion_id, _unexpected(exc)))
            continue
        row: dict[str, Any] = {
            "lesion_id": lesion_id,
            "patient_id": lesion["patient_id"],
            "abnormality": lesion["abnormality"],
            "pathology": lesion["pathology"],
            "label": LABELS[lesion["pathology"]],
            "split": lesion["split"],
        }
        row.update(values)
        out.append(("ok", lesion_id, row))
    return out


def _lesion_table(lesions: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(lesions, pd.DataFrame):
        records: list[dict[str, Any]] = lesions.to_dict(orient="records")  # type: ignore[assignment]
        return lesion_frame(records, source="lesion table")
    if isinstance(lesions, (str, os.PathLike)):
        return read_lesion_table(lesions)
    raise FeatureError(
        f"lesions must be a lesion table (DataFrame or CSV path), got {type(lesions).__name__}"
    )


def _tasks(todo: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group lesions by image (and given spacing), in order of first appearance."""
    groups: dict[tuple[str, float | None], list[dict[str, Any]]] = {}
    for record in todo:
        key = (str(record["image_path"]), finite_or_none(record.get("pixel_spacing_mm")))
        groups.setdefault(key, []).append(record)
    return [
        {"image_path": path, "pixel_spacing_mm": spacing, "lesions": members}
        for (path, spacing), members in groups.items()
    ]


def measure_lesion_table(
    lesions: pd.DataFrame | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    chunk_size: int = 25,
    flush_seconds: float = 30.0,
) -> pd.DataFrame:
    """Measure the 41 features of every lesion of a lesion table; write the feature table.

    Each image is read once (pixel spacing from the file, else the table's
    ``pixel_spacing_mm``) and brought to the analysis grid; each of its lesions'
    ROIs (``x``, ``y``, ``radius``, else the circle around its ``mask_path``
    mask) is segmented once and measured (:func:`~mammocad.pipeline.measure_on_grid`).
    Rows already in ``out_path`` whose inputs and settings are unchanged (see
    :func:`lesion_inputs`, :func:`measurement_settings`) are kept; every other
    lesion is measured, so an interrupted run is resumed by running it again and a
    changed ROI, image, mask or version is measured anew. Results are written
    every ``chunk_size`` lesions or ``flush_seconds`` seconds, each time
    atomically. While it runs, ``out_path`` is locked against other writers.

    Parameters
    ----------
    lesions : DataFrame or path-like
        Lesion table (:func:`mammocad.datasets.read_lesion_table`), or its CSV.
    out_path : path-like
        ``.parquet`` or ``.csv`` file of the feature table.
    workers : int, optional
        Local Dask workers (``None``/1: in this process).
    scheduler : str, optional
        Address of an existing Dask scheduler (workers must see the files).
    progress : bool
        Show a progress bar (one step per image).
    chunk_size : int
        Lesions per checkpoint.
    flush_seconds : float
        Longest time between checkpoints.

    Returns
    -------
    DataFrame
        The feature table (:func:`~mammocad.features.table.table_columns`), rows
        in the order of ``lesions``, then rows of earlier runs for lesions not in
        ``lesions``. ``attrs["skipped"]`` lists ``{"lesion_id", "reason"}`` for
        lesions that could not be measured (no ROI and no mask, unreadable image,
        unknown spacing, ROI off the image, or an unexpected error, named with its
        type; each is also warned about); ``attrs["computed"]`` and
        ``attrs["resumed"]`` count lesions measured now and kept from earlier runs.

    Raises
    ------
    DatasetError
        If the lesion table is invalid (missing values, duplicate ids, unknown
        pathology ...).
    FeatureTableError
        If the output suffix is not supported, an existing output is not a
        feature table, or another run is writing it.
    MammocadError
        If ``workers`` / ``scheduler`` are invalid.

    Examples
    --------
    >>> from mammocad.synth import make_cohort
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = make_cohort(2, folder, seed=1, size=256, pixel_spacing_mm=0.2)
    >>> table = measure_lesion_table(folder / "lesions.csv", folder / "features.parquet", progress=False)
    >>> len(table), table.attrs["computed"], table.shape[1]
    (2, 2, 47)
    >>> measure_lesion_table(folder / "lesions.csv", folder / "features.parquet", progress=False).attrs["resumed"]
    2
    """
    check_execution(workers, scheduler)
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise FeatureError(f"chunk_size must be ≥ 1, got {chunk_size!r}")
    out = Path(out_path)
    table_format(out)
    table = _lesion_table(lesions)
    with feature_table_lock(out):
        return _measure_locked(table, out, workers, scheduler, progress, chunk_size, flush_seconds)


def _measure_locked(
    lesions: pd.DataFrame,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    chunk_size: int,
    flush_seconds: float,
) -> pd.DataFrame:
    settings = measurement_settings()
    settings_sha = settings_hash(settings)
    records: list[dict[str, Any]] = lesions.to_dict(orient="records")  # type: ignore[assignment]
    wanted = {str(r["lesion_id"]): RowProvenance(_inputs_hash(r), settings_sha, __version__) for r in records}

    if out.exists():
        done = read_feature_table(out)
        known = read_provenance(out) or Provenance()
    else:
        done, known = empty_feature_table(), Provenance()
    rows_provenance = dict(known.rows)

    def current(lesion_id: str) -> bool:
        mine = rows_provenance.get(lesion_id)
        return mine is not None and mine == wanted[lesion_id]

    in_done = set(done["lesion_id"])
    todo = [r for r in records if not (r["lesion_id"] in in_done and current(r["lesion_id"]))]
    stale = {r["lesion_id"] for r in todo}
    kept = done[~done["lesion_id"].isin(stale)].reset_index(drop=True)
    resumed = int(kept["lesion_id"].isin(wanted.keys()).sum())
    for lesion_id in stale:
        rows_provenance.pop(lesion_id, None)

    frames = [kept]
    pending: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    computed = 0
    last_flush = time.monotonic()
    dirty = bool(stale & in_done) or not out.exists()

    def flush() -> None:
        nonlocal last_flush, dirty
        if pending:
            new = validate_feature_table(pd.DataFrame(pending, columns=list(table_columns())), where=str(out))
            pending.clear()
            frames[:] = [pd.concat([frames[0], new], ignore_index=True)]
            dirty = True
        if dirty:
            write_feature_table(
                frames[0], out, provenance=Provenance(rows=dict(rows_provenance), settings=settings)
            )
            dirty = False
        last_flush = time.monotonic()

    tasks = _tasks(todo)
    try:
        for _, results in map_completed(
            _measure_image, tasks, workers=workers, scheduler=scheduler, progress=progress, desc="features"
        ):
            for status, lesion_id, payload in results:
                if status == "ok":
                    pending.append(payload)
                    rows_provenance[lesion_id] = wanted[lesion_id]
                    computed += 1
                else:
                    skipped.append({"lesion_id": lesion_id, "reason": str(payload)})
            if len(pending) >= chunk_size or time.monotonic() - last_flush >= flush_seconds:
                flush()
    finally:
        flush()
    for item in skipped:
        warnings.warn(f"lesion {item['lesion_id']} skipped: {item['reason']}", stacklevel=3)

    result = frames[0]
    order = {str(r["lesion_id"]): k for k, r in enumerate(records)}
    rank = result["lesion_id"].map(lambda v: order.get(v, len(order))).to_numpy()
    result = result.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    if not np.all(np.isfinite(result[list(FEATURE_NAMES)].to_numpy(dtype=np.float64))):
        raise FeatureError(f"{out}: the feature table holds non-finite values")
    result.attrs["skipped"] = skipped
    result.attrs["computed"] = computed
    result.attrs["resumed"] = resumed
    return result
