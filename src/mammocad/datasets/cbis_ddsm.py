"""CBIS-DDSM: the case-description tables and ROI masks as a lesion table.

CBIS-DDSM (Curated Breast Imaging Subset of DDSM, TCIA) publishes four CSV tables
(``calc_case_description_{train,test}_set.csv``, ``mass_case_description_...``),
one row per lesion, with the relative paths of the full mammogram, the cropped
ROI and the ROI mask DICOM files in TCIA's folder layout::

    Calc-Training_P_00005_RIGHT_CC/<study uid>/<series uid>/000000.dcm     full image
    Calc-Training_P_00005_RIGHT_CC_1/<study uid>/<series uid>/000000.dcm   ROI mask
    Calc-Training_P_00005_RIGHT_CC_1/<study uid>/<series uid>/000001.dcm   cropped ROI

Quirks of the published files handled here:

- some quoted path fields end in an embedded newline (stripped);
- the density column is ``breast density`` in the calc tables and
  ``breast_density`` in the mass tables (both become ``breast_density``);
- ``BENIGN_WITHOUT_CALLBACK`` is a benign lesion (``pathology`` = ``benign``; the
  original value is kept in ``cbis_pathology``);
- the "ROI mask" and "cropped image" paths are swapped in many rows (the mask is
  ``000001.dcm`` in some series, ``000000.dcm`` in others), so the mask is chosen
  by content: among the files of the ROI series, the *binary* image (two grey
  levels, up to lossy-compression noise), preferring one the size of the full
  mammogram;
- images downloaded with the current NBIA Data Retriever sit in a different
  folder tree under the same top folder (``Calc-Training_P_00005_RIGHT_CC/<date>-
  DDSM-NNNNN/1.000000-full mammogram images-NNNNN/1-1.dcm``); when the published
  path does not exist, the files under the top folder are searched (and PNG /
  JPEG files with the same path are accepted, as in common mirrors).

The lesion's ROI is derived from its mask: centre = centroid of the mask pixels,
radius = distance from that centre to the farthest mask pixel centre plus half a
pixel, i.e. the smallest circle about the centroid that encloses the whole
annotated region (like mini-MIAS radii, "a circle enclosing the abnormality").
Where no mask file is found the ROI is NaN and ``mask_path`` holds the published
path, so the table is still complete and the ROI can be filled in later.

``lesion_id`` is the ROI series folder name (``Calc-Training_P_00005_RIGHT_CC_1``),
unique across the four tables; ``patient_id`` is the table's ``patient_id``
(``P_00005``); ``split`` comes from the table (Training → ``train``, Test → ``test``).

Pixel spacing
-------------
CBIS-DDSM's DICOM files carry no Pixel Spacing (they are MATLAB secondary
captures of the decompressed DDSM scans), and the table has no spacing column,
so ``pixel_spacing_mm`` is left empty and ``nominal_pixel_spacing_mm`` holds
:data:`CBIS_DDSM_PIXEL_SPACING_MM`, which the pipeline uses only where neither
the file, the table nor ``--pixel-spacing`` gives a value (its source is then
recorded as ``"nominal"``). DDSM digitised its films on three scanners, per
volume: DBA M2100 ImageClear at 42 µm, Howtek 960 / MultiRad850 at 43.5 µm and
Lumisys 200 Laser at 50 µm (DDSM volume table, University of South Florida,
http://www.eng.usf.edu/cvprg/Mammography/Database.html; Heath et al., "The Digital
Database for Screening Mammography", IWDM 2000). Counting DDSM's cancer, benign
and benign-without-callback volumes, from which CBIS-DDSM was curated (Lee et al.,
"A curated mammography data set for use in computer-aided detection and diagnosis
research", Sci. Data 4, 170177, 2017), 97 cases were scanned at 42 µm, 966 at
43.5 µm and 862 at 50 µm: 43.5 µm is both the most common and the median value.
CBIS-DDSM does not say which scanner a film came from, so a length measured with
the nominal value may be off by -3.4 % (a 42 µm film) to +15 % (a 50 µm film);
give ``--pixel-spacing`` or a ``pixel_spacing_mm`` column where the scanner is
known.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mammocad.datasets.table import lesion_frame, read_csv_records
from mammocad.errors import DatasetError, ImageReadError

__all__ = ["load_cbis_ddsm", "roi_from_mask", "CBIS_COLUMNS", "CBIS_DDSM_PIXEL_SPACING_MM"]

#: Nominal pixel edge of a CBIS-DDSM film in mm: DDSM's most common (and median)
#: digitiser sampling, the Howtek scanners' 43.5 µm (see the module docstring).
CBIS_DDSM_PIXEL_SPACING_MM = 0.0435

#: Columns every CBIS-DDSM case-description table must have.
CBIS_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "left or right breast",
    "image view",
    "abnormality id",
    "abnormality type",
    "pathology",
    "image file path",
    "cropped image file path",
    "ROI mask file path",
)

_PATHOLOGY = {"MALIGNANT": "malignant", "BENIGN": "benign", "BENIGN_WITHOUT_CALLBACK": "benign"}
_ABNORMALITY = {"calcification": "calcification", "mass": "mass"}
# Metadata columns kept under a normalised name; both density spellings map to one.
_METADATA = {
    "breast density": "breast_density",
    "breast_density": "breast_density",
    "abnormality id": "abnormality_id",
    "calc type": "calc_type",
    "calc distribution": "calc_distribution",
    "mass shape": "mass_shape",
    "mass margins": "mass_margins",
    "assessment": "assessment",
    "subtlety": "subtlety",
}
_IMAGE_SUFFIXES = (".dcm", ".png", ".jpg", ".jpeg")


def roi_from_mask(mask: np.ndarray) -> tuple[float, float, float]:
    """Circle enclosing a lesion mask: ``(x, y, radius)`` in pixels.

    The centre is the centroid of the mask pixels; the radius is the distance
    from it to the farthest mask pixel centre plus half a pixel, so the circle
    covers every pixel of the mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (rows, cols)

    Returns
    -------
    tuple of float
        ``(x, y, radius)``; all NaN for an empty mask.
    """
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return (math.nan, math.nan, math.nan)
    y, x = float(rows.mean()), float(cols.mean())
    radius = float(np.sqrt(((rows - y) ** 2 + (cols - x) ** 2).max())) + 0.5
    return (x, y, radius)


def _split_of(table: Path, first_row_path: str) -> str:
    name = table.name.lower()
    if "train" in name:
        return "train"
    if "test" in name:
        return "test"
    head = first_row_path.split("-", 1)[-1].lower()
    return "train" if head.startswith("training") else "test" if head.startswith("test") else ""


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path``, resolved (links followed), lies under the (resolved) ``root``."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop, an unreadable folder
        return False


def _images_under(root: Path, folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file() and _inside(root, p)
    )


def _check_relative(rel: str, name: str, where: str) -> None:
    """Refuse a published path that is absolute or climbs out with ``..``."""
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts or "\x00" in rel:
        raise DatasetError(
            f"{where}: {name} {rel!r} leads outside the image root; CBIS-DDSM paths are relative to it"
        )


def _series_folder(root: Path, rel: str, where: str = "CBIS-DDSM table") -> Path | None:
    """The series folder of a published relative path; None for a path that would leave ``root``.

    Raises
    ------
    DatasetError
        If the folder exists but is a link leading outside ``root``.
    """
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return None
    series = root / parts[0]
    if series.exists() and not _inside(root, series):
        raise DatasetError(f"{where}: folder {parts[0]!r} is a link leading outside the image root")
    return series


def _existing(root: Path, candidate: Path, where: str) -> bool:
    """Whether ``candidate`` is a file, refusing one that resolves outside ``root``."""
    if not candidate.is_file():
        return False
    if not _inside(root, candidate):
        raise DatasetError(f"{where}: {candidate.relative_to(root)} is a link leading outside the image root")
    return True


def _find_image(root: Path, rel: str, where: str = "CBIS-DDSM table") -> Path | None:
    """The full mammogram of a published relative path, or None if not found."""
    series = _series_folder(root, rel, where)
    if series is None or not series.is_dir():
        return None  # every layout keeps the series folder: not downloaded
    direct = root / rel
    for candidate in (direct, *(direct.with_suffix(s) for s in _IMAGE_SUFFIXES[1:])):
        if _existing(root, candidate, where):
            return candidate
    files = _images_under(root, series)
    return files[0] if len(files) == 1 else None


def _image_shape(path: Path) -> tuple[int, int] | None:
    try:
        if path.suffix.lower() == ".dcm":
            import pydicom

            ds = pydicom.dcmread(path, stop_before_pixels=True)
            return int(ds.Rows), int(ds.Columns)
        from PIL import Image

        with Image.open(path) as im:
            return im.height, im.width
    except Exception:  # an unreadable header only means "shape unknown"
        return None


def _read_binary(path: Path) -> np.ndarray | None:
    """The file's pixels as a boolean mask if it has at most two grey levels."""
    from mammocad.io import read_mammogram

    try:
        pixels = read_mammogram(path).pixels
    except ImageReadError:
        return None
    lo, hi = float(pixels.min()), float(pixels.max())
    if hi == lo:
        return np.zeros(pixels.shape, dtype=bool)
    # Lossy mirrors (JPEG) blur a mask's two levels a little at its edges: accept an
    # image whose pixels lie, all but 0.5 %, within 5 % of the range from either level.
    margin = 0.05 * (hi - lo)
    between = (pixels > lo + margin) & (pixels < hi - margin)
    if between.mean() > 0.005:
        return None
    return pixels > (lo + hi) / 2


