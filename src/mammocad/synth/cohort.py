"""Folders of synthetic cases: :func:`make_cohort` and :func:`contact_sheet`.

A cohort is balanced by design (:func:`_cohort_plan`), every image is re-makeable
alone from its recorded ``case_seed``, every file is written atomically and the
lesion table last, and an interrupted run resumes from small per-case records.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mammocad.datasets.table import PATHOLOGIES
from mammocad.errors import SynthesisError
from mammocad.synth.case import (
    CASE_ABNORMALITIES,
    DEFAULT_CALC_CONTRAST,
    DEFAULT_MASS_CONTRAST,
    DEFAULT_NOISE,
    DEFAULT_PSF_SIGMA_MM,
    SyntheticCase,
    check_rendering,
    check_seed,
    make_case,
)

#: Keyword arguments of :func:`make_case` that :func:`make_cohort` passes through.
_CASE_OPTIONS: tuple[str, ...] = (
    "density",
    "calc_contrast",
    "mass_contrast",
    "noise",
    "psf_sigma_mm",
    "film_label",
)
#: Arguments of :func:`make_case` that :func:`make_cohort` chooses itself.
_PLANNED = ("abnormality", "pathology", "view", "case_id", "laterality", "seed")
_PROGRESS_DIR = ".synth-progress"


def _case_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def _save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    from mammocad._fileio import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG", compress_level=3)


def _cohort_plan(n: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    """(case_id, patient_id, abnormality, pathology, view) per image.

    Patient ``p`` gets abnormality ``p mod 3`` and pathology ``p mod 2`` (after a
    seeded shuffle of both lists): any six consecutive patients cover all six
    combinations and any two consecutive ones differ in both.
    """
    rng = np.random.default_rng([seed, 2])
    abnormalities = [CASE_ABNORMALITIES[i] for i in rng.permutation(len(CASE_ABNORMALITIES))]
    pathologies = [PATHOLOGIES[i] for i in rng.permutation(len(PATHOLOGIES))]
    plan = []
    for i in range(n):
        p = i // 2
        view = "CC" if i % 2 == 0 else "MLO"
        plan.append((f"syn{p:05d}_{view}", f"SYN{p:05d}", abnormalities[p % 3], pathologies[p % 2], view))
    return plan


def _check_cohort(
    n: object, seed: object, size: object, pixel_spacing_mm: object, case_options: Mapping[str, object]
) -> tuple[int, int]:
    """Validate every argument of :func:`make_cohort` before the first file is written."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
        raise SynthesisError(f"n (number of images) must be an integer >= 1, got {n!r}")
    seed = check_seed(seed)
    forbidden = set(_PLANNED) & set(case_options)
    if forbidden:
        raise SynthesisError(f"make_cohort chooses {', '.join(sorted(forbidden))} itself; do not pass it")
    unknown = set(case_options) - set(_CASE_OPTIONS)
    if unknown:
        raise SynthesisError(
            f"unknown option(s) {', '.join(sorted(unknown))}; expected some of {', '.join(_CASE_OPTIONS)}"
        )
    given = {
        "density": None,
        "calc_contrast": DEFAULT_CALC_CONTRAST,
        "mass_contrast": DEFAULT_MASS_CONTRAST,
        "noise": DEFAULT_NOISE,
        "psf_sigma_mm": DEFAULT_PSF_SIGMA_MM,
        **case_options,
    }
    check_rendering(
        size,
        pixel_spacing_mm,
        given["density"],
        given["calc_contrast"],
        given["mass_contrast"],
        given["noise"],
        given["psf_sigma_mm"],
    )
    return int(n), seed


def _write_case_files(
    case: SyntheticCase, case_id: str, images_dir: Path, masks_dir: Path
) -> tuple[Path, dict[str, Path]]:
    """Write the image and one mask per lesion; return their paths."""
    image_path = images_dir / f"{case_id}.png"
    _save_png(image_path, case.mammogram.pixels)
    masks = {}
    for lesion in case.lesions:
        mask_path = masks_dir / f"{lesion.lesion_id}.png"
        if lesion.abnormality == "calcification":
            _save_png(mask_path, lesion.labels.astype(np.uint16))
        else:
            _save_png(mask_path, (lesion.mask * np.uint8(255)).astype(np.uint8))
        masks[lesion.lesion_id] = mask_path
    return image_path, masks


