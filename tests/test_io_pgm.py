"""PGM reading (Pillow underneath): the stored values unchanged, 8- and 16-bit, P5 and P2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mammocad.errors import ImageReadError
from mammocad.io import read_mammogram


def _p5(path: Path, pixels: np.ndarray, maxval: int, header: bytes = b"P5\n") -> Path:
    dtype = np.dtype(np.uint8) if maxval < 256 else np.dtype(">u2")  # PGM is big-endian
    rows, cols = pixels.shape
    path.write_bytes(header + b"%d %d\n%d\n" % (cols, rows, maxval) + pixels.astype(dtype).tobytes())
    return path


def _p2(path: Path, pixels: np.ndarray, maxval: int) -> Path:
    rows, cols = pixels.shape
    body = b"\n".join(b" ".join(b"%d" % v for v in row) for row in pixels)
    path.write_bytes(b"P2\n# written by a test\n%d %d\n%d\n" % (cols, rows, maxval) + body + b"\n")
    return path


@pytest.mark.realdata
@pytest.mark.parametrize("film", ["mdb001", "mdb002", "mdb209", "mdb210"])
def test_real_mias_pgm_is_the_raster_and_the_png(data_root: Path, film: str) -> None:
    pgm = data_root / "mias-pgm-samples" / f"{film}.pgm"
    pixels = read_mammogram(pgm).pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (1024, 1024)
    # The P5 raster is the file's last 1024 × 1024 bytes: a reference that is not Pillow.
    raster = np.frombuffer(pgm.read_bytes()[-1024 * 1024 :], dtype=np.uint8).reshape(1024, 1024)
    np.testing.assert_array_equal(pixels, raster)
    with Image.open(data_root / "mias" / f"{film}.png") as png:
        np.testing.assert_array_equal(pixels, np.asarray(png))


@pytest.mark.parametrize("maxval", [65535, 65534, 4095, 1000, 256])
def test_16_bit_big_endian_p5_keeps_the_stored_values(tmp_path: Path, maxval: int) -> None:
    rng = np.random.default_rng(maxval)
    stored = rng.integers(0, maxval + 1, size=(31, 17))
    stored[0, :3] = [0, maxval, 258]  # 258 = 0x0102: byte order matters
    mg = read_mammogram(_p5(tmp_path / "x.pgm", stored, maxval, header=b"P5\n# 16-bit\n"))
    assert mg.pixels.dtype == np.uint16
    np.testing.assert_array_equal(mg.pixels, stored)


@pytest.mark.parametrize("maxval", [255, 254, 100, 1])
def test_8_bit_p5_keeps_the_stored_values(tmp_path: Path, maxval: int) -> None:
    stored = np.arange(12 * 21).reshape(12, 21) % (maxval + 1)
    mg = read_mammogram(_p5(tmp_path / "x.pgm", stored, maxval))
    assert mg.pixels.dtype == np.uint8
    np.testing.assert_array_equal(mg.pixels, stored)


@pytest.mark.parametrize("maxval", [1, 2, 3, 100, 254, 255, 256, 1000, 4095, 65534, 65535])
def test_ascii_p2_every_value_comes_back_exactly(tmp_path: Path, maxval: int) -> None:
    # Pillow scales P2 values to the full range; the reader scales back. Every value is checked.
    values = np.arange(maxval + 1)
    cols = 256
    stored = np.resize(values, (-(-values.size // cols), cols))
    mg = read_mammogram(_p2(tmp_path / "x.pgm", stored, maxval))
    assert mg.pixels.dtype == (np.uint8 if maxval < 256 else np.uint16)
    np.testing.assert_array_equal(mg.pixels, stored)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"P5\n6 8\n255\n" + bytes(38), "truncated PGM: 38 bytes of pixel data, expected 48"),
        (b"P5\n4 3\n4095\n" + bytes(20), "truncated PGM: 20 bytes of pixel data, expected 24"),
        (b"P2\n3 2\n1000\n0 1 2\n997\n", "truncated PGM: fewer than 6 pixel values"),
        (b"P5\n6 8\n", "truncated PGM header"),
        (b"P5\n6 x\n255\n" + bytes(48), "malformed or truncated PGM header"),
        (b"P5\n0 8\n255\n", "malformed PGM header"),
        (b"P5\n2 2\n70000\n" + bytes(8), "maxval"),
        (b"P2\n2 2\n255\n1 2 -3 4\n", "0..255"),
        (b"GIF89a", "not a greyscale PGM"),
    ],
    ids=["truncated-8", "truncated-16", "truncated-ascii", "header", "size", "zero", "maxval", "neg", "gif"],
)
def test_bad_pgm_raises_a_clear_error_naming_the_file(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.pgm"
    path.write_bytes(data)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_mammogram(path)
    assert str(path) in str(info.value)
