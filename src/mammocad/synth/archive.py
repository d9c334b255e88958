"""A synthetic CBIS-DDSM: TCIA's folder layout, DICOM files and case-description tables.

:func:`make_tcia_archive` writes what a CBIS-DDSM download looks like, with
synthetic films (:func:`~mammocad.synth.make_case`) instead of the real ones, so
that the whole CBIS-DDSM path (``mammocad manifest cbis-ddsm`` → ``features`` →
``reproduce``) can be run and timed at archive scale on any machine::

    <out>/images/Mass-Training_P_00001_LEFT_CC/<study uid>/<series uid>/000000.dcm    full film
    <out>/images/Mass-Training_P_00001_LEFT_CC_1/<study uid>/<series uid>/000000.dcm  ROI mask
    <out>/images/Mass-Training_P_00001_LEFT_CC_1/<study uid>/<series uid>/000001.dcm  cropped ROI
    <out>/mass_case_description_train_set.csv (and the other three tables)

As in the real collection:

- full films are 16-bit MONOCHROME2 Secondary Capture DICOM, RLE Lossless, about
  4600 x 2600 pixels at 0.05 mm (here: drawn at 0.2 mm on a 1152-pixel square,
  cropped to the breast and interpolated four times), with no Pixel Spacing tag;
- each lesion has an ROI series with a full-size 8-bit binary mask (0/255) and a
  cropped 16-bit image of the lesion, both RLE; which of ``000000.dcm`` /
  ``000001.dcm`` is the mask varies, and the table names the two the wrong way
  round in about a fifth of the rows;
- the calcification tables spell the density column ``breast density``, the mass
  tables ``breast_density``; one path column per table ends in an embedded
  newline (the calc tables' cropped path, the mass tables' mask path);
- pathology is ``MALIGNANT``, ``BENIGN`` or ``BENIGN_WITHOUT_CALLBACK``; most films
  carry one lesion, some two or three of the same kind (abnormality ids 1, 2, 3);
- the split is by patient (about 80 % Training, 20 % Test).

The films are drawn, not sampled from real ones: their grey-level statistics and
lesion appearance are :mod:`mammocad.synth`'s, not DDSM's, so the archive is for
throughput, layout and robustness, not for accuracy figures. Everything follows
from ``seed``; a rerun with the same arguments writes only the films an earlier
run did not finish (each file is written atomically, the film last).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammocad._fileio import atomic_path
from mammocad.errors import SynthesisError

__all__ = ["ArchiveFilm", "plan_tcia_archive", "make_tcia_archive", "write_tcia_dicom", "CBIS_TABLE_COLUMNS"]

#: Columns of the published tables, in order, by abnormality kind.
CBIS_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "calcification": (
        "patient_id", "breast density", "left or right breast", "image view", "abnormality id",
        "abnormality type", "calc type", "calc distribution", "assessment", "pathology", "subtlety",
        "image file path", "cropped image file path", "ROI mask file path",
    ),
    "mass": (
        "patient_id", "breast_density", "left or right breast", "image view", "abnormality id",
        "abnormality type", "mass shape", "mass margins", "assessment", "pathology", "subtlety",
        "image file path", "cropped image file path", "ROI mask file path",
    ),
}  # fmt: skip
_PREFIX = {"calcification": "Calc", "mass": "Mass"}
_TABLE = {"calcification": "calc", "mass": "mass"}
_SPLIT = {"train": ("Training", "train"), "test": ("Test", "test")}
# Descriptor values as spelled in the published tables (a few of each).
_CALC_TYPE = ("PLEOMORPHIC", "AMORPHOUS", "PUNCTATE", "LUCENT_CENTER", "FINE_LINEAR_BRANCHING")
_CALC_DISTRIBUTION = ("CLUSTERED", "SEGMENTAL", "REGIONAL", "LINEAR", "N/A")
_MASS_SHAPE = ("IRREGULAR", "OVAL", "LOBULATED", "ROUND")
_MASS_MARGINS = ("CIRCUMSCRIBED", "SPICULATED", "ILL_DEFINED", "OBSCURED", "MICROLOBULATED")
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's root for generated UIDs

#: Drawing grid: 1152 pixels of 0.2 mm (23 cm, a 24 x 30 cm film's long side),
#: interpolated four times to 0.05 mm.
RENDER_SIZE = 1152
RENDER_SPACING_MM = 0.2
UPSAMPLE = 4


@dataclass(frozen=True)
class ArchiveFilm:
    """One full film of the archive and the lesions drawn on it (all from the plan).

    ``lesion_series`` holds, per lesion: its ROI series folder, study and series
    UIDs, whether the mask is ``000000.dcm`` (else ``000001.dcm``), and whether the
    table names the mask and the cropped image the wrong way round.
    """

    patient_id: str
    split: str
    kind: str
    laterality: str
    view: str
    pathologies: tuple[str, ...]
    seed: int
    folder: str
    study_uid: str
    series_uid: str
    lesion_series: tuple[tuple[str, str, str, bool, bool], ...] = field(default=())
    density: int = 2

    @property
    def image_rel(self) -> str:
        return f"{self.folder}/{self.study_uid}/{self.series_uid}/000000.dcm"


def _uid(seed: int, *parts: object) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(prefix=_UID_ROOT, entropy_srcs=[str(seed), *map(str, parts)]))


def plan_tcia_archive(n_lesions: int, *, seed: int = 0) -> list[ArchiveFilm]:
    """The films (and lesions) an archive of ``n_lesions`` holds, without drawing any.

    Patients get one to four films (sides x views); each film is a calcification
    or a mass film with one lesion (85 %), two (10 %) or three (5 %), like
    CBIS-DDSM's ~1.15 lesions per film.

    Raises
    ------
    SynthesisError
        If ``n_lesions`` is not a positive whole number.
    """
    if isinstance(n_lesions, bool) or not isinstance(n_lesions, int) or n_lesions < 1:
        raise SynthesisError(f"n_lesions must be a whole number ≥ 1, got {n_lesions!r}")
    rng = np.random.default_rng(seed)
    films: list[ArchiveFilm] = []
    total, patient = 0, 0
    while total < n_lesions:
        patient += 1
        pid = f"P_{patient:05d}"
        split = "test" if rng.random() < 0.2 else "train"
        kind = "calcification" if rng.random() < 0.55 else "mass"
        views = [(side, view) for side in ("LEFT", "RIGHT") for view in ("CC", "MLO")]
        n_films = int(rng.integers(1, 5))
        for index in sorted(rng.choice(len(views), size=n_films, replace=False)):
            if total >= n_lesions:
                break
            side, view = views[int(index)]
            count = min(int(rng.choice([1, 2, 3], p=[0.85, 0.10, 0.05])), n_lesions - total)
            # One appearance per film (make_case draws all its lesions alike).
            malignant = bool(rng.random() < 0.4)
            pathologies = tuple(
                "MALIGNANT"
                if malignant
                else str(rng.choice(["BENIGN", "BENIGN_WITHOUT_CALLBACK"], p=[0.67, 0.33]))
                for _ in range(count)
            )
            folder = f"{_PREFIX[kind]}-{_SPLIT[split][0]}_{pid}_{side}_{view}"
            lesion_series = tuple(
                (
                    f"{folder}_{k}",
                    _uid(seed, folder, k, "study"),
                    _uid(seed, folder, k, "series"),
                    bool(rng.random() < 0.7),
                    bool(rng.random() < 0.2),
                )
                for k in range(1, count + 1)
            )
            films.append(
                ArchiveFilm(
                    patient_id=pid,
                    split=split,
                    kind=kind,
                    laterality=side[0],
                    view=view,
                    pathologies=pathologies,
                    seed=int(rng.integers(0, 2**31 - 1)),
                    folder=folder,
                    study_uid=_uid(seed, folder, "study"),
                    series_uid=_uid(seed, folder, "series"),
                    lesion_series=lesion_series,
                    density=int(rng.integers(1, 5)),
                )
            )
            total += count
    return films


def write_tcia_dicom(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    series_description: str,
    laterality: str | None = None,
    view: str | None = None,
    instance: int = 1,
) -> Path:
    """Write one image as CBIS-DDSM does: Secondary Capture, MONOCHROME2, RLE Lossless, no spacing.

    Parameters
    ----------
    path : path-like
        File to write (atomically); its folders are made.
    pixels : ndarray of uint8 or uint16, shape (rows, cols)
    patient_id : str
        Patient ID and Patient's Name (CBIS-DDSM puts the series folder name there).
    study_uid, series_uid : str
    series_description : str
        ``"full mammogram images"``, ``"ROI mask images"`` or ``"cropped images"``.
    laterality, view : str, optional
        Laterality (``"L"``/``"R"``) and Patient Orientation (``"CC"``/``"MLO"``).
    instance : int
        Instance Number.

    Returns
    -------
    Path
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless

    if pixels.ndim != 2 or pixels.dtype not in (np.uint8, np.uint16):
        raise SynthesisError(
            f"{path}: expected a 2-D uint8 or uint16 image, got {pixels.dtype} {pixels.shape}"
        )
    sop_uid = UID(_uid(0, study_uid, series_uid, instance))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(_SECONDARY_CAPTURE)
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = _SECONDARY_CAPTURE
    ds.SOPInstanceUID = sop_uid
    ds.Modality = "MG"
    ds.ConversionType = "WSD"
    ds.SeriesDescription = series_description
    ds.PatientName = patient_id
    ds.PatientID = patient_id
    ds.BodyPartExamined = "BREAST"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "DDSM"
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    if view is not None:
        ds.PatientOrientation = view
    if laterality is not None:
        ds.Laterality = laterality
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in pixels.shape)
    bits = 8 * pixels.dtype.itemsize
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.compress(RLELossless, np.ascontiguousarray(pixels), encoding_plugin=_rle_plugin())
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return target