def _case_rows(
    case: SyntheticCase,
    patient_id: str,
    case_seed: int,
    image_path: Path,
    masks: Mapping[str, Path],
) -> list[dict[str, object]]:
    """The lesion-table rows of one written case, with absolute paths."""
    return [
        {
            "lesion_id": lesion.lesion_id,
            "patient_id": patient_id,
            "image_path": str(image_path.resolve()),
            "laterality": case.mammogram.laterality,
            "view": case.mammogram.view,
            "abnormality": lesion.abnormality,
            "x": lesion.x,
            "y": lesion.y,
            "radius": lesion.radius,
            "mask_path": str(masks[lesion.lesion_id].resolve()),
            "pathology": lesion.pathology,
            "pixel_spacing_mm": case.mammogram.pixel_spacing_mm,
            "split": "",
            "density": round(case.density, 4),
            "subtype": lesion.subtype,
            "n_objects": lesion.count,
            "contrast": round(lesion.contrast, 3),
            "case_seed": case_seed,
        }
        for lesion in case.lesions
    ]


def _record(
    params: Mapping[str, object],
    rows: list[dict[str, object]],
    image_path: Path,
    masks: Mapping[str, Path],
    out: Path,
) -> str:
    """The progress record of a finished case: its parameters and rows, paths relative to ``out``."""
    relative = [
        {
            **row,
            "image_path": image_path.relative_to(out).as_posix(),
            "mask_path": masks[str(row["lesion_id"])].relative_to(out).as_posix(),
        }
        for row in rows
    ]
    return json.dumps({"params": params, "rows": relative})


def _resumed_rows(record_path: Path, params: dict[str, object], out: Path) -> list[dict[str, object]] | None:
    """Rows of a case finished by an earlier run with the same parameters, else None."""
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or record.get("params") != params
        or not isinstance(record.get("rows"), list)
    ):
        return None
    rows = record["rows"]
    for row in rows:
        if not isinstance(row, dict):
            return None
        for column in ("image_path", "mask_path"):
            if not (out / str(row.get(column, ""))).is_file():
                return None
    return [
        {
            **row,
            "image_path": str((out / row["image_path"]).resolve()),
            "mask_path": str((out / row["mask_path"]).resolve()),
        }
        for row in rows
    ]


