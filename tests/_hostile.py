"""Helpers of the hostile-input tests: files made in code, and a CLI runner with a memory cap.

:class:`CliRunnerProcess` starts one Python process that imports mammocad once and
then runs ``mammocad.cli.main(argv)`` for each case, exactly as the console script
does. Before each case it resets the process's peak resident memory
(``/proc/self/clear_refs``); after it, it reports the exit code, what was printed
and how far the peak rose above the memory in use when the case started. Its
address space is capped (``RLIMIT_AS``) at what the imports took plus
:data:`ADDRESS_SPACE_MARGIN`, so that an input that would allocate gigabytes fails
there instead of taking the machine's memory.
"""

from __future__ import annotations

import functools
import io
import json
import os
import select
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: Peak memory is read from /proc: the hostile-input modules run on Linux only.
LINUX_ONLY = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="peak memory is read from /proc (Linux only)"
)

#: Address space a case may add to what the runner's imports took.
ADDRESS_SPACE_MARGIN = 3 * 2**30

_RUNNER = r"""
import contextlib, io, json, os, resource, signal, sys, time

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024  # MB
    return 0

import mammocad.cli, mammocad.segment, mammocad.features, mammocad.models, mammocad.datasets  # noqa
import torch  # noqa: the models import it lazily; count it in the baseline, not in a case
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit then fails the write with EFBIG
margin = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") * 2**20 + margin, resource.RLIM_INFINITY))
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    case = json.loads(line)
    saved_env = dict(os.environ)
    os.environ.update(case.get("env", {}))
    os.chdir(case["cwd"])
    fsize = case.get("fsize")
    if fsize is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))
    out, err = io.StringIO(), io.StringIO()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = status("VmRSS")
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = mammocad.cli.main(case["argv"])
    except BaseException as exc:  # what escapes main() is a failure of the test
        rc = "escaped " + type(exc).__name__
    seconds = time.perf_counter() - t0
    peak = status("VmHWM")
    if fsize is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    os.environ.clear()
    os.environ.update(saved_env)
    print(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue(),
                      "peak_extra_mb": peak - before, "seconds": seconds}), flush=True)
"""


class CliRunnerProcess:
    """One long-lived process running ``mammocad`` command lines (see the module docstring)."""

    def __init__(self, timeout_s: float = 180.0) -> None:
        env = {k: v for k, v in os.environ.items() if k != "MAMMOCAD_MAX_PIXELS"}
        env.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg", COLUMNS="200")
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RUNNER, str(ADDRESS_SPACE_MARGIN)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = self._read_line(timeout_s)
        if not json.loads(ready).get("ready"):
            raise RuntimeError(f"runner did not start: {ready!r}")

    def _read_line(self, timeout_s: float) -> str:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not readable:
            self.close()
            raise TimeoutError(f"no answer from the CLI runner within {timeout_s} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the CLI runner died (exit code {self.proc.wait()})")
        return line

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str] | None = None, fsize: int | None = None
    ) -> dict[str, Any]:
        """Run one command line; return ``rc``, ``stdout``, ``stderr``, ``peak_extra_mb``, ``seconds``."""
        assert self.proc.stdin is not None
        case = {"argv": [str(a) for a in argv], "cwd": str(cwd), "env": env or {}, "fsize": fsize}
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._read_line(self.timeout_s))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- files made in code ----------------------------------------------------------------


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    """A small, valid-looking 8-bit grey PNG whose header claims ``width`` x ``height``.

    Its IDAT holds the first few all-zero rows only: a reader that trusts the header
    and decodes would allocate the whole claimed image.
    """
    rows = zlib.compress(bytes((width + 1) * min(height, 4)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16 x 16 grey JPEG with its frame header patched to claim ``width`` x ``height``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF (8-bit grey, one strip) claiming ``width`` x ``height``."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8 + 2 + 12 * 8 + 4),  # StripOffsets: right after the IFD
        (277, 3, 1, 1),  # SamplesPerPixel
        (279, 4, 1, width * height),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + bytes(64)


def dicom_dataset(pixels: np.ndarray, pixel_spacing_mm: float | None = 0.1, **attributes: object):  # type: ignore[no-untyped-def]
    """A Part 10 MG dataset (Explicit VR Little Endian) around ``pixels`` (stored as uint16).

    ``attributes`` (DICOM keywords) are set last, e.g. ``PatientID="…"``.
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["mammocad-hostile"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("hostile.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "SECRET^NAME"
    ds.Modality = "MG"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if pixel_spacing_mm is not None:
        ds.PixelSpacing = [pixel_spacing_mm, pixel_spacing_mm]
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def dicom_bytes(ds) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def with_raw_value(data: bytes, placeholder: bytes, value: bytes) -> bytes:
    """``data`` with an element value replaced byte for byte (pydicom refuses to write bad values)."""
    assert len(placeholder) == len(value) and data.count(placeholder) == 1
    return data.replace(placeholder, value)


@functools.cache
def deflated_dicom(rows: int, cols: int, *, trailing_zeros: int = 0) -> bytes:
    """A Deflated Explicit VR Little Endian DICOM of ``rows`` x ``cols`` zeros, deflated as it is built.

    The pixel data is streamed through the compressor, so a 100-megapixel image
    costs a few hundred kilobytes here; ``trailing_zeros`` adds Data Set Trailing
    Padding of that many zero bytes after the pixel data (a deflate bomb behind a
    small image).
    """
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = dicom_dataset(np.zeros((2, 2), np.uint16))
    ds.Rows, ds.Columns = rows, cols
    del ds.PixelData
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    meta = DicomBytesIO()
    meta.is_little_endian, meta.is_implicit_VR = True, False
    write_file_meta_info(meta, ds.file_meta, enforce_standard=True)
    header = DicomBytesIO()
    header.is_little_endian, header.is_implicit_VR = True, False
    write_dataset(header, ds)

    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(header.getvalue())]
    block = bytes(2**20)

    def zeros(count: int) -> None:
        while count:
            step = min(count, len(block))
            parts.append(compressor.compress(block[:step]))
            count -= step

    parts.append(compressor.compress(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, rows * cols * 2)))
    zeros(rows * cols * 2)
    if trailing_zeros:
        parts.append(compressor.compress(struct.pack("<HH2sHI", 0xFFFC, 0xFFFC, b"OB", 0, trailing_zeros)))
        zeros(trailing_zeros)
    parts.append(compressor.flush())
    return b"\0" * 128 + b"DICM" + meta.getvalue() + b"".join(parts)


@functools.cache
def dicom_jpeg_larger_than_header(side: int = 4000) -> bytes:
    """A 64 x 64 DICOM header around a baseline JPEG of ``side`` x ``side`` (a decoder sizes from the JPEG)."""
    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    buf = io.BytesIO()
    Image.fromarray(np.zeros((side, side), np.uint8)).save(buf, format="JPEG", quality=50)
    ds = dicom_dataset(np.zeros((64, 64), np.uint16))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return dicom_bytes(ds)
