"""Measure a lesion table: every lesion's features (the paper's 41, or the extended set) into one feature table.

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
from mammocad._fileio import atomic_write_csv
from mammocad.datasets import finite_or_none, lesion_frame, read_lesion_table, roi_from_mask
from mammocad.errors import FeatureError, ImageReadError, MammocadError, PixelSpacingError, ROIError
from mammocad.features.registry import FEATURE_SET_NAMES, feature_names
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
from mammocad.io import ROI, read_mammogram, read_mask
from mammocad.parallel import SchedulerLostError, check_execution, map_completed
from mammocad.pipeline.lesion import GRID_SIZE, analysis_grid, measure_on_grid
from mammocad.pipeline.spacing import resolve_pixel_spacing
from mammocad.segment import segment_calcifications, segment_mass

__all__ = [
    "measure_lesion_table",
    "measurement_settings",
    "lesion_inputs",
    "lesion_roi",
    "MEASUREMENT_COLUMNS",
    "SKIP_CATEGORIES",
    "skipped_path",
]

#: Columns each measured row carries after the features: the pixel spacing the lesion
#: was measured with (mm, on the image as read) and where it came from
#: (:data:`mammocad.io.PIXEL_SPACING_SOURCES`).
MEASUREMENT_COLUMNS: tuple[str, ...] = ("pixel_spacing_mm", "pixel_spacing_source")
#: Why a lesion was skipped, as the run's summary line words it.
SKIP_CATEGORIES: dict[str, str] = {
    "spacing": "lack pixel spacing",
    "image": "have an unreadable image",
    "roi": "have no usable ROI",
    "measure": "could not be segmented or measured",
    "unexpected": "failed with an unexpected error",
}


def _defaults(func: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def measurement_settings(feature_set: str = "paper") -> dict[str, Any]:
    """The settings a feature table row is measured with (hashed into its provenance).

    The mammocad version, the analysis grid, the segmenters' parameters and the
    feature names of the set: a change in any of them (another ``feature_set``
    too) makes a rerun measure every lesion again.

    Examples
    --------
    >>> settings = measurement_settings()
    >>> settings["grid_size"], len(settings["features"]), len(measurement_settings("extended")["features"])
    (1024, 41, 48)
    """
    settings = {
        "mammocad_version": __version__,
        "grid_size": GRID_SIZE,
        "segment_calcifications": _defaults(segment_calcifications),
        "segment_mass": _defaults(segment_mass),
        "features": feature_names(feature_set),
    }
    return json.loads(json.dumps(settings, default=repr))


def _file_identity(path: str) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"path": os.path.abspath(path), "missing": True}
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def lesion_inputs(record: Mapping[str, Any], *, pixel_spacing_option: float | None = None) -> dict[str, Any]:
    """What one lesion's feature row is computed from (hashed into its provenance).

    The image file (path, size, modification time), the ROI (or, without one, the
    mask file it is derived from), the pixel spacings given (the table's, the
    ``--pixel-spacing`` option, the dataset's nominal value), and the lesion's
    identification copied into the row (patient, abnormality, pathology, split).

    Parameters
    ----------
    record : mapping
        One row of a validated lesion table.
    pixel_spacing_option : float, optional
        The ``--pixel-spacing`` of the run: recorded for lesions whose row gives no
        spacing (those it may apply to), so that a changed option measures them anew.

    Returns
    -------
    dict
        JSON-ready.
    """
    roi = [finite_or_none(record.get(k)) for k in ("x", "y", "radius")]
    has_roi = all(v is not None for v in roi)
    table_spacing = finite_or_none(record.get("pixel_spacing_mm"))
    mask = str(record.get("mask_path") or "")
    return {
        "image": _file_identity(str(record["image_path"])),
        "roi": roi if has_roi else None,
        "mask": _file_identity(mask) if (mask and not has_roi) else None,
        "pixel_spacing_mm": table_spacing,
        # The option can matter only where the row gives no spacing (the file's own, if any,
        # is known only from its header: such rows are measured anew when the option changes).
        "pixel_spacing_option": finite_or_none(pixel_spacing_option) if table_spacing is None else None,
        "nominal_pixel_spacing_mm": finite_or_none(record.get("nominal_pixel_spacing_mm")),
        **{k: str(record.get(k) or "") for k in ("patient_id", "abnormality", "pathology", "split")},
    }


def _inputs_hash(record: Mapping[str, Any], option: float | None) -> str:
    text = json.dumps(
        lesion_inputs(record, pixel_spacing_option=option), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lesion_roi(record: Mapping[str, Any], image_shape: tuple[int, int]) -> ROI:
    """A lesion's ROI: its ``x``, ``y``, ``radius``, else the circle around its mask.

    The mask (``mask_path``) is an image whose non-zero pixels are the lesion, or
    a DICOM Segmentation of the image (the union of its segments;
    :func:`mammocad.io.read_mask`).

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
    mask = read_mask(mask_path)
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


def _skip_all(lesions: list[Mapping[str, Any]], category: str, reason: str) -> list[tuple[str, str, Any]]:
    return [("skip", str(lesion["lesion_id"]), (category, reason)) for lesion in lesions]


def _measure_image(task: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """Worker task: one image and its lesions → ``[("ok", lesion_id, row) | ("skip", lesion_id, (category, reason))]``.

    The pixel spacing is settled from the file's header and the given values
    before the image is decoded (an image without one is not read at all); the
    image is then read and normalised once, and each lesion is segmented and
    measured on that grid. A lesion that cannot be measured is skipped with its
    reason; an image that cannot be read skips all of its lesions.
    """
    lesions = task["lesions"]
    try:
        spacing, source = resolve_pixel_spacing(
            task["image_path"],
            table_mm=finite_or_none(task["pixel_spacing_mm"]),
            option_mm=finite_or_none(task["pixel_spacing_option"]),
            nominal_mm=finite_or_none(task["nominal_pixel_spacing_mm"]),
        )
        if source == "dicom":
            image = read_mammogram(task["image_path"])
        else:
            image = read_mammogram(task["image_path"], pixel_spacing_mm=spacing, pixel_spacing_source=source)
        grid = analysis_grid(image)
    except PixelSpacingError as exc:
        return _skip_all(lesions, "spacing", str(exc))
    except ImageReadError as exc:
        return _skip_all(lesions, "image", str(exc))
    except MammocadError as exc:
        return _skip_all(lesions, "image", str(exc))
    except Exception as exc:  # noqa: BLE001 - one odd image must not end a batch of thousands
        return _skip_all(lesions, "unexpected", _unexpected(exc))
    out: list[tuple[str, str, Any]] = []
    for lesion in lesions:
        lesion_id = str(lesion["lesion_id"])
        try:
            roi = lesion_roi(lesion, image.shape)
        except (FeatureError, ROIError, ImageReadError) as exc:
            out.append(("skip", lesion_id, ("roi", str(exc))))
            continue
        except Exception as exc:  # noqa: BLE001
            out.append(("skip", lesion_id, ("unexpected", _unexpected(exc))))
            continue
        try:
            _, values = measure_on_grid(
                grid, roi.scaled(grid.scale / image.scale), feature_set=task["feature_set"]
            )
        except ROIError as exc:
            out.append(("skip", lesion_id, ("roi", str(exc))))
            continue
        except MammocadError as exc:
            out.append(("skip", lesion_id, ("measure", str(exc))))
            continue
        except Exception as exc:  # noqa: BLE001 - one odd lesion must not end a batch of thousands
            out.append(("skip", lesion_id, ("unexpected", _unexpected(exc))))
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
        row["pixel_spacing_mm"] = float(spacing)
        row["pixel_spacing_source"] = source
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


def _tasks(todo: list[dict[str, Any]], option: float | None, feature_set: str) -> list[dict[str, Any]]:
    """Group lesions by image (and given spacings), in order of first appearance: one task each."""
    groups: dict[tuple[str, float | None, float | None], list[dict[str, Any]]] = {}
    for record in todo:
        key = (
            str(record["image_path"]),
            finite_or_none(record.get("pixel_spacing_mm")),
            finite_or_none(record.get("nominal_pixel_spacing_mm")),
        )
        groups.setdefault(key, []).append(_task_lesion(record))
    return [
        {
            "image_path": path,
            "pixel_spacing_mm": spacing,
            "pixel_spacing_option": option,
            "nominal_pixel_spacing_mm": nominal,
            "lesions": members,
            "feature_set": feature_set,
        }
        for (path, spacing, nominal), members in groups.items()
    ]


_TASK_KEYS = ("lesion_id", "patient_id", "abnormality", "pathology", "split", "x", "y", "radius", "mask_path")


def _task_lesion(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a worker needs of a lesion row (not the whole row: less to ship per task)."""
    return {key: record.get(key) for key in _TASK_KEYS}


def skipped_path(out_path: str | os.PathLike[str]) -> Path:
    """Where a run writes the lesions it skipped: ``<output stem>.skipped.csv`` next to the output.

    Examples
    --------
    >>> skipped_path("results/features.parquet").as_posix()
    'results/features.skipped.csv'
    """
    out = Path(out_path)
    return out.with_name(f"{out.stem}.skipped.csv")


def _write_skipped(path: Path, skipped: list[dict[str, str]]) -> None:
    """The skipped lesions and why (atomically); no file when none was skipped."""
    if not skipped:
        path.unlink(missing_ok=True)
        return
    frame = pd.DataFrame(skipped, columns=["lesion_id", "image_path", "category", "reason"])
    atomic_write_csv(path, frame)


def _summary(measured: int, total: int, skipped: list[dict[str, str]], path: Path) -> str:
    """``"8 of 10 lesions measured: 2 lack pixel spacing; see features.skipped.csv"``."""
    counts: dict[str, int] = {}
    for item in skipped:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    text = f"{measured} of {total} lesions measured"
    if counts:
        parts = [f"{counts[c]} {SKIP_CATEGORIES[c]}" for c in SKIP_CATEGORIES if c in counts]
        text += f": {', '.join(parts)}; see {path}"
    return text


def measure_lesion_table(
    lesions: pd.DataFrame | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    chunk_size: int = 25,
    flush_seconds: float = 30.0,
    pixel_spacing_mm: float | None = None,
    feature_set: str = "paper",
) -> pd.DataFrame:
    """Measure the features of every lesion of a lesion table; write the feature table.

    Each image is read once and brought to the analysis grid; its pixel spacing is
    settled first, from its header (:func:`~mammocad.pipeline.spacing.resolve_pixel_spacing`:
    the file's tags, else the table's ``pixel_spacing_mm``, else
    ``pixel_spacing_mm`` given here (``--pixel-spacing``), else the table's
    ``nominal_pixel_spacing_mm``), and an image without one is not decoded. Each
    of its lesions' ROIs (``x``, ``y``, ``radius``, else the circle around its
    ``mask_path`` mask) is segmented once and measured
    (:func:`~mammocad.pipeline.measure_on_grid`); the row records the spacing and
    its source (:data:`MEASUREMENT_COLUMNS`).
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
    pixel_spacing_mm : float, optional
        Pixel edge in mm for images whose file and table row give none
        (``--pixel-spacing``).
    feature_set : {"paper", "extended"}
        The paper's 41 features, or those and the extended ones (the margin
        features). Part of the settings: a table measured with
        another set is measured again.

    Returns
    -------
    DataFrame
        The feature table (:func:`~mammocad.features.table.table_columns`, then
        :data:`MEASUREMENT_COLUMNS`), rows in the order of ``lesions``, then rows
        of earlier runs for lesions not in ``lesions``. ``attrs["skipped"]`` lists
        ``{"lesion_id", "image_path", "category", "reason"}`` for lesions that
        could not be measured (unknown spacing, unreadable image, no ROI and no
        mask, ROI off the image, a segmentation error, or an unexpected error,
        named with its type; :data:`SKIP_CATEGORIES`); they are also written to
        :func:`skipped_path` next to the output and summed up in one warning.
        ``attrs["features"]`` names the feature set's columns;
        ``attrs["computed"]`` and ``attrs["resumed"]`` count lesions measured now
        and kept from earlier runs; ``attrs["summary"]`` is the run in one line
        (``"8 of 10 lesions measured: 2 lack pixel spacing; see ..."``) and
        ``attrs["skipped_path"]`` the file of skipped lesions (None if none).

    Raises
    ------
    FeatureError
        If no lesion of the table is in the output (none measured now or
        before): the message is the summary line.
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
    (2, 2, 49)
    >>> measure_lesion_table(folder / "lesions.csv", folder / "features.parquet", progress=False).attrs["resumed"]
    2
    """
    check_execution(workers, scheduler)
    feature_names(feature_set)  # FeatureError naming an unknown set, before any work
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise FeatureError(f"chunk_size must be ≥ 1, got {chunk_size!r}")
    out = Path(out_path)
    table_format(out)
    option = None if pixel_spacing_mm is None else _check_option(pixel_spacing_mm)
    table = _lesion_table(lesions)
    with feature_table_lock(out):
        return _measure_locked(
            table, out, workers, scheduler, progress, chunk_size, flush_seconds, option, feature_set
        )


def _check_option(value: object) -> float:
    spacing = finite_or_none(value)
    if spacing is None or spacing <= 0 or isinstance(value, bool):
        raise PixelSpacingError(f"--pixel-spacing must be a positive number of millimetres, got {value!r}")
    return spacing


def _measure_locked(
    lesions: pd.DataFrame,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    chunk_size: int,
    flush_seconds: float,
    option: float | None,
    feature_set: str,
) -> pd.DataFrame:
    settings = measurement_settings(feature_set)
    settings_sha = settings_hash(settings)
    records: list[dict[str, Any]] = lesions.to_dict(orient="records")  # type: ignore[assignment]
    wanted = {
        str(r["lesion_id"]): RowProvenance(_inputs_hash(r, option), settings_sha, __version__)
        for r in records
    }
    image_of = {str(r["lesion_id"]): str(r["image_path"]) for r in records}

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
    # Rows are measured with one feature set: drop feature columns of another.
    foreign = [
        c
        for c in feature_names(FEATURE_SET_NAMES[-1])
        if c in kept.columns and c not in set(settings["features"])
    ]
    kept = kept.drop(columns=foreign)
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
            columns = [*table_columns(feature_set=feature_set), *MEASUREMENT_COLUMNS]
            new = validate_feature_table(pd.DataFrame(pending, columns=columns), where=str(out))
            pending.clear()
            frames[:] = [pd.concat([frames[0], new], ignore_index=True)]
            dirty = True
        if dirty:
            write_feature_table(
                frames[0], out, provenance=Provenance(rows=dict(rows_provenance), settings=settings)
            )
            dirty = False
        last_flush = time.monotonic()

    tasks = _tasks(todo, option, feature_set)
    skipped_file = skipped_path(out)
    lost: SchedulerLostError | None = None
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
                    category, reason = payload
                    skipped.append(
                        {"lesion_id": lesion_id, "image_path": image_of[lesion_id], "category": category,
                         "reason": str(reason)}
                    )  # fmt: skip
            if len(pending) >= chunk_size or time.monotonic() - last_flush >= flush_seconds:
                flush()
    except SchedulerLostError as exc:
        lost = exc
    finally:
        flush()
        _write_skipped(skipped_file, skipped)
    if lost is not None:
        raise SchedulerLostError(
            f"{lost}; the {computed} lesions measured before are saved in {out}: "
            "rerun the same command (with a scheduler running) to resume"
        )

    result = frames[0]
    measured = int(result["lesion_id"].isin(wanted.keys()).sum())
    summary = _summary(measured, len(records), skipped, skipped_file)
    if measured == 0:
        raise FeatureError(summary if records else "the lesion table holds no lesion: nothing to measure")
    if skipped:
        warnings.warn(summary, stacklevel=3)

    order = {str(r["lesion_id"]): k for k, r in enumerate(records)}
    rank = result["lesion_id"].map(lambda v: order.get(v, len(order))).to_numpy()
    result = result.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    if not np.all(np.isfinite(result[feature_names(feature_set)].to_numpy(dtype=np.float64))):
        raise FeatureError(f"{out}: the feature table holds non-finite values")
    result.attrs["features"] = list(settings["features"])
    result.attrs["skipped"] = skipped
    result.attrs["computed"] = computed
    result.attrs["resumed"] = resumed
    result.attrs["summary"] = summary
    result.attrs["skipped_path"] = str(skipped_file) if skipped else None
    return result
