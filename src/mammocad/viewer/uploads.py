"""Check what a browser sends before any of it reaches a reader.

An upload is accepted only if its first bytes say it is an image mammocad can
read (DICOM Part 10 preamble, PNG, JPEG, TIFF or binary/ASCII PGM): the file name
is shown to the user but never trusted for the type and never used as a path.
The bytes are read through :func:`mammocad.io.read_mammogram` from a private
temporary file, and reader errors are re-worded to name the upload. For a DICOM
image, :func:`open_upload` also keeps its header (:func:`source_header`), which
the DICOM export copies the patient and study context from.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from mammocad.errors import ImageReadError, MammocadError
from mammocad.io import Mammogram, read_dicom_header, read_mammogram

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "UploadError",
    "sniff_image_type",
    "require_image_type",
    "check_filename",
    "read_upload",
    "open_upload",
    "source_header",
    "SNIFF_BYTES",
]

#: How many leading bytes :func:`sniff_image_type` needs to decide.
SNIFF_BYTES = 132

_MAX_NAME_CHARS = 255


class UploadError(MammocadError, ValueError):
    """An upload is refused before it is read (bad name, unsupported type).

    Attributes
    ----------
    status_code : int
        HTTP status the web app answers with (400 for a bad name, 415 for a
        type that is not an image mammocad reads).
    """

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def sniff_image_type(head: bytes) -> str | None:
    """Name the image type from a file's first bytes, or ``None``.

    Parameters
    ----------
    head : bytes
        The first :data:`SNIFF_BYTES` bytes of the file (fewer if it is shorter).

    Returns
    -------
    str or None
        The suffix of the reader to use: ``".dcm"``, ``".png"``, ``".jpg"``,
        ``".tif"`` or ``".pgm"``; ``None`` if the bytes are not one of these.

    Examples
    --------
    >>> sniff_image_type(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    '.png'
    >>> sniff_image_type(b"%PDF-1.7") is None
    True
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return ".dcm"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return ".tif"
    if len(head) >= 3 and head[:2] in (b"P5", b"P2") and head[2:3].isspace():
        return ".pgm"
    return None


def require_image_type(head: bytes | bytearray, name: str) -> str:
    """:func:`sniff_image_type` of ``head``, refusing content that is not an image.

    Raises
    ------
    UploadError
        (status 415) If the first :data:`SNIFF_BYTES` bytes are not an image type
        mammocad reads; the message names ``name``.
    """
    suffix = sniff_image_type(bytes(head[:SNIFF_BYTES]))
    if suffix is None:
        raise UploadError(
            f"{name}: not an image mammocad reads; expected DICOM (with its 128-byte "
            "preamble and 'DICM'), PNG, JPEG, TIFF or PGM content",
            status_code=415,
        )
    return suffix


def check_filename(name: str | None) -> str:
    """Return an upload's display name, refusing anything path-like.

    The name is only ever shown and echoed back, but a name that carries a
    directory part, ``..``, or control characters is refused outright so that no
    later change can turn it into a path.

    Raises
    ------
    UploadError
        (status 400) If the name is empty, too long, or path-like.
    """
    if name is None or not name.strip():
        return "upload"
    name = name.strip()
    if len(name) > _MAX_NAME_CHARS:
        raise UploadError(f"upload file name is longer than {_MAX_NAME_CHARS} characters")
    if "/" in name or "\\" in name or name == "." or ".." in name:
        raise UploadError(f"upload file name {name!r} must be a plain file name, without folders or '..'")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UploadError(f"upload file name {name!r} contains control characters")
    return name


def source_header(path: str | os.PathLike[str]) -> Dataset | None:
    """The header of a DICOM image that DICOM output can reference, else ``None``.

    :func:`mammocad.io.read_dicom_header`; ``None`` for an image that is not
    DICOM, or a DICOM lacking the identifiers a SEG or SR must copy (the image
    can still be viewed and analysed).
    """
    try:
        return read_dicom_header(path)
    except ImageReadError:
        return None


def read_upload(data: bytes, filename: str) -> Mammogram:
    """Read an uploaded image from its bytes.

    Parameters
    ----------
    data : bytes
        The whole upload.
    filename : str
        Its display name (already checked with :func:`check_filename`); error
        messages name it.

    Returns
    -------
    Mammogram
        With ``source`` set to ``filename`` (no server path is exposed).

    Raises
    ------
    UploadError
        (status 415) If the bytes are not an image type mammocad reads.
    ImageReadError
        If the image is truncated or cannot be decoded; the message names
        ``filename``.
    """
    return open_upload(data, filename, keep_header=False)[0]


def open_upload(data: bytes, filename: str, *, keep_header: bool = True) -> tuple[Mammogram, Dataset | None]:
    """Read an uploaded image from its bytes, and the header of a DICOM one.

    Parameters
    ----------
    data : bytes
        The whole upload.
    filename : str
        Its display name (already checked with :func:`check_filename`).
    keep_header : bool
        Read the DICOM header too (:func:`source_header`).

    Returns
    -------
    mammogram : Mammogram
        As :func:`read_upload` gives it.
    header : pydicom.Dataset or None
        The DICOM header (every attribute up to Pixel Data, patient and study
        identifiers included) where the upload is a DICOM image DICOM output
        can reference; else None.

    Raises
    ------
    UploadError, ImageReadError
        As :func:`read_upload`.
    """
    if not data:
        raise ImageReadError(f"{filename}: upload is empty")
    suffix = require_image_type(data, filename)
    fd, tmp_name = tempfile.mkstemp(prefix="mammocad-upload-", suffix=suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            mammogram = read_mammogram(tmp)
        except ImageReadError as exc:
            # The reader names its (private, temporary) path; the user knows the upload's name.
            raise ImageReadError(str(exc).replace(str(tmp), filename)) from None
        header = source_header(tmp) if keep_header and suffix == ".dcm" else None
    finally:
        tmp.unlink(missing_ok=True)
    return mammogram.replace(source=filename), header
