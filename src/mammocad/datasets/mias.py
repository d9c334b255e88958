"""mini-MIAS: the MIAS MiniMammographic Database as a lesion table.

The database's ``Info.txt`` is its README and its annotation list in one file:
prose, then one row per abnormality::

    mdbNNN TISSUE CLASS [SEVERITY [X Y RADIUS]]

Conventions applied here (each from the file's own notes):

- Classes: ``CALC`` → ``calcification``; ``CIRC``, ``SPIC``, ``MISC`` → ``mass``;
  ``ARCH`` (architectural distortion) and ``ASYM`` (asymmetry) → ``other``;
  ``NORM`` films have no abnormality and give no lesion row. The original class
  is kept in the ``mias_class`` column, the background tissue (``F``, ``G``,
  ``D``) in ``tissue``.
- Severity ``B`` → ``benign``, ``M`` → ``malignant``.
- Coordinates: Info.txt's origin is the *bottom-left* corner with ``y`` up (note 3);
  the lesion table's is the top-left with ``y`` down, so ``y = 1024 - y_info``
  (every mini-MIAS film is 1024 × 1024). ``x`` and the radius are unchanged.
- Rows without coordinates — calcifications "widely distributed throughout the
  image" (``*NOTE 3*``, note 4) and the irregular ``mdb059`` row — are kept with
  a NaN ROI.
- A film with several rows gives several lesions, ``mdbNNN_1``, ``mdbNNN_2``…;
  a film with one row gives lesion ``mdbNNN``.
- Note 1: films come in pairs, one patient each, "the left (even filename
  numbers) and right mammograms (odd filename numbers)": mdb001 (right) and
  mdb002 (left) are patient ``mias_001``.
- Every film is a medio-lateral oblique view at 0.2 mm per pixel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mammocad.datasets.table import lesion_frame
from mammocad.errors import DatasetError
from mammocad.io import MIAS_PIXEL_SPACING_MM

__all__ = ["load_mias", "read_mias_info", "MIAS_CLASSES", "MIAS_IMAGE_SIZE"]

#: Info.txt class code → lesion-table abnormality (``None``: normal film, no lesion).
MIAS_CLASSES: dict[str, str | None] = {
    "CALC": "calcification",
    "CIRC": "mass",
    "SPIC": "mass",
    "MISC": "mass",
    "ARCH": "other",
    "ASYM": "other",
    "NORM": None,
}
#: Side of every mini-MIAS film, in pixels.
MIAS_IMAGE_SIZE = 1024

_SEVERITY = {"B": "benign", "M": "malignant"}
_TISSUES = ("F", "G", "D")
_ROW = re.compile(r"^(mdb\d{3})\b(.*)$")
_NOTE = re.compile(r"\*\s*NOTE\s*\d+\s*\*", re.IGNORECASE)


def read_mias_info(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Parse mini-MIAS ``Info.txt`` into one row per annotation line.

    Parameters
    ----------
    path : path-like
        The ``Info.txt`` file.

    Returns
    -------
    DataFrame
        Columns ``film`` (``mdbNNN``), ``line`` (1-based line in the file),
        ``tissue``, ``mias_class``, ``severity`` (``B``/``M``/``""``) and
        ``x_info``, ``y_info``, ``radius`` as in the file (NaN where absent),
        one row per annotation line including ``NORM`` films.

    Raises
    ------
    DatasetError
        For a row that does not follow the documented layout, naming the file
        and the line.
    """
    info = Path(path)
    try:
        text = info.read_text(encoding="latin-1")
    except OSError as exc:
        raise DatasetError(f"{info}: cannot read ({exc.strerror or exc})") from None
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _ROW.match(raw.strip())
        if match is None:
            continue  # the README prose before and after the list
        where = f"{info}: line {number}"
        film = match.group(1)
        rest = _NOTE.sub(" ", match.group(2))
        tokens = rest.split()
        if len(tokens) < 2:
            raise DatasetError(f"{where}: expected 'mdbNNN TISSUE CLASS ...', got {raw.strip()!r}")
        tissue, mias_class, *values = tokens
        if tissue not in _TISSUES:
            raise DatasetError(f"{where}: unknown background tissue {tissue!r}; expected F, G or D")
        if mias_class not in MIAS_CLASSES:
            raise DatasetError(
                f"{where}: unknown class {mias_class!r}; expected one of {', '.join(MIAS_CLASSES)}"
            )
        severity = ""
        if mias_class != "NORM":
            if not values or values[0] not in _SEVERITY:
                raise DatasetError(f"{where}: {mias_class} row without severity B or M: {raw.strip()!r}")
            severity = values.pop(0)
        coords = [float("nan")] * 3
        if values:
            if len(values) != 3:
                raise DatasetError(f"{where}: expected X Y RADIUS (three numbers), got {' '.join(values)!r}")
            try:
                coords = [float(int(v)) for v in values]
            except ValueError:
                raise DatasetError(
                    f"{where}: X Y RADIUS must be whole numbers, got {' '.join(values)!r}"
                ) from None
            x, y, radius = coords
            if not (0 <= x < MIAS_IMAGE_SIZE and 0 <= y < MIAS_IMAGE_SIZE and radius > 0):
                raise DatasetError(
                    f"{where}: ROI ({' '.join(values)}) outside the {MIAS_IMAGE_SIZE}-pixel film or radius ≤ 0"
                )
        rows.append(
            {
                "film": film,
                "line": number,
                "tissue": tissue,
                "mias_class": mias_class,
                "severity": severity,
                "x_info": coords[0],
                "y_info": coords[1],
                "radius": coords[2],
            }
        )
    if not rows:
        raise DatasetError(f"{info}: no 'mdbNNN ...' rows found; is this the mini-MIAS Info.txt?")
    return pd.DataFrame(rows)