def _find_mask(
    root: Path, rels: Iterable[str], image_shape: tuple[int, int] | None, where: str
) -> tuple[Path, np.ndarray] | None:
    """The ROI mask among the published paths and their series folder."""
    candidates: dict[Path, None] = {}  # ordered set
    scanned: set[Path] = set()
    for rel in rels:
        series = _series_folder(root, rel, where)
        if series is None or not series.is_dir():
            continue
        direct = root / rel
        for candidate in (direct, *(direct.with_suffix(s) for s in _IMAGE_SUFFIXES[1:])):
            if _existing(root, candidate, where):
                candidates.setdefault(candidate)
        if series not in scanned:  # the mask and the cropped ROI share one series folder
            scanned.add(series)
            candidates.update(dict.fromkeys(_images_under(root, series)))
    binary: list[tuple[Path, np.ndarray]] = []
    for candidate in candidates:
        mask = _read_binary(candidate)
        if mask is None:
            continue  # the cropped ROI, a grey-level image
        if image_shape is None or mask.shape == image_shape:
            return candidate, mask
        binary.append((candidate, mask))
    return binary[0] if binary else None


def _clean(value: str) -> str:
    return value.strip().replace("\\", "/")


def load_cbis_ddsm(
    tables: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    image_root: str | os.PathLike[str],
) -> pd.DataFrame:
    """Lesion table of CBIS-DDSM from its case-description CSVs.

    Parameters
    ----------
    tables : path-like or iterable of path-likes
        One or more of the published ``*_case_description_*_set.csv`` files.
    image_root : path-like
        Folder under which the TCIA series folders (``Calc-Training_P_00005_RIGHT_CC``
        …) lie. Images need not be present: rows whose files are missing keep
        the published paths (under ``image_root``) and a NaN ROI.

    Returns
    -------
    DataFrame
        A lesion table (see :data:`~mammocad.datasets.LESION_COLUMNS`) with
        metadata columns ``nominal_pixel_spacing_mm``
        (:data:`CBIS_DDSM_PIXEL_SPACING_MM`), ``breast_density``, ``abnormality_id``, ``calc_type``,
        ``calc_distribution``, ``mass_shape``, ``mass_margins``, ``assessment``,
        ``subtlety``, ``cbis_pathology`` (the published value), ``cropped_path``,
        ``image_found`` and ``mask_found`` (booleans).

    Raises
    ------
    DatasetError
        If a table is missing, lacks a column, or has a malformed row (file and
        line named), or a lesion appears twice.

    Examples
    --------
    >>> import glob
    >>> table = load_cbis_ddsm(glob.glob("cbis/*_case_description_*.csv"), "cbis/images")  # doctest: +SKIP
    """
    paths = [Path(tables)] if isinstance(tables, (str, os.PathLike)) else [Path(t) for t in tables]
    if not paths:
        raise DatasetError("no CBIS-DDSM case-description table given")
    root = Path(image_root).expanduser().resolve()
    rows: list[dict[str, object]] = []
    seen: dict[str, str] = {}
    for table in paths:
        header, records = read_csv_records(table)
        missing = [c for c in CBIS_COLUMNS if c not in header]
        if missing:
            raise DatasetError(
                f"{table}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                "is this a CBIS-DDSM case-description table?"
            )
        split = _split_of(table, records[0][1]["image file path"] if records else "")
        for line, record in records:
            where = f"{table}: line {line}"
            rows.append(_lesion_row(record, where, root, split))
            lesion_id = str(rows[-1]["lesion_id"])
            if lesion_id in seen:
                raise DatasetError(f"{where}: lesion {lesion_id} already listed ({seen[lesion_id]})")
            seen[lesion_id] = where
    return lesion_frame(rows, source="CBIS-DDSM tables")


