"""Content sniffing, upload names and the in-memory image store."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammocad.errors import ImageReadError
from mammocad.io import Mammogram
from mammocad.viewer.store import ImageStore
from mammocad.viewer.uploads import UploadError, check_filename, read_upload, sniff_image_type


@pytest.mark.parametrize(
    ("head", "suffix"),
    [
        (bytes(128) + b"DICM" + bytes(10), ".dcm"),
        (b"\x89PNG\r\n\x1a\n" + bytes(10), ".png"),
        (b"\xff\xd8\xff\xe0" + bytes(10), ".jpg"),
        (b"II*\x00" + bytes(10), ".tif"),
        (b"MM\x00*" + bytes(10), ".tif"),
        (b"P5\n512 512\n255\n", ".pgm"),
        (b"P2 4 4 255 ", ".pgm"),
        (bytes(128) + b"DICX", None),
        (b"P6\n1 1\n255\n", None),  # colour PPM
        (b"GIF89a", None),
        (b"", None),
    ],
)
def test_sniff(head, suffix):
    assert sniff_image_type(head) == suffix


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_sniff_never_raises(data):
    assert sniff_image_type(data) in (None, ".dcm", ".png", ".jpg", ".tif", ".pgm")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_check_filename_returns_plain_names_or_refuses(name):
    try:
        checked = check_filename(name)
    except UploadError as exc:
        assert exc.status_code == 400
        return
    assert "/" not in checked and "\\" not in checked and ".." not in checked
    assert checked and len(checked) <= 255


def test_check_filename_examples():
    assert check_filename("mdb001.pgm") == "mdb001.pgm"
    assert check_filename("") == "upload"
    for bad in ("../x.png", "a/b.png", "x\\y.png", "..", "a\nb.png", "x" * 300):
        with pytest.raises(UploadError):
            check_filename(bad)


def test_read_upload_names_the_upload_on_error(case_dicom):
    with pytest.raises(ImageReadError, match=r"^cut\.dcm: "):
        read_upload(case_dicom[:400], "cut.dcm")
    with pytest.raises(UploadError) as err:
        read_upload(b"hello world", "hello.png")
    assert err.value.status_code == 415
    with pytest.raises(ImageReadError, match="empty"):
        read_upload(b"", "empty.png")


def test_read_upload_reads_pgm_by_content():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data = b"P5\n4 3\n255\n" + pixels.tobytes()
    mg = read_upload(data, "named-wrongly.png")  # the content decides, not the name
    assert np.array_equal(mg.pixels, pixels) and mg.source == "named-wrongly.png"


def test_store_is_lru_and_ids_are_random():
    store = ImageStore(max_images=2, max_results=1)
    mg = Mammogram(np.zeros((4, 4), dtype=np.uint8))
    a, b = store.add("a", mg, b""), store.add("b", mg, b"")
    assert store.get(a.image_id) is a  # a is now the most recent
    c = store.add("c", mg, b"")
    assert store.get(b.image_id) is None and store.get(a.image_id) is a and len(store) == 2
    assert len({a.image_id, b.image_id, c.image_id}) == 3
    first = store.add_result(a, "r1")
    second = store.add_result(a, "r2")
    assert store.get_result(a, first) is None and store.get_result(a, second) == "r2"
    with pytest.raises(ValueError):
        ImageStore(max_images=0)