def make_cohort(
    n: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    size: int = 1024,
    pixel_spacing_mm: float = 0.1,
    resume: bool = False,
    progress: bool = False,
    **case_options: object,
) -> pd.DataFrame:
    """Write ``n`` synthetic mammograms, their lesion masks and a lesion table.

    Images come in pairs (CC then MLO) of one patient and one breast. Patient
    ``p`` gets the ``p mod 3``-th abnormality (calcification / mass / both) and
    the ``p mod 2``-th pathology of a seeded shuffle of each list, so any six
    consecutive patients cover all six combinations and the cohort is balanced
    benign/malignant. Every image is drawn by :func:`make_case` with a seed
    derived from ``seed`` and its index (column ``case_seed``), so any single
    case can be re-made alone.

    Written under ``out_dir``:

    - ``images/<case>.png`` — 8-bit mammogram;
    - ``masks/<lesion_id>.png`` — a calcification cluster's labels as a 16-bit PNG
      (one value per calcification), a mass as an 8-bit 0/255 PNG;
    - ``lesions.csv`` — the lesion table (:data:`mammocad.datasets.LESION_COLUMNS`
      then ``density``, ``subtype``, ``n_objects``, ``contrast``, ``case_seed``).

    Every file is written atomically and the table last, so a folder with a
    ``lesions.csv`` is complete. While the run lasts, a small JSON record per
    finished case is kept in ``out_dir/.synth-progress/`` (removed at the end) so
    that an interrupted run can be resumed.

    Parameters
    ----------
    n : int
        Number of images (≥ 1).
    out_dir : path-like
        Output folder (created).
    seed : int
        Seed of the whole cohort.
    size, pixel_spacing_mm
        As in :func:`make_case`.
    resume : bool
        Keep the cases an interrupted run with the same arguments has finished
        instead of drawing them again.
    progress : bool
        Show a progress bar.
    **case_options
        Further keyword arguments of :func:`make_case` (``calc_contrast``,
        ``mass_contrast``, ``noise``, ``psf_sigma_mm``, ``density``, ``film_label``).

    Returns
    -------
    DataFrame
        The lesion table, with absolute paths.

    Raises
    ------
    SynthesisError
        If ``n`` or another argument is invalid.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     table = make_cohort(2, folder, seed=1, size=256, pixel_spacing_mm=0.2)
    ...     sorted(p.name for p in (Path(folder) / "images").iterdir())
    ['syn00000_CC.png', 'syn00000_MLO.png']
    >>> table[["lesion_id", "view", "abnormality", "pathology"]]
            lesion_id view    abnormality pathology
    0   syn00000_CC_1   CC  calcification    benign
    1  syn00000_MLO_1  MLO  calcification    benign
    """
    from mammocad import __version__
    from mammocad._fileio import atomic_write_text
    from mammocad.datasets.table import lesion_frame, write_lesion_table

    n, seed = _check_cohort(n, seed, size, pixel_spacing_mm, case_options)
    out = Path(out_dir)
    images_dir, masks_dir, progress_dir = out / "images", out / "masks", out / _PROGRESS_DIR
    for folder in (images_dir, masks_dir, progress_dir):
        folder.mkdir(parents=True, exist_ok=True)
    plan = _cohort_plan(n, seed)
    lateralities = np.random.default_rng([seed, 1]).choice(["L", "R"], size=len(plan))
    rows: list[dict[str, object]] = []
    iterator = enumerate(plan)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(plan), desc="synth", unit="image")
    for index, (case_id, patient_id, abnormality, pathology, view) in iterator:
        case_seed = _case_seed(seed, index)
        laterality = str(lateralities[index // 2])
        params: dict[str, object] = {
            "version": __version__,
            "case_seed": case_seed,
            "abnormality": abnormality,
            "pathology": pathology,
            "size": int(size),
            "pixel_spacing_mm": float(pixel_spacing_mm),
            "view": view,
            "laterality": laterality,
            "options": {k: case_options[k] for k in sorted(case_options)},
        }
        record_path = progress_dir / f"{case_id}.json"
        if resume:
            done = _resumed_rows(record_path, json.loads(json.dumps(params)), out)
            if done is not None:
                rows.extend(done)
                continue
        case = make_case(
            case_seed,
            abnormality=abnormality,
            pathology=pathology,
            size=size,
            pixel_spacing_mm=pixel_spacing_mm,
            view=view,
            laterality=laterality,
            case_id=case_id,
            **case_options,  # type: ignore[arg-type]
        )
        image_path, masks = _write_case_files(case, case_id, images_dir, masks_dir)
        case_rows = _case_rows(case, patient_id, case_seed, image_path, masks)
        rows.extend(case_rows)
        atomic_write_text(record_path, _record(params, case_rows, image_path, masks, out))
    table = lesion_frame(rows, source="synthetic cohort")
    write_lesion_table(table, out / "lesions.csv")
    for record in progress_dir.glob("*.json"):
        record.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        progress_dir.rmdir()
    return table


def contact_sheet(
    cases: Sequence[SyntheticCase],
    path: str | Path,
    *,
    columns: int = 4,
    thumb: int = 256,
    outline: bool = True,
) -> None:
    """Write a PNG with downsampled images of ``cases``, lesion outlines in red.

    Parameters
    ----------
    cases : sequence of SyntheticCase
    path : path-like
        Destination PNG (written atomically).
    columns : int
        Thumbnails per row.
    thumb : int
        Edge of each thumbnail in pixels.
    outline : bool
        Draw each lesion's enclosing circle.
    """
    from PIL import Image, ImageDraw

    if not cases:
        raise SynthesisError("contact_sheet needs at least one case")
    for name, value in (("columns", columns), ("thumb", thumb)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SynthesisError(f"{name} must be an integer >= 1, got {value!r}")
    rows = math.ceil(len(cases) / columns)
    sheet = Image.new("RGB", (columns * thumb, rows * thumb))
    for i, case in enumerate(cases):
        im = (
            Image.fromarray(case.mammogram.pixels)
            .convert("RGB")
            .resize((thumb, thumb), Image.Resampling.BILINEAR)
        )
        if outline:
            draw = ImageDraw.Draw(im)
            f = thumb / case.mammogram.shape[1]
            for lesion in case.lesions:
                r = max(lesion.radius * f, 3)
                draw.ellipse(
                    [lesion.x * f - r, lesion.y * f - r, lesion.x * f + r, lesion.y * f + r],
                    outline=(255, 40, 40),
                )
        sheet.paste(im, ((i % columns) * thumb, (i // columns) * thumb))
    _save_png(Path(path), np.asarray(sheet))