def _lesion_row(record: dict[str, str], where: str, root: Path, split: str) -> dict[str, object]:
    image_rel = _clean(record["image file path"])
    mask_rel = _clean(record["ROI mask file path"])
    crop_rel = _clean(record["cropped image file path"])
    for name, value in (("image file path", image_rel), ("ROI mask file path", mask_rel)):
        if not value:
            raise DatasetError(f"{where}: {name!r} is empty")
    for name, value in (
        ("image file path", image_rel),
        ("ROI mask file path", mask_rel),
        ("cropped image file path", crop_rel),
    ):
        _check_relative(value, repr(name), where)
    kind = record["abnormality type"].strip().lower()
    if kind not in _ABNORMALITY:
        raise DatasetError(
            f"{where}: unknown abnormality type {record['abnormality type']!r}; "
            "expected calcification or mass"
        )
    published = record["pathology"].strip().upper()
    if published not in _PATHOLOGY:
        raise DatasetError(
            f"{where}: unknown pathology {record['pathology']!r}; expected one of {', '.join(_PATHOLOGY)}"
        )
    side = record["left or right breast"].strip().upper()
    if side not in ("LEFT", "RIGHT"):
        raise DatasetError(f"{where}: 'left or right breast' must be LEFT or RIGHT, got {side!r}")

    image = _find_image(root, image_rel, where)
    shape = _image_shape(image) if image is not None else None
    found = _find_mask(root, [mask_rel, crop_rel], shape, where)
    x = y = radius = math.nan
    mask_path = str(root / mask_rel)
    if found is not None:
        mask_file, mask = found
        mask_path = str(mask_file)
        x, y, radius = roi_from_mask(mask)
        if shape is not None and mask.shape != shape and not math.isnan(x):
            # A mask on another grid than its image: map it by the ratio of the grids.
            fy, fx = shape[0] / mask.shape[0], shape[1] / mask.shape[1]
            x, y, radius = x * fx, y * fy, radius * max(fx, fy)
    row: dict[str, object] = {
        "lesion_id": Path(mask_rel).parts[0],
        "patient_id": record["patient_id"].strip(),
        "image_path": str(image if image is not None else root / image_rel),
        "laterality": side[0],
        "view": record["image view"].strip().upper(),
        "abnormality": _ABNORMALITY[kind],
        "x": x,
        "y": y,
        "radius": radius,
        "mask_path": mask_path,
        "pathology": _PATHOLOGY[published],
        "pixel_spacing_mm": math.nan,
        "split": split,
        "nominal_pixel_spacing_mm": CBIS_DDSM_PIXEL_SPACING_MM,
    }
    for name in dict.fromkeys(_METADATA.values()):
        row[name] = ""
    for column, name in _METADATA.items():
        if column in record:
            row[name] = record[column].strip()
    row["cbis_pathology"] = published
    row["cropped_path"] = str(root / crop_rel) if crop_rel else ""
    row["image_found"] = image is not None
    row["mask_found"] = found is not None
    return row