def _rle_plugin() -> str:
    """pylibjpeg-rle where installed (ten times faster than pydicom's own encoder)."""
    from pydicom.pixels.encoders import RLELosslessEncoder

    return "pylibjpeg" if "pylibjpeg" in RLELosslessEncoder.available_plugins else "pydicom"


def _grain(rng: np.random.Generator, shape: tuple[int, int], tile: int = 509) -> np.ndarray:
    """Film grain: a random tile of unit noise, rolled and repeated over the film (cheap)."""
    noise = rng.standard_normal((tile, tile), dtype=np.float32)
    reps = (-(-shape[0] // tile), -(-shape[1] // tile))
    grain = np.tile(noise, reps)
    return np.roll(grain, (int(rng.integers(tile)), int(rng.integers(tile))), axis=(0, 1))[
        : shape[0], : shape[1]
    ]


def _write_film(task: tuple[ArchiveFilm, str, int, float, int]) -> str:
    """Draw one film and write its full image, masks and crops (a worker task)."""
    from scipy import ndimage as ndi

    from mammocad.synth.case import make_case

    film, image_root, render_size, render_spacing_mm, upsample = task
    root = Path(image_root)
    target = root / film.image_rel
    if target.is_file():
        return film.folder  # finished by an earlier run
    pathology = "malignant" if film.pathologies[0] == "MALIGNANT" else "benign"
    case = make_case(
        film.seed,
        lesion_kinds=[film.kind] * len(film.pathologies),
        pathology=pathology,
        size=render_size,
        pixel_spacing_mm=render_spacing_mm,
        view=film.view,
        laterality=film.laterality,
        density=(film.density - 0.5) / 4.0,
        case_id=film.folder,
    )
    # Crop to the breast plus a margin of background, as a film digitiser framed it.
    cols = np.flatnonzero(case.breast_mask.any(axis=0))
    margin = render_size // 20
    c0, c1 = max(int(cols.min()) - margin, 0), min(int(cols.max()) + margin + 1, render_size)
    small = case.mammogram.pixels[:, c0:c1].astype(np.float32)
    big = ndi.zoom(small, upsample, order=1, grid_mode=True, mode="nearest")
    rng = np.random.default_rng(film.seed)
    big = big * 200.0 + 400.0 + _grain(rng, big.shape) * 60.0
    pixels = np.clip(np.rint(big), 0, 65535).astype(np.uint16)
    block = np.ones((upsample, upsample), dtype=np.uint8)
    for lesion, (folder, study, series, mask_first, _) in zip(case.lesions, film.lesion_series, strict=True):
        mask = np.kron(lesion.mask[:, c0:c1].astype(np.uint8), block) * np.uint8(255)
        rr, cc = np.nonzero(mask)
        pad = 25 * upsample
        r0, r1 = max(int(rr.min()) - pad, 0), min(int(rr.max()) + pad + 1, mask.shape[0])
        q0, q1 = max(int(cc.min()) - pad, 0), min(int(cc.max()) + pad + 1, mask.shape[1])
        names = ("000000.dcm", "000001.dcm") if mask_first else ("000001.dcm", "000000.dcm")
        common = {"patient_id": folder, "study_uid": study, "series_uid": series}
        write_tcia_dicom(
            root / folder / study / series / names[0], mask, series_description="ROI mask images",
            instance=1 if mask_first else 2, **common,
        )  # fmt: skip
        write_tcia_dicom(
            root / folder / study / series / names[1], pixels[r0:r1, q0:q1], series_description="cropped images",
            instance=2 if mask_first else 1, **common,
        )  # fmt: skip
    write_tcia_dicom(
        target,
        pixels,
        patient_id=film.folder,
        study_uid=film.study_uid,
        series_uid=film.series_uid,
        series_description="full mammogram images",
        laterality=film.laterality,
        view=film.view,
    )
    return film.folder


def _rows(films: list[ArchiveFilm], seed: int) -> dict[tuple[str, str], list[dict[str, str]]]:
    """The table rows of every lesion, by (kind, split), in the published order."""
    rng = np.random.default_rng([seed, 1])
    tables: dict[tuple[str, str], list[dict[str, str]]] = {}
    for film in films:
        for k, (pathology, (folder, study, series, mask_first, swapped)) in enumerate(
            zip(film.pathologies, film.lesion_series, strict=True), start=1
        ):
            mask_name, crop_name = (
                ("000000.dcm", "000001.dcm") if mask_first else ("000001.dcm", "000000.dcm")
            )
            mask_rel, crop_rel = (
                f"{folder}/{study}/{series}/{mask_name}",
                f"{folder}/{study}/{series}/{crop_name}",
            )
            if swapped:  # the quirk: the table names the cropped image as the mask and vice versa
                mask_rel, crop_rel = crop_rel, mask_rel
            if film.kind == "calcification":
                crop_rel += "\n"
                descriptors = {"calc type": str(rng.choice(_CALC_TYPE)),
                               "calc distribution": str(rng.choice(_CALC_DISTRIBUTION))}  # fmt: skip
                density = {"breast density": str(film.density)}
            else:
                mask_rel += "\n"
                descriptors = {"mass shape": str(rng.choice(_MASS_SHAPE)),
                               "mass margins": str(rng.choice(_MASS_MARGINS))}  # fmt: skip
                density = {"breast_density": str(film.density)}
            malignant = pathology == "MALIGNANT"
            row = {
                "patient_id": film.patient_id,
                **density,
                "left or right breast": "LEFT" if film.laterality == "L" else "RIGHT",
                "image view": film.view,
                "abnormality id": str(k),
                "abnormality type": film.kind,
                **descriptors,
                "assessment": str(int(rng.integers(4, 6) if malignant else rng.integers(2, 5))),
                "pathology": pathology,
                "subtlety": str(int(rng.integers(1, 6))),
                "image file path": film.image_rel,
                "cropped image file path": crop_rel,
                "ROI mask file path": mask_rel,
            }
            tables.setdefault((film.kind, film.split), []).append(row)
    return tables


@dataclass(frozen=True)
class TciaArchive:
    """What :func:`make_tcia_archive` wrote."""

    root: Path
    image_root: Path
    tables: tuple[Path, ...]
    films: int
    lesions: int


def make_tcia_archive(
    out: str | os.PathLike[str],
    n_lesions: int = 1000,
    *,
    seed: int = 0,
    workers: int = 1,
    render_size: int = RENDER_SIZE,
    render_spacing_mm: float = RENDER_SPACING_MM,
    upsample: int = UPSAMPLE,
    progress: bool = False,
) -> TciaArchive:
    """Write a synthetic CBIS-DDSM of ``n_lesions`` lesions: TCIA layout, DICOM files, four tables.

    Parameters
    ----------
    out : path-like
        Folder to write: ``images/`` (the TCIA series folders) and the four
        ``{calc,mass}_case_description_{train,test}_set.csv`` tables.
    n_lesions : int
        Lesions in all (the real CBIS-DDSM has 3,568).
    seed : int
        Seed of everything: the plan, every film, the table values.
    workers : int
        Processes drawing films at once.
    render_size, render_spacing_mm, upsample : int, float, int
        Drawing grid (side in pixels, pixel edge in mm) and interpolation factor
        of the films; the defaults give CBIS-DDSM's ~12-MP, 0.05-mm films, a
        smaller ``render_size`` and ``upsample`` quick ones for tests.
    progress : bool
        Show a progress bar (one step per film).

    Returns
    -------
    TciaArchive

    Raises
    ------
    SynthesisError
        If an argument is out of range.

    Examples
    --------
    >>> archive = make_tcia_archive("cbis-synthetic", 1000, seed=0, workers=2)  # doctest: +SKIP
    >>> [p.name for p in archive.tables]  # doctest: +SKIP
    ['calc_case_description_test_set.csv', ..., 'mass_case_description_train_set.csv']
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SynthesisError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if not (isinstance(upsample, int) and 1 <= upsample <= 8):
        raise SynthesisError(f"upsample must be a whole number from 1 to 8, got {upsample!r}")
    films = plan_tcia_archive(n_lesions, seed=seed)
    root = Path(out)
    image_root = root / "images"
    image_root.mkdir(parents=True, exist_ok=True)
    tasks = [(film, str(image_root), int(render_size), float(render_spacing_mm), upsample) for film in films]
    for _ in _run(_write_film, tasks, workers, progress):
        pass
    written = []
    tables = _rows(films, seed)
    for kind, split in sorted((k, s) for k in _TABLE for s in _SPLIT):  # all four, even if empty
        rows = tables.get((kind, split), [])
        path = root / f"{_TABLE[kind]}_case_description_{_SPLIT[split][1]}_set.csv"
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(CBIS_TABLE_COLUMNS[kind]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return TciaArchive(root, image_root, tuple(written), len(films), sum(len(f.pathologies) for f in films))


def _run(func: Callable[[Any], str], tasks: list[Any], workers: int, progress: bool) -> Iterator[str]:
    from tqdm.auto import tqdm

    with tqdm(total=len(tasks), desc="films", unit="film", disable=not progress) as bar:
        if workers == 1:
            for task in tasks:
                yield func(task)
                bar.update(1)
            return
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(func, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
                bar.update(1)