def _find_info(directory: Path) -> Path:
    for name in ("Info.txt", "info.txt", "INFO.TXT"):
        if (directory / name).is_file():
            return directory / name
    raise DatasetError(f"{directory}: no Info.txt (the mini-MIAS annotation list) in this folder")


def _film_path(directory: Path, film: str) -> Path:
    for suffix in (".pgm", ".png", ".PGM", ".PNG"):
        candidate = directory / f"{film}{suffix}"
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{directory}: film {film} not found (expected {film}.pgm or {film}.png)")


def load_mias(
    directory: str | os.PathLike[str],
    *,
    abnormalities: tuple[str, ...] | None = None,
    with_roi: bool = False,
) -> pd.DataFrame:
    """Lesion table of the mini-MIAS database.

    Parameters
    ----------
    directory : path-like
        Folder holding ``Info.txt`` and the films ``mdbNNN.pgm`` (as distributed)
        or ``mdbNNN.png``.
    abnormalities : tuple of str, optional
        Keep only these abnormalities (e.g. ``("calcification", "mass")``, the
        lesions the paper studies); all by default.
    with_roi : bool
        Keep only lesions whose row gives a centre and radius.

    Returns
    -------
    DataFrame
        A lesion table (see :data:`~mammocad.datasets.LESION_COLUMNS`), one row per
        abnormality line of ``Info.txt`` (``NORM`` films give none), with metadata
        columns ``film``, ``tissue`` and ``mias_class``. ``image_path`` is
        absolute; ``split`` is empty (mini-MIAS has no official split).

    Raises
    ------
    DatasetError
        If ``Info.txt`` is missing or has a malformed row (file and line named),
        or a film with an abnormality has no image file.

    Examples
    --------
    >>> table = load_mias("data/mias")  # doctest: +SKIP
    >>> table.loc[0, ["lesion_id", "patient_id", "x", "y", "radius"]].tolist()  # doctest: +SKIP
    ['mdb001', 'mias_001', 535.0, 599.0, 197.0]
    """
    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    info_path = _find_info(root)
    info = read_mias_info(info_path)
    lesions = info[info["mias_class"] != "NORM"]
    per_film = lesions.groupby("film")["film"].transform("size")
    order = lesions.groupby("film").cumcount() + 1
    rows = []
    for (_, row), count, index in zip(lesions.iterrows(), per_film, order, strict=True):
        film = str(row["film"])
        number = int(film[3:])
        rows.append(
            {
                "lesion_id": film if count == 1 else f"{film}_{index}",
                "patient_id": f"mias_{(number + 1) // 2:03d}",
                "image_path": str(_film_path(root, film)),
                "laterality": "L" if number % 2 == 0 else "R",
                "view": "MLO",
                "abnormality": MIAS_CLASSES[str(row["mias_class"])],
                "x": row["x_info"],
                "y": MIAS_IMAGE_SIZE - row["y_info"],
                "radius": row["radius"],
                "mask_path": "",
                "pathology": _SEVERITY[str(row["severity"])],
                "pixel_spacing_mm": MIAS_PIXEL_SPACING_MM,
                "split": "",
                "film": film,
                "tissue": row["tissue"],
                "mias_class": row["mias_class"],
            }
        )
    table = lesion_frame(rows, source=str(info_path))
    keep = np.ones(len(table), dtype=bool)
    if abnormalities is not None:
        known = sorted({value for value in MIAS_CLASSES.values() if value})
        unknown = sorted(set(abnormalities) - set(known))
        if unknown:
            raise DatasetError(f"unknown abnormality {unknown[0]!r}; expected one of {', '.join(known)}")
        keep &= table["abnormality"].isin(abnormalities).to_numpy()
    if with_roi:
        keep &= np.isfinite(table["radius"].to_numpy(dtype=float))
    return table[keep].reset_index(drop=True)
