"""Which pixel spacing an image is measured with, and where it came from.

mammocad's order of precedence (:data:`mammocad.io.PIXEL_SPACING_SOURCES`): the
file's own tags (DICOM Pixel Spacing, else Imager Pixel Spacing corrected by the
Estimated Radiographic Magnification Factor), else the lesion table's
``pixel_spacing_mm``, else the ``--pixel-spacing`` option, else the dataset's
documented nominal value (the lesion table's ``nominal_pixel_spacing_mm``, e.g.
CBIS-DDSM's). Every journey that measures in millimetres reads its images here:
the spacing is settled from the file's header before any pixel is decoded, and
the :class:`~mammocad.io.Mammogram` it returns records the source
(``pixel_spacing_source``), which every output then carries.
"""

from __future__ import annotations

import os

from mammocad.errors import PixelSpacingError
from mammocad.io import (
    PIXEL_SPACING_RANGE_MM,
    Mammogram,
    choose_pixel_spacing,
    header_pixel_spacing,
    is_dicom_file,
    read_mammogram,
)

__all__ = ["SPACING_HINT", "resolve_pixel_spacing", "read_image"]

#: How a user gives a missing spacing (named in every error about it).
SPACING_HINT = (
    "give --pixel-spacing MM (the pixel edge in millimetres) or a pixel_spacing_mm column in the lesion table"
)


def _settle(
    path: str | os.PathLike[str],
    table_mm: float | None,
    option_mm: float | None,
    nominal_mm: float | None,
) -> tuple[tuple[float, str] | None, float | None]:
    """The chosen (spacing, source) or None, and the file's own value, believable or not (one header read)."""
    found = header_pixel_spacing(path, plausible_only=False)
    low, high = PIXEL_SPACING_RANGE_MM
    file_mm = found if found is not None and low <= found <= high else None
    try:
        chosen = choose_pixel_spacing(file_mm, table_mm=table_mm, option_mm=option_mm, nominal_mm=nominal_mm)
    except PixelSpacingError as exc:  # a value that is not a positive number: name the file too
        raise PixelSpacingError(f"{path}: {exc}") from None
    return chosen, found


def resolve_pixel_spacing(
    path: str | os.PathLike[str],
    *,
    table_mm: float | None = None,
    option_mm: float | None = None,
    nominal_mm: float | None = None,
) -> tuple[float, str]:
    """The spacing an image is measured with and its source, from its header (no pixels decoded).

    Parameters
    ----------
    path : path-like
        The image file.
    table_mm, option_mm, nominal_mm : float, optional
        The lesion table's ``pixel_spacing_mm``, the ``--pixel-spacing`` option and
        the dataset's nominal value; blank values (None, NaN) pass on.

    Returns
    -------
    (float, str)
        Millimetres, and one of ``"dicom"``, ``"table"``, ``"option"``, ``"nominal"``.

    Raises
    ------
    PixelSpacingError
        If no source gives a spacing, or the chosen one is not a positive number.
    ImageReadError
        If the file is missing or its DICOM header cannot be read.

    Examples
    --------
    >>> resolve_pixel_spacing("mdb001.png", option_mm=0.2)  # doctest: +SKIP
    (0.2, 'option')
    """
    chosen, found = _settle(path, table_mm, option_mm, nominal_mm)
    if chosen is not None:
        return chosen
    if found is not None:  # the file's own value is not believable: say so, not "none"
        low, high = PIXEL_SPACING_RANGE_MM
        raise PixelSpacingError(
            f"{path}: the file's pixel spacing {found:g} mm is outside the plausible range "
            f"{low:g}-{high:g} mm; {SPACING_HINT}"
        )
    kind = (
        "DICOM file carries no Pixel Spacing"
        if is_dicom_file(path)
        else "file format carries no pixel spacing"
    )
    raise PixelSpacingError(f"{path}: pixel spacing unknown (the {kind}); {SPACING_HINT}")


def read_image(
    path: str | os.PathLike[str],
    *,
    table_mm: float | None = None,
    option_mm: float | None = None,
    nominal_mm: float | None = None,
    view: str | None = None,
    required: bool = True,
) -> Mammogram:
    """Read an image with its pixel spacing settled first (:func:`resolve_pixel_spacing`).

    Parameters
    ----------
    required : bool
        If False, an image no source gives a spacing for is read without one (the
        viewer asks the user for it later) instead of being refused.

    Returns
    -------
    Mammogram
        With ``pixel_spacing_mm`` and ``pixel_spacing_source`` set (unless not
        ``required`` and unknown).

    Raises
    ------
    PixelSpacingError
        Before decoding, if the spacing is unknown (and ``required``).
    ImageReadError
        If the image cannot be read.
    """
    if required:
        chosen: tuple[float, str] | None = resolve_pixel_spacing(
            path, table_mm=table_mm, option_mm=option_mm, nominal_mm=nominal_mm
        )
    else:
        chosen, _ = _settle(path, table_mm, option_mm, nominal_mm)
    if chosen is None or chosen[1] == "dicom":
        return read_mammogram(path, view=view)
    return read_mammogram(path, pixel_spacing_mm=chosen[0], pixel_spacing_source=chosen[1], view=view)
