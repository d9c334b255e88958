"""Read mammograms and bring them to the paper's convention.

One value, :class:`Mammogram`, travels from here to every later stage: the pixels,
the pixel spacing in millimetres where it is known, laterality and view where the
file says so, and the path it came from. :func:`read_mammogram` reads DICOM (with
the modality and VOI transforms a viewer would apply), PGM, PNG, TIFF and JPEG;
:func:`normalise` resamples to the paper's 1024-pixel, 8-bit convention and keeps
the scale factor so that later stages can report physical units and map regions
of interest between the two grids. :class:`ROI` is the circular region of interest
that segmentation, features and the viewer share.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mammocad.errors import ImageReadError, PixelSpacingError, ROIError

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset

__all__ = [
    "Mammogram",
    "ROI",
    "read_mammogram",
    "read_dicom_header",
    "read_mask",
    "normalise",
    "to_uint8",
    "SUPPORTED_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "MIN_IMAGE_SIDE",
    "PIXEL_SPACING_RANGE_MM",
    "pixel_limit",
    "check_pixel_spacing",
    "PIXEL_SPACING_SOURCES",
    "header_pixel_spacing",
    "is_dicom_file",
    "choose_pixel_spacing",
]

DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
RASTER_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
PGM_SUFFIXES = (".pgm",)
SUPPORTED_SUFFIXES = DICOM_SUFFIXES + PGM_SUFFIXES + RASTER_SUFFIXES

#: Pixel edge of the mini-MIAS films, in millimetres.
MIAS_PIXEL_SPACING_MM = 0.2

#: Largest image :func:`read_mammogram` decodes by default, in pixels (rows x columns x
#: frames): 64 MP, five times a full-field digital mammogram. Checked from the file's
#: header before any pixel is decoded.
DEFAULT_MAX_PIXELS = 64_000_000
#: Environment variable that sets another limit (a whole number of pixels).
MAX_PIXELS_ENV = "MAMMOCAD_MAX_PIXELS"
#: Smallest side, in pixels, of an image :func:`normalise` brings to the analysis grid.
MIN_IMAGE_SIDE = 32
#: Plausible pixel edge of a mammogram, in millimetres (from 10 micrometres to 1 mm).
PIXEL_SPACING_RANGE_MM = (0.01, 1.0)
#: Most bytes of a deflated DICOM data set read before its pixel data (its header).
_MAX_DICOM_HEADER_BYTES = 16 * 2**20


def pixel_limit() -> int:
    """The pixel limit in force: ``$MAMMOCAD_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`.

    Raises
    ------
    ImageReadError
        If the environment variable is set but is not a positive whole number.
    """
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ImageReadError(f"{MAX_PIXELS_ENV}={text!r}: expected a positive whole number of pixels")
    return value


def check_pixel_spacing(value: object, *, where: str = "pixel spacing") -> float:
    """Return ``value`` as a float if it is a plausible pixel edge in millimetres.

    Parameters
    ----------
    value : float
        The pixel spacing, in millimetres.
    where : str
        How the error names the value: an option, a file, a table row
        (``"--pixel-spacing"``, ``"lesions.csv: line 3: pixel_spacing_mm"``).

    Raises
    ------
    ImageReadError
        If ``value`` is not a finite number within :data:`PIXEL_SPACING_RANGE_MM`.

    Examples
    --------
    >>> check_pixel_spacing(0.2)
    0.2
    """
    low, high = PIXEL_SPACING_RANGE_MM
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImageReadError(f"{where}: expected a number of millimetres, got {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ImageReadError(
            f"{where}: {number:g} mm is outside the plausible range of pixel spacings, {low:g}-{high:g} mm"
        )
    return number


def _plausible_spacing(value: float) -> bool:
    return PIXEL_SPACING_RANGE_MM[0] <= value <= PIXEL_SPACING_RANGE_MM[1]


def _check_pixel_count(path: Path, rows: int, cols: int, frames: int, limit: int) -> None:
    """Refuse an image before decoding it if it is empty or larger than ``limit`` pixels."""
    if rows <= 0 or cols <= 0 or frames <= 0:
        raise ImageReadError(f"{path}: image has no pixels ({cols}x{rows}, {frames} frame(s))")
    count = rows * cols * frames
    if count > limit:
        frames_text = f" x {frames} frames" if frames != 1 else ""
        raise ImageReadError(
            f"{path}: image of {cols}x{rows}{frames_text} pixels ({count / 1e6:.1f} MP) is larger than the "
            f"limit of {limit / 1e6:g} MP; set {MAX_PIXELS_ENV} to a larger number of pixels to read it"
        )


#: Where a pixel spacing came from, in order of precedence: the file's own tags, the
#: lesion table's ``pixel_spacing_mm``, the ``--pixel-spacing`` option (or the
#: ``pixel_spacing_mm`` argument of the API), the dataset's documented nominal value.
PIXEL_SPACING_SOURCES: tuple[str, ...] = ("dicom", "table", "option", "nominal")


@dataclass(frozen=True, eq=False)
class Mammogram:
    """A single mammographic image and what is known about it.

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols)
        Grey values, brighter = more attenuating (MONOCHROME2). ``uint8`` or
        ``uint16`` for raster files, ``float32`` for DICOM after its modality and
        VOI transforms.
    pixel_spacing_mm : float or None
        Edge of one (square) pixel in millimetres; ``None`` where unknown.
    laterality : {"L", "R"} or None
        Which breast, where known.
    view : str or None
        Projection, e.g. ``"CC"`` or ``"MLO"``, where known.
    source : str or None
        Path of the file the pixels came from.
    scale : float
        Size of the source grid in units of this grid: a point ``(x, y)`` of the
        source image is at ``(x * scale, y * scale)`` here. 1 for an image as read.
    pixel_spacing_source : {"dicom", "table", "option", "nominal"} or None
        Where ``pixel_spacing_mm`` came from (:data:`PIXEL_SPACING_SOURCES`):
        the file's tags, the lesion table, a value the user gave, or the dataset's
        documented nominal value; ``None`` where the spacing is unknown or was set
        by the code that built the value.
    """

    pixels: np.ndarray
    pixel_spacing_mm: float | None = None
    laterality: str | None = None
    view: str | None = None
    source: str | None = None
    scale: float = 1.0
    pixel_spacing_source: str | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2:
            raise ImageReadError(
                f"{self.source or 'image'}: expected a 2-D greyscale image, "
                f"got an array of shape {self.pixels.shape}"
            )
        if self.pixel_spacing_source is not None and self.pixel_spacing_source not in PIXEL_SPACING_SOURCES:
            raise ImageReadError(
                f"{self.source or 'image'}: pixel_spacing_source must be one of "
                f"{', '.join(PIXEL_SPACING_SOURCES)} or None, got {self.pixel_spacing_source!r}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the pixel grid."""
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    def replace(self, **changes: object) -> Mammogram:
        """Return a copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ROI:
    """A circular region of interest in image pixel coordinates.

    The origin is the top-left pixel centre, ``x`` grows to the right (columns)
    and ``y`` downwards (rows).

    Parameters
    ----------
    x, y : float
        Centre, in pixels.
    radius : float
        Radius, in pixels; must be positive.

    Raises
    ------
    ROIError
        If a value is not finite or the radius is not positive.
    """

    x: float
    y: float
    radius: float

    def __post_init__(self) -> None:
        for name in ("x", "y", "radius"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
                raise ROIError(f"ROI {name} must be a finite number, got {value!r}")
        if self.radius <= 0:
            raise ROIError(f"ROI radius must be > 0 pixels, got {self.radius}")

    @classmethod
    def parse(cls, text: str) -> ROI:
        """Parse ``"X,Y,R"`` as written on the command line.

        Examples
        --------
        >>> ROI.parse("512,300,40")
        ROI(x=512.0, y=300.0, radius=40.0)
        """
        parts = [p.strip() for p in str(text).split(",")]
        if len(parts) != 3:
            raise ROIError(f"ROI must be X,Y,R (three numbers), got {text!r}")
        try:
            x, y, r = (float(p) for p in parts)
        except ValueError:
            raise ROIError(f"ROI must be X,Y,R (three numbers), got {text!r}") from None
        return cls(x, y, r)

    def scaled(self, factor: float) -> ROI:
        """The same region on a grid ``factor`` times finer."""
        return ROI(self.x * factor, self.y * factor, self.radius * factor)

    def bbox(self, shape: tuple[int, ...], margin: float = 0.0) -> tuple[slice, slice]:
        """Row and column slices of the ROI's bounding square, clipped to ``shape``.

        Raises
        ------
        ROIError
            If the ROI (plus ``margin``) does not overlap an image of ``shape``.
        """
        rows, cols = int(shape[0]), int(shape[1])
        reach = self.radius + margin
        r0 = max(int(math.floor(self.y - reach)), 0)
        r1 = min(int(math.ceil(self.y + reach)) + 1, rows)
        c0 = max(int(math.floor(self.x - reach)), 0)
        c1 = min(int(math.ceil(self.x + reach)) + 1, cols)
        if r0 >= r1 or c0 >= c1 or not self.overlaps(shape):
            raise ROIError(
                f"ROI centre ({self.x:g}, {self.y:g}) radius {self.radius:g} lies wholly "
                f"outside the {cols}x{rows} image"
            )
        return slice(r0, r1), slice(c0, c1)

    def check_size(self, shape: tuple[int, ...]) -> ROI:
        """Return the ROI if its radius does not exceed the diagonal of an image of ``shape``.

        A larger circle holds the whole image many times over: it is a typing slip
        (``1e7`` for ``100``), and would make the work drawn around it unbounded.

        Raises
        ------
        ROIError
            If the radius exceeds the image diagonal.
        """
        rows, cols = int(shape[0]), int(shape[1])
        diagonal = math.hypot(rows, cols)
        if self.radius > diagonal:
            raise ROIError(
                f"ROI radius {self.radius:g} pixels exceeds the diagonal of the {cols}x{rows} image "
                f"({diagonal:.0f} pixels)"
            )
        return self

    def overlaps(self, shape: tuple[int, ...]) -> bool:
        """Whether any pixel centre of an image of ``shape`` lies in the disc."""
        rows, cols = int(shape[0]), int(shape[1])
        r0 = max(math.floor(self.y - self.radius) - 1, 0)
        r1 = min(math.ceil(self.y + self.radius) + 2, rows)
        c0 = max(math.floor(self.x - self.radius) - 1, 0)
        c1 = min(math.ceil(self.x + self.radius) + 2, cols)
        if r0 >= r1 or c0 >= c1:
            return False
        # The same arithmetic as mask(), on the window that can hold the disc, so the
        # two never disagree at round-off.
        return bool(self._disc(range(r0, r1), range(c0, c1)).any())

    def _disc(self, rows: range, cols: range) -> np.ndarray:
        yy = np.arange(rows.start, rows.stop, dtype=np.float64)[:, None]
        xx = np.arange(cols.start, cols.stop, dtype=np.float64)[None, :]
        return (xx - self.x) ** 2 + (yy - self.y) ** 2 <= self.radius**2

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Boolean disc of this ROI on an image of ``shape`` (empty if outside)."""
        return self._disc(range(int(shape[0])), range(int(shape[1])))


def read_mammogram(
    path: str | os.PathLike[str],
    *,
    pixel_spacing_mm: float | None = None,
    laterality: str | None = None,
    view: str | None = None,
    max_pixels: int | None = None,
    pixel_spacing_source: str = "option",
) -> Mammogram:
    """Read a mammogram from a DICOM, PGM, PNG, TIFF or JPEG file.

    DICOM pixels go through the modality LUT (rescale slope/intercept) and the
    first VOI LUT or window in the file, and MONOCHROME1 images are inverted so
    that dense tissue is bright; a file that defines neither transform keeps its
    stored integers. The pixel spacing is taken from the file where it says
    (:func:`header_pixel_spacing`: Pixel Spacing, else Imager Pixel Spacing
    divided by the Estimated Radiographic Magnification Factor), else from
    ``pixel_spacing_mm``; ``pixel_spacing_source`` of the result says which.

    Parameters
    ----------
    path : path-like
        The image file; its suffix picks the reader (``.dcm``/``.dicom``, ``.pgm``,
        ``.png``, ``.tif``/``.tiff``, ``.jpg``/``.jpeg``); a file with no suffix is
        read as DICOM if it carries the DICOM preamble.
    pixel_spacing_mm, laterality, view : optional
        Values to use where the file does not carry them (given values win over
        DICOM attributes only where those are absent, or where the file's spacing
        lies outside :data:`PIXEL_SPACING_RANGE_MM`).
    max_pixels : int, optional
        Largest image to decode, in pixels (rows x columns x frames), checked from
        the header before decoding; default :func:`pixel_limit` (64 MP, or
        ``$MAMMOCAD_MAX_PIXELS``).
    pixel_spacing_source : {"table", "option", "nominal"}
        Where a given ``pixel_spacing_mm`` came from, recorded in the result's
        ``pixel_spacing_source`` when it is used (see :func:`choose_pixel_spacing`).

    Returns
    -------
    Mammogram

    Raises
    ------
    ImageReadError
        If the file is missing, empty, truncated, of an unknown type, colour, of an
        unsupported bit depth, larger than ``max_pixels``, its pixel data cannot be
        decoded, or a pixel spacing (given, or the file's where none is given) lies
        outside :data:`PIXEL_SPACING_RANGE_MM`. The message names the file.

    Examples
    --------
    A mini-MIAS film is ``read_mammogram("mdb001.pgm", pixel_spacing_mm=0.2)``; here a
    small 16-bit PGM written on the spot:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "film.pgm"
    ...     Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)).save(path)
    ...     mg = read_mammogram(path, pixel_spacing_mm=0.2)
    >>> mg.shape, mg.pixels.dtype, int(mg.pixels.max()), mg.pixel_spacing_mm
    ((64, 48), dtype('uint16'), 3071, 0.2)
    """
    p = Path(path)
    limit = pixel_limit() if max_pixels is None else int(max_pixels)
    given = (
        None
        if pixel_spacing_mm is None
        else check_pixel_spacing(pixel_spacing_mm, where=f"{p}: given pixel spacing")
    )
    if not p.is_file():
        raise ImageReadError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p}: file is empty")
    suffix = p.suffix.lower()
    if is_dicom_file(p):
        mg = _read_dicom(p, limit)
    elif suffix in PGM_SUFFIXES:
        mg = Mammogram(_read_pgm(p, limit), source=str(p))
    elif suffix in RASTER_SUFFIXES:
        mg = Mammogram(_read_raster(p, limit), source=str(p))
    else:
        raise ImageReadError(
            f"{p}: unknown image type {suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if mg.pixel_spacing_mm is not None and given is None and not _plausible_spacing(mg.pixel_spacing_mm):
        low, high = PIXEL_SPACING_RANGE_MM
        raise ImageReadError(
            f"{p}: the file's pixel spacing {mg.pixel_spacing_mm:g} mm is outside the plausible range "
            f"{low:g}-{high:g} mm; give the pixel spacing to use instead"
        )
    if given is not None and (mg.pixel_spacing_mm is None or not _plausible_spacing(mg.pixel_spacing_mm)):
        if pixel_spacing_source not in PIXEL_SPACING_SOURCES[1:]:
            raise ImageReadError(
                f"{p}: pixel_spacing_source must be one of {', '.join(PIXEL_SPACING_SOURCES[1:])}, "
                f"got {pixel_spacing_source!r}"
            )
        mg = mg.replace(pixel_spacing_mm=given, pixel_spacing_source=pixel_spacing_source)
    elif mg.pixel_spacing_mm is not None:
        mg = mg.replace(pixel_spacing_source="dicom")
    if laterality is not None and mg.laterality is None:
        mg = mg.replace(laterality=laterality)
    if view is not None and mg.view is None:
        mg = mg.replace(view=view)
    return mg


def _has_dicom_preamble(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _read_pgm(path: Path, limit: int) -> np.ndarray:
    """Read a binary (P5) or ASCII (P2) PGM, 8- or 16-bit; refuse truncated files.

    Pillow parses the header and decodes ASCII values; a binary raster is read where
    Pillow found it, as stored (Pillow would widen 16-bit values to 32 bits and
    rescale any maxval other than 255 / 65535, ten times slower on a large film).
    Returns ``uint8`` when maxval < 256, else ``uint16``, the stored values unchanged.
    """
    from PIL import Image, UnidentifiedImageError

    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic not in (b"P5", b"P2"):
        raise ImageReadError(f"{path}: not a greyscale PGM (magic {magic!r}; expected P5 or P2)")
    try:
        im = Image.open(path, formats=["PPM"])
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: malformed PGM header") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: malformed or truncated PGM header ({exc})") from None
    with im:
        (width, height), tile = im.size, im.tile[0]
        _check_pixel_count(path, height, width, 1, limit)
        # Pillow's PPM tile carries maxval where it is neither 255 nor 65535.
        maxval = tile.args[1] if isinstance(tile.args, tuple) else 255 if tile.args == "L" else 65535
        if magic == b"P5":
            dtype = np.dtype(np.uint8) if maxval < 256 else np.dtype(">u2")
            need = width * height * dtype.itemsize
            have = path.stat().st_size - tile.offset
            if have < need:
                raise ImageReadError(f"{path}: truncated PGM: {have} bytes of pixel data, expected {need}")
            pixels = np.fromfile(path, dtype=dtype, count=width * height, offset=tile.offset)
            return pixels.reshape(height, width).astype(np.uint8 if maxval < 256 else np.uint16)
        try:
            im.load()
        except (OSError, ValueError) as exc:
            if "not enough image data" in str(exc):
                raise ImageReadError(
                    f"{path}: truncated PGM: fewer than {width * height} pixel values"
                ) from None
            raise ImageReadError(
                f"{path}: PGM pixel values must be whole numbers in 0..{maxval} ({exc})"
            ) from None
        values = np.asarray(im)
    # Pillow scaled the ASCII values to 0..255 or 0..65535; scaling back is exact
    # because the scaled values lie at least one apart.
    values = np.rint(values * (maxval / (255 if maxval < 256 else 65535)))
    return values.astype(np.uint8 if maxval < 256 else np.uint16)


def _read_raster(path: Path, limit: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:  # reads the header only
            _check_pixel_count(path, im.height, im.width, 1, limit)
            im.load()
            mode = im.mode
            arr = np.asarray(im)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses (at open, from the header) what is past twice its own limit.
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        if claimed is not None and int(claimed.group(1)) > limit:
            raise ImageReadError(
                f"{path}: image of {int(claimed.group(1)) / 1e6:.1f} MP is larger than the limit of "
                f"{limit / 1e6:g} MP; set {MAX_PIXELS_ENV} to a larger number of pixels to read it"
            ) from None
        raise ImageReadError(
            f"{path}: image is larger than Pillow's decompression-bomb limit "
            f"({2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels); refusing to decode it"
        ) from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable {path.suffix} image") from None
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from None
    if arr.ndim == 3:
        # Colour channels only: drop alpha (LA has one grey channel, RGBA three colours).
        channels = arr[..., :3] if arr.shape[2] >= 3 else arr[..., :1]
        if not all(np.array_equal(channels[..., 0], channels[..., c]) for c in range(1, channels.shape[2])):
            raise ImageReadError(
                f"{path}: colour ({mode}) image; a mammogram must be single-channel greyscale"
            )
        arr = channels[..., 0]
    if arr.dtype == np.bool_:
        raise ImageReadError(f"{path}: 1-bit image; expected 8- or 16-bit greyscale")
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        return arr.astype(np.uint16)
    raise ImageReadError(
        f"{path}: unsupported pixel format {mode} ({arr.dtype}); expected 8- or 16-bit greyscale"
    )


def _dicom_integer(ds: Dataset, keyword: str, default: int | None, path: Path) -> int:
    """A whole-number attribute, read from its raw bytes so that no value reaches a warning or log.

    Raises
    ------
    ImageReadError
        If the attribute is missing (and has no default) or is not a whole number;
        the message names the attribute, never its value (a header may carry
        anything, including a patient's name).
    """
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - the keywords are ours
        raise ValueError(f"not a DICOM keyword: {keyword}")
    element = ds.get_item(tag) if tag in ds else None
    if element is None or element.value in (None, b"", ""):
        if default is None:
            raise ImageReadError(f"{path}: DICOM has no {keyword}: no pixel data, or the file is truncated")
        return default
    raw = element.value
    if isinstance(raw, bytes) and dictionary_VR(tag) == "IS":
        try:
            return int(raw.decode("ascii").strip(" \0"))
        except (UnicodeDecodeError, ValueError):
            raise ImageReadError(f"{path}: DICOM {keyword} is not a whole number") from None
    try:
        value = ds[tag].value
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(f"{path}: DICOM {keyword} is not a whole number") from None
    if number != value:
        raise ImageReadError(f"{path}: DICOM {keyword} is not a whole number")
    return number


def _check_dicom_size(ds: Dataset, path: Path, limit: int) -> None:
    """Rows x Columns x Number of Frames from the header, before any pixel is decoded."""
    rows = _dicom_integer(ds, "Rows", None, path)
    cols = _dicom_integer(ds, "Columns", None, path)
    frames = _dicom_integer(ds, "NumberOfFrames", 1, path)
    _check_pixel_count(path, rows, cols, frames, limit)
    if frames != 1:
        raise ImageReadError(f"{path}: multi-frame DICOM ({frames} frames); expected one image")


def _read_dicom_dataset(path: Path, limit: int) -> Dataset:
    """Read a DICOM file, checking its image size from the header before reading the pixels."""
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    meta = pydicom.filereader.read_file_meta_info(path)
    if meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        return _read_deflated_dicom(path, meta, limit)
    _check_dicom_size(pydicom.dcmread(path, stop_before_pixels=True), path, limit)
    return pydicom.dcmread(path)


def _read_deflated_dicom(path: Path, meta: FileMetaDataset, limit: int) -> Dataset:
    """A Deflated Explicit VR Little Endian file, inflated only as far as its header allows.

    pydicom inflates the whole data set before it parses a byte of it, so a tiny
    file could claim gigabytes; here the header is inflated first (at most 16 MB),
    its image size checked, and the rest inflated only up to the size it declares.
    """
    import zlib

    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.filereader import read_dataset
    from pydicom.uid import ExplicitVRLittleEndian

    group_length = meta.get("FileMetaInformationGroupLength")
    if group_length is None:
        raise ImageReadError(f"{path}: deflated DICOM without a File Meta Information Group Length")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    with path.open("rb") as fh:
        preamble = fh.read(128)
        fh.seek(132 + 12 + int(group_length))
        compressed = fh.read()
    try:
        head = inflater.decompress(compressed, _MAX_DICOM_HEADER_BYTES)
        header = read_dataset(
            io.BytesIO(head), False, True, stop_when=lambda tag, vr, length: tag == 0x7FE00010
        )
        _check_dicom_size(header, path, limit)
        bits = _dicom_integer(header, "BitsAllocated", 16, path)
        samples = _dicom_integer(header, "SamplesPerPixel", 1, path)
        rows = _dicom_integer(header, "Rows", None, path)
        cols = _dicom_integer(header, "Columns", None, path)
        declared = rows * cols * samples * max(1, -(-bits // 8))
        rest = inflater.decompress(inflater.unconsumed_tail, declared + _MAX_DICOM_HEADER_BYTES)
    except zlib.error as exc:
        raise ImageReadError(f"{path}: corrupt deflated DICOM ({exc})") from None
    if inflater.unconsumed_tail:
        raise ImageReadError(f"{path}: deflated DICOM holds far more data than its {cols}x{rows} image")
    dataset = read_dataset(io.BytesIO(head + rest), False, True)
    file_meta = FileMetaDataset(meta)
    file_meta.TransferSyntaxUID = ExplicitVRLittleEndian  # the bytes are inflated now
    return FileDataset(str(path), dataset, preamble, file_meta, False, True)


def _codestream_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) a JPEG, JPEG-LS or JPEG 2000 codestream declares, or None if not found."""
    import struct

    if frame.startswith(b"\x00\x00\x00\x0cjP  "):  # a JP2 file: skip its boxes to the codestream
        offset = 12
        while offset + 8 <= len(frame) and frame[offset + 4 : offset + 8] != b"jp2c":
            length = int.from_bytes(frame[offset : offset + 4], "big")
            if length < 8:
                return None
            offset += length
        frame = frame[offset + 8 :]
    if frame[:4] == b"\xff\x4f\xff\x51" and len(frame) >= 24:  # J2K: SOC, then SIZ
        xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", frame[8:24])
        return ysiz - yosiz, xsiz - xosiz
    if frame[:2] != b"\xff\xd8":  # JPEG / JPEG-LS: SOI, then segments up to a frame header
        return None
    offset = 2
    while offset + 9 <= len(frame):
        if frame[offset] != 0xFF:
            return None
        marker = frame[offset + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7):
            rows, cols = struct.unpack(">HH", frame[offset + 5 : offset + 9])
            return rows, cols
        offset += 2 + int.from_bytes(frame[offset + 2 : offset + 4], "big")
    return None


def _check_codestream_size(ds: Dataset, path: Path) -> None:
    """Refuse compressed pixel data whose codestream claims another size than Rows x Columns.

    A decoder sizes its output from the codestream, not from the DICOM header that the
    pixel limit checked: a 64 x 64 header around a 65535 x 65535 JPEG (a few MB of
    file) would otherwise be decoded in full before the mismatch is noticed.
    """
    from pydicom.encaps import generate_frames

    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_compressed or syntax == "1.2.840.10008.1.2.5":  # RLE: sized by header
        return
    try:
        first = next(generate_frames(ds.PixelData, number_of_frames=1), b"")
    except (ValueError, StopIteration, TypeError):
        return  # the decoder will say what is wrong
    size = _codestream_size(first)
    rows, cols = _dicom_integer(ds, "Rows", None, path), _dicom_integer(ds, "Columns", None, path)
    if size is not None and size != (rows, cols):
        raise ImageReadError(
            f"{path}: the compressed pixel data is a {size[1]}x{size[0]} image, but the header says "
            f"{cols}x{rows}; refusing to decode it"
        )


def _read_dicom(path: Path, limit: int) -> Mammogram:
    import warnings

    # pydicom warns about a malformed value by quoting it, and a header may carry anything
    # (a patient's name in Number of Frames): our own errors name the attribute instead.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")
        return _read_dicom_quietly(path, limit)


def _read_dicom_quietly(path: Path, limit: int) -> Mammogram:
    from pydicom.errors import InvalidDicomError

    try:
        ds = _read_dicom_dataset(path, limit)
    except ImageReadError:
        raise
    except InvalidDicomError as exc:
        raise ImageReadError(f"{path}: not a DICOM file ({exc})") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError, MemoryError) as exc:
        raise ImageReadError(f"{path}: truncated or corrupt DICOM ({type(exc).__name__})") from None
    if "PixelData" not in ds:
        raise ImageReadError(f"{path}: DICOM has no pixel data")
    samples = _dicom_integer(ds, "SamplesPerPixel", 1, path)
    if samples != 1:
        raise ImageReadError(f"{path}: DICOM has {samples} samples per pixel; expected greyscale")
    _check_codestream_size(ds, path)
    try:
        raw = ds.pixel_array
    except Exception as exc:  # decoders raise many types; all mean "cannot decode"
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", syntax) or "unknown transfer syntax"
        detail = " ".join(str(exc).split())
        raise ImageReadError(f"{path}: cannot decode DICOM pixel data ({name}): {detail}") from None
    if raw.ndim != 2:
        raise ImageReadError(f"{path}: DICOM pixel data has shape {raw.shape}; expected one greyscale image")
    try:
        pixels = _dicom_display_values(ds, raw)
        spacing, laterality, view = _dicom_spacing(ds), _dicom_laterality(ds), _dicom_view(ds)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        # A malformed attribute (window, LUT, spacing): name its kind, never its value.
        raise ImageReadError(
            f"{path}: malformed DICOM display or geometry attributes ({type(exc).__name__})"
        ) from None
    return Mammogram(
        pixels=pixels, pixel_spacing_mm=spacing, laterality=laterality, view=view, source=str(path)
    )


def _dicom_display_values(ds: Dataset, raw: np.ndarray) -> np.ndarray:
    """Modality LUT, then the first VOI LUT or window, then MONOCHROME1 inversion.

    A file with neither a modality transform (none, or slope 1 and intercept 0)
    nor a VOI keeps its stored integers (CBIS-DDSM: 16-bit), which
    :func:`normalise` maps without a floating-point copy of the film; other
    files give ``float32``.
    """
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    monochrome1 = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).upper() == "MONOCHROME1"
    if raw.dtype.kind in "iu" and _identity_transforms(ds):
        if not monochrome1:
            return raw
        low, high = int(raw.min()), int(raw.max())
        return ((high + low) - raw.astype(np.int64)).astype(raw.dtype)  # stays within [low, high]
    values = apply_modality_lut(raw, ds)
    if values.dtype.kind == "f" and np.array_equal(values, np.rint(values)):
        # A VOI LUT is a table lookup: it needs integer stored values.
        values = values.astype(np.int64)
    has_voi = "VOILUTSequence" in ds or "WindowCenter" in ds  # type: ignore[operator]
    if has_voi:
        values = apply_voi_lut(values, ds, index=0)
    values = np.asarray(values, dtype=np.float32)
    if monochrome1:
        lo, hi = float(values.min()), float(values.max())
        values = (hi + lo) - values
    return values


def _identity_transforms(ds: Dataset) -> bool:
    """Whether the file defines no VOI and no modality transform other than the identity."""
    if any(k in ds for k in ("VOILUTSequence", "WindowCenter", "ModalityLUTSequence")):  # type: ignore[operator]
        return False
    try:
        slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
        intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
    except (TypeError, ValueError):
        return False
    return slope == 1.0 and intercept == 0.0


def _dicom_spacing(ds: object) -> float | None:
    """Pixel Spacing, else Imager Pixel Spacing / Estimated Radiographic Magnification Factor.

    Imager Pixel Spacing is measured at the detector; an object in the breast is
    magnified by the geometry (DICOM PS3.3 C.8.11.7, "Mammography Image"), so its
    size at the breast is the detector size divided by the estimated magnification
    factor where the file records one. Pixel Spacing, where present, is already
    calibrated to the patient and is used as it is.
    """
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = getattr(ds, keyword, None)
        if value:
            try:
                row, col = (float(v) for v in list(value)[:2])
            except (TypeError, ValueError):
                continue
            if row > 0 and col > 0:
                spacing = (row + col) / 2.0
                if keyword == "ImagerPixelSpacing":
                    spacing /= _magnification(ds)
                return spacing
    return None


def _magnification(ds: object) -> float:
    """Estimated Radiographic Magnification Factor where it is a plausible number (≥ 1), else 1."""
    try:
        factor = float(getattr(ds, "EstimatedRadiographicMagnificationFactor", None) or 1.0)
    except (TypeError, ValueError):
        return 1.0
    return factor if math.isfinite(factor) and 1.0 <= factor <= 10.0 else 1.0


def header_pixel_spacing(path: str | os.PathLike[str], *, plausible_only: bool = True) -> float | None:
    """The pixel spacing a file's own tags give, read from its header alone (no pixels decoded).

    DICOM: Pixel Spacing, else Imager Pixel Spacing divided by the Estimated
    Radiographic Magnification Factor where present (as :func:`read_mammogram`);
    a value outside :data:`PIXEL_SPACING_RANGE_MM` counts as none (a given spacing
    then replaces it, as in :func:`read_mammogram`) unless ``plausible_only`` is
    False. PGM, PNG, TIFF and JPEG carry no spacing mammocad trusts: ``None``.

    Raises
    ------
    ImageReadError
        If the file is missing or its DICOM header cannot be read.

    Examples
    --------
    >>> header_pixel_spacing("mdb001.png") is None  # doctest: +SKIP
    True
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: no such file")
    if not is_dicom_file(p):
        return None
    ds = _dicom_header(p)
    try:
        spacing = _dicom_spacing(ds)
    except (ValueError, TypeError, AttributeError) as exc:  # a malformed attribute: name its kind only
        raise ImageReadError(
            f"{p}: malformed DICOM pixel spacing attributes ({type(exc).__name__})"
        ) from None
    if spacing is None or (plausible_only and not _plausible_spacing(spacing)):
        return None
    return spacing


def choose_pixel_spacing(
    file_mm: float | None,
    *,
    table_mm: float | None = None,
    option_mm: float | None = None,
    nominal_mm: float | None = None,
) -> tuple[float, str] | None:
    """The pixel spacing to use and its source, in mammocad's order of precedence.

    The file's own tags, else the lesion table's ``pixel_spacing_mm``, else the
    ``--pixel-spacing`` option, else the dataset's documented nominal value
    (:data:`PIXEL_SPACING_SOURCES`). Blank values (``None``, NaN) pass on to the
    next source.

    Parameters
    ----------
    file_mm, table_mm, option_mm, nominal_mm : float or None
        The candidates, in millimetres.

    Returns
    -------
    (float, str) or None
        The spacing and its source; ``None`` where no source gives one.

    Raises
    ------
    PixelSpacingError
        If the first non-blank candidate is not a positive, finite number.

    Examples
    --------
    >>> choose_pixel_spacing(None, table_mm=float("nan"), option_mm=0.05, nominal_mm=0.0435)
    (0.05, 'option')
    >>> choose_pixel_spacing(0.07, option_mm=0.05)
    (0.07, 'dicom')
    >>> choose_pixel_spacing(None) is None
    True
    """
    candidates = (file_mm, table_mm, option_mm, nominal_mm)
    for source, value in zip(PIXEL_SPACING_SOURCES, candidates, strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        number = float(value)
        if not (math.isfinite(number) and number > 0):
            name = {
                "dicom": "the file's pixel spacing",
                "table": "pixel_spacing_mm",
                "option": "--pixel-spacing",
            }
            raise PixelSpacingError(
                f"{name.get(source, 'the nominal pixel spacing')} must be a positive number of mm, got {value!r}"
            )
        return number, source
    return None


def _dicom_laterality(ds: object) -> str | None:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(getattr(ds, keyword, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    return None


def _dicom_view(ds: object) -> str | None:
    value = str(getattr(ds, "ViewPosition", "") or "").strip().upper()
    if value:
        return value
    for item in getattr(ds, "ViewCodeSequence", []) or []:
        meaning = str(getattr(item, "CodeMeaning", "")).lower()
        if "cranio" in meaning:
            return "CC"
        if "oblique" in meaning:
            return "MLO"
    return None


#: SOP classes of DICOM Segmentation (binary/fractional, and label map).
SEG_SOP_CLASS_UIDS = ("1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7")


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """Whether mammocad reads ``path`` as DICOM: a DICOM suffix, or no suffix and the ``DICM`` preamble.

    Examples
    --------
    >>> is_dicom_file("study/1-1.dcm"), is_dicom_file("mdb001.png")
    (True, False)
    """
    p = Path(path)
    return p.suffix.lower() in DICOM_SUFFIXES or (p.suffix == "" and p.is_file() and _has_dicom_preamble(p))


def _dicom_header(p: Path) -> Dataset:
    """A DICOM file's attributes up to Pixel Data, without decoding (deflated files inflated only
    as far as their header allows)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        if _is_deflated(p):
            ds = _read_deflated_dicom(p, pydicom.filereader.read_file_meta_info(p), pixel_limit())
            if "PixelData" in ds:
                del ds.PixelData
        else:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
    except ImageReadError:
        raise
    except InvalidDicomError as exc:
        raise ImageReadError(f"{p}: not a DICOM file ({exc})") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ImageReadError(f"{p}: truncated or corrupt DICOM ({exc or type(exc).__name__})") from None
    return ds


def read_dicom_header(path: str | os.PathLike[str]) -> Dataset:
    """Read a DICOM image's attributes without decoding its pixels.

    This is the source header that DICOM output (a Segmentation or a Structured
    Report, :mod:`mammocad.export`) copies patient and study context from and
    references.

    Parameters
    ----------
    path : path-like
        A DICOM image file.

    Returns
    -------
    pydicom.Dataset
        Every attribute up to (not including) Pixel Data.

    Raises
    ------
    ImageReadError
        If the file is missing, is not DICOM (a PNG, PGM, TIFF or JPEG has no
        patient, study or image identifiers for DICOM output to reference), is
        unreadable, or lacks the identifiers (SOP Class/Instance UID, Study
        Instance UID, Rows, Columns) a reference needs.
    """

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: no such file")
    if not is_dicom_file(p):
        raise ImageReadError(
            f"{p}: not a DICOM file; DICOM output (SEG, SR) needs a DICOM image, whose patient, "
            "study and image identifiers it copies and references"
        )
    ds = _dicom_header(p)
    missing = [
        k for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "Rows", "Columns") if not ds.get(k)
    ]
    if missing:
        raise ImageReadError(f"{p}: DICOM lacks {', '.join(missing)}; it cannot be referenced")
    return ds


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a lesion mask: a DICOM Segmentation or a greyscale image.

    A DICOM SEG (binary, fractional or label map) of one 2-D image gives the
    union of its segments on that image's grid (fractional values count from
    0.5 of their maximum); any other image gives its non-zero pixels.

    Parameters
    ----------
    path : path-like
        A DICOM SEG, or an image :func:`read_mammogram` reads (PNG, TIFF, PGM,
        DICOM).

    Returns
    -------
    ndarray of bool, shape (rows, cols)

    Raises
    ------
    ImageReadError
        If the file cannot be read, or the SEG covers more than one source
        image. The message names the file.

    Examples
    --------
    ``read_mask("seg.dcm")`` reads a SEG that ``mammocad segment --dicom`` wrote; here
    an 8-bit mask image written on the spot:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "mask.png"
    ...     Image.fromarray(np.eye(4, dtype=np.uint8) * 255).save(path)
    ...     mask = read_mask(path)
    >>> mask.dtype, int(mask.sum())
    (dtype('bool'), 4)
    """
    p = Path(path)
    if p.is_file() and p.stat().st_size and is_dicom_file(p):
        import pydicom

        header = None
        try:
            # A deflated file would be inflated whole: read_mammogram reads those safely.
            if not _is_deflated(p):
                header = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - read_mammogram below names what is wrong
            header = None
        if header is not None and str(header.get("SOPClassUID", "")) in SEG_SOP_CLASS_UIDS:
            rows = _dicom_integer(header, "Rows", None, p)
            cols = _dicom_integer(header, "Columns", None, p)
            frames = _dicom_integer(header, "NumberOfFrames", 1, p)
            _check_pixel_count(p, rows, cols, frames, pixel_limit())  # before decoding, as for images
            return _read_seg_mask(p)
    return read_mammogram(p).pixels > 0


def _is_deflated(path: Path) -> bool:
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    meta = pydicom.filereader.read_file_meta_info(path)
    return bool(meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian)


def _read_seg_mask(path: Path) -> np.ndarray:
    import highdicom as hd

    try:
        seg = hd.seg.segread(path)
        sources = seg.get_source_image_uids()
        if len(sources) != 1:
            raise ImageReadError(
                f"{path}: the SEG covers {len(sources)} source images; a lesion mask needs one 2-D image"
            )
        pixels = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[str(sources[0][2])], ignore_spatial_locations=True
        )
    except ImageReadError:
        raise
    except Exception as exc:  # highdicom and its decoders raise many types: all mean "cannot read it"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageReadError(f"{path}: cannot read the DICOM SEG ({detail})") from None
    values = np.asarray(pixels)[0]
    if values.ndim == 3:  # one channel per segment
        values = values.max(axis=2)
    fractional = str(seg.get("SegmentationType", "")).upper() == "FRACTIONAL"
    return values >= 0.5 if fractional else values > 0


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Map grey values linearly onto 0-255 (8-bit images are returned unchanged).

    The darkest value maps to 0 and the brightest to 255; a constant image maps
    to zeros.
    """
    if pixels.dtype == np.uint8:
        return pixels
    values = pixels.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(pixels.shape, dtype=np.uint8)
    return np.rint((values - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def normalise(mammogram: Mammogram, size: int = 1024) -> Mammogram:
    """Bring a mammogram to the paper's convention: ``size`` × ``size``, 8-bit.

    The image is resampled (with anti-aliasing) so that its long side is ``size``
    pixels, mapped to 0-255, and padded with zeros at the bottom/right to a square,
    so that the mapping of coordinates is a pure scaling recorded in ``scale``.
    The pixel spacing is divided by the same factor.

    Parameters
    ----------
    mammogram : Mammogram
    size : int
        Side of the output square, in pixels.

    Returns
    -------
    Mammogram
        ``uint8`` pixels of shape ``(size, size)``; ``scale`` multiplied by the
        resampling factor.

    Raises
    ------
    ImageReadError
        If a side of the image is shorter than :data:`MIN_IMAGE_SIDE` pixels.

    Notes
    -----
    The grey levels are :func:`to_uint8`'s and the resampling is scikit-image's
    ``resize(order=1, anti_aliasing=True)`` (a Gaussian of standard deviation
    ``(s - 1) / 2`` for a reduction by ``s``, then bilinear interpolation), the
    grid the features were calibrated on. A film larger than ``size`` is reduced
    by the same linear operator applied in bands with BLAS (``mammocad._resample``),
    about ten times faster; it matches scikit-image to within one grey level on a
    few pixels in a million (rounding of sums that fall on a half level).
    """
    from skimage.transform import resize

    from mammocad._resample import downsample_uint8

    rows, cols = mammogram.shape
    if min(rows, cols) < MIN_IMAGE_SIDE:
        raise ImageReadError(
            f"{mammogram.source or 'image'}: image of {cols}x{rows} pixels is too small to analyse; "
            f"expected at least {MIN_IMAGE_SIDE} pixels on each side"
        )
    factor = size / max(rows, cols)
    new_shape = (max(1, round(rows * factor)), max(1, round(cols * factor)))
    if factor < 1.0:
        pixels = downsample_uint8(mammogram.pixels, new_shape)
    else:
        pixels = to_uint8(mammogram.pixels)
    if factor > 1.0:
        resized = resize(
            pixels.astype(np.float32),
            new_shape,
            order=1,
            anti_aliasing=factor < 1,
            preserve_range=True,
        )
        pixels = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
    if pixels.shape != (size, size):
        padded = np.zeros((size, size), dtype=np.uint8)
        padded[: pixels.shape[0], : pixels.shape[1]] = pixels
        pixels = padded
    spacing = mammogram.pixel_spacing_mm
    return mammogram.replace(
        pixels=pixels,
        pixel_spacing_mm=None if spacing is None else spacing / factor,
        scale=mammogram.scale * factor,
    )
