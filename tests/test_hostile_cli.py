"""Hostile and careless input through the command line (issue 16).

Every case is made here, in code: headers that claim gigantic images, deflate
bombs, DICOM values where numbers belong, absurd options, tables that climb out
of their root, full disks. Each runs ``mammocad.cli.main`` in one long-lived
process (see ``_hostile.CliRunnerProcess``) whose address space is capped, and
must end the way every bad input ends: exit code 1, exactly one ``error: ...``
line naming the file, row or option, no traceback, and a peak memory that stays
far below what the input asks for (before this round, several of these cost
gigabytes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _hostile import (
    LINUX_ONLY,
    CliRunnerProcess,
    deflated_dicom,
    dicom_bytes,
    dicom_dataset,
    dicom_jpeg_larger_than_header,
    jpeg_claiming,
    png_bytes,
    png_claiming,
    tiff_claiming,
    with_raw_value,
)

pytestmark = LINUX_ONLY

#: Peak memory a refused input may add (MB): a refusal reads a header, not an image.
REFUSAL_MB = 150
#: Peak memory a case that does real work on a small input may add (MB).
WORK_MB = 600


@dataclass(frozen=True)
class Case:
    """One hostile command line: how to make it, and what its one error line must say."""

    name: str
    make: Callable[[Path], list[str]]
    expect: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    fsize: int | None = None  # a file-size limit, in bytes: the disk is "full" past it
    peak_mb: int = REFUSAL_MB
    absent: tuple[str, ...] = ("SECRET",)  # must appear nowhere in the output


def _file(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(work: Path) -> Path:
        path = work / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return make


def _segment(name: str, data: bytes | Callable[[], bytes] | None, *extra: str) -> Callable[[Path], list[str]]:
    """``segment FILE --out ...`` on a file made from ``data`` (a callable: made when run; ``None``: the good PNG)."""

    def make(work: Path) -> list[str]:
        image = work / "good.png" if data is None else _file(name, data)(work)
        options = list(extra)
        if "--roi" not in options:
            options += ["--roi", "100,100,20" if data is None or not name.endswith(".dcm") else "32,32,10"]
        if "--pixel-spacing" not in options and not name.endswith(".dcm"):
            options += ["--pixel-spacing", "0.1"]
        return ["segment", str(image), "--out", str(work / f"out-{name}"), "-q", *options]

    return make


def _argv(*args: str) -> Callable[[Path], list[str]]:
    """A command line; ``{work}`` in an argument is the shared input folder."""
    return lambda work: [a.format(work=work) for a in args]


# --- DICOM made here -------------------------------------------------------------------


def _dicom(pixels: np.ndarray | None = None, spacing: float | None = 0.1, **values: object) -> bytes:
    ds = dicom_dataset(np.full((64, 64), 100, np.uint16) if pixels is None else pixels, spacing)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return dicom_bytes(ds)


def _dicom_raw(keyword: str, placeholder: str, value: bytes) -> bytes:
    """A DICOM whose ``keyword`` holds ``value`` byte for byte (however invalid)."""
    return with_raw_value(_dicom(**{keyword: placeholder}), placeholder.encode(), value)


def _dicom_claiming(rows: int, cols: int, frames: int | None = None) -> bytes:
    ds = dicom_dataset(np.zeros((2, 2), np.uint16))
    ds.Rows, ds.Columns = rows, cols
    if frames is not None:
        ds.NumberOfFrames = frames
    return dicom_bytes(ds)


def _without(ds, keyword: str):  # type: ignore[no-untyped-def]
    delattr(ds, keyword)
    return ds


def _cbis_table(work: Path, name: str, image_path: str) -> Path:
    from mammocad.datasets.cbis_ddsm import CBIS_COLUMNS

    columns = [*CBIS_COLUMNS, "calc type", "subtlety"]
    values = {
        "patient_id": "P_00001",
        "left or right breast": "LEFT",
        "image view": "CC",
        "abnormality id": "1",
        "abnormality type": "calcification",
        "pathology": "MALIGNANT",
        "image file path": image_path,
        "cropped image file path": "Calc-Training_P_00001_LEFT_CC_1/1/2/000001.dcm",
        "ROI mask file path": "Calc-Training_P_00001_LEFT_CC_1/1/2/000000.dcm",
    }
    row = [values.get(column, "") for column in columns]
    path = work / f"{name}_calc_case_description_train_set.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(row) + "\n")
    return path


def _cbis(name: str, image_path: str) -> Callable[[Path], list[str]]:
    def make(work: Path) -> list[str]:
        table = _cbis_table(work, name, image_path)
        return [
            "manifest",
            "cbis-ddsm",
            str(table),
            "--images",
            str(work / "cbis"),
            "--out",
            str(work / f"{name}.csv"),
        ]

    return make


def _cbis_link_out(work: Path) -> list[str]:
    root = work / "cbis"
    link = root / "Calc-Training_P_00001_LEFT_CC"
    if not link.exists():
        (work / "elsewhere" / "1" / "2").mkdir(parents=True, exist_ok=True)
        (work / "elsewhere" / "1" / "2" / "000000.png").write_bytes(png_bytes(np.zeros((64, 64), np.uint8)))
        link.symlink_to(work / "elsewhere", target_is_directory=True)
    table = _cbis_table(work, "cbis_link", "Calc-Training_P_00001_LEFT_CC/1/2/000000.dcm")
    return ["manifest", "cbis-ddsm", str(table), "--images", str(root), "--out", str(work / "cbis_link.csv")]


LESION_HEADER = "lesion_id,patient_id,image_path,laterality,view,abnormality,x,y,radius,mask_path,pathology,pixel_spacing_mm,split"


def _lesion_csv(name: str, row: str, command: str = "manifest") -> Callable[[Path], list[str]]:
    def make(work: Path) -> list[str]:
        path = work / f"{name}.csv"
        path.write_text(LESION_HEADER + "\n" + row + "\n")
        if command == "features":
            return ["features", str(path), "--out", str(work / f"{name}.parquet"), "-q"]
        return ["manifest", "csv", str(path), "--out", str(work / f"{name}-out.csv"), "-q"]

    return make


def _features_table(work: Path, name: str, edit: Callable[[pd.DataFrame], None]) -> Path:
    table = pd.read_parquet(work / "features.parquet")
    edit(table)
    path = work / f"{name}.parquet"
    table.to_parquet(path, index=False)
    return path


def _train_on(name: str, edit: Callable[[pd.DataFrame], None]) -> Callable[[Path], list[str]]:
    def make(work: Path) -> list[str]:
        path = _features_table(work, name, edit)
        return ["train", str(path), "-m", "lda", "-o", str(work / f"model-{name}"), "--folds", "3", "-q"]

    return make


def _set(column: str, value: object, row: int | None = None) -> Callable[[pd.DataFrame], None]:
    def edit(table: pd.DataFrame) -> None:
        if row is None:
            table[column] = value
        else:
            table.loc[row, column] = value

    return edit


# --- the cases ---------------------------------------------------------------------------

CASES: list[Case] = [
    # Images whose header claims far more pixels than the file holds (decoded in full before).
    Case(
        "png_30000_squared",
        _segment("huge.png", png_claiming(30000, 30000)),
        ("huge.png", "900.0 MP", "limit of 64 MP"),
    ),
    Case(
        "png_over_pillow_bomb_limit",
        _segment("bomb.png", png_claiming(20000, 10000)),
        ("bomb.png", "decompression-bomb"),
        env={"MAMMOCAD_MAX_PIXELS": str(10**9)},
    ),
    Case(
        "jpeg_header_60000_squared",
        _segment("huge.jpg", jpeg_claiming(60000, 60000)),
        ("huge.jpg", "limit of 64 MP"),
    ),
    Case(
        "tiff_header_40000_squared",
        _segment("huge.tif", tiff_claiming(40000, 40000)),
        ("huge.tif", "limit of 64 MP"),
    ),
    Case(
        "pgm_binary_header_100000_squared",
        _segment("huge.pgm", b"P5\n100000 100000\n255\n" + bytes(64)),
        ("huge.pgm", "limit"),
    ),
    Case(
        "pgm_ascii_header_100000_squared",
        _segment("huge2.pgm", b"P2\n100000 100000\n255\n1 2 3\n"),
        ("huge2.pgm", "limit"),
    ),
    Case(
        "dicom_rows_columns_65535",
        _segment("huge.dcm", _dicom_claiming(65535, 65535)),
        ("huge.dcm", "limit of 64 MP"),
    ),
    Case(
        "dicom_10_frames_of_16_mp",
        _segment("frames.dcm", _dicom_claiming(4000, 4000, frames=10)),
        ("frames.dcm", "10 frames", "limit"),
    ),
    Case(
        "dicom_deflated_10000_squared",
        _segment("deflated.dcm", lambda: deflated_dicom(8200, 8200)),
        ("deflated.dcm", "67.2 MP"),
    ),
    Case(
        "dicom_deflate_bomb_behind_small_image",
        _segment("bomb.dcm", lambda: deflated_dicom(64, 64, trailing_zeros=100 * 2**20)),
        ("bomb.dcm", "far more data"),
    ),
    Case(
        "dicom_jpeg_stream_larger_than_header",
        _segment("jpeg.dcm", dicom_jpeg_larger_than_header),
        ("jpeg.dcm", "4000x4000", "64x64"),
    ),
    Case(
        "pixel_limit_from_environment",
        _segment("small.png", None),
        ("good.png", "limit of 0.0001 MP", "MAMMOCAD_MAX_PIXELS"),
        env={"MAMMOCAD_MAX_PIXELS": "100"},
    ),
    Case(
        "pixel_limit_not_a_number",
        _segment("small.png", None),
        ("MAMMOCAD_MAX_PIXELS", "whole number"),
        env={"MAMMOCAD_MAX_PIXELS": "lots"},
    ),
    # DICOM values that are not what their attribute says (tracebacks before; never quoted).
    Case(
        "dicom_frames_secret_name",
        _segment("f1.dcm", _dicom_raw("NumberOfFrames", "123456789012", b"SECRET^NAME ")),
        ("f1.dcm", "NumberOfFrames", "whole number"),
    ),
    Case(
        "dicom_frames_fraction",
        _segment("f2.dcm", _dicom_raw("NumberOfFrames", "1234", b"2.50")),
        ("f2.dcm", "NumberOfFrames"),
    ),
    Case(
        "dicom_rows_missing",
        _segment("norows.dcm", dicom_bytes(_without(dicom_dataset(np.zeros((8, 8), np.uint16)), "Rows"))),
        ("norows.dcm", "Rows"),
    ),
    Case(
        "dicom_window_secret",
        _segment(
            "wc.dcm",
            with_raw_value(
                _dicom(WindowCenter="1234567890", WindowWidth="100"), b"1234567890", b"SECRET^NAM"
            ),
        ),
        ("wc.dcm", "malformed DICOM"),
    ),
    Case(
        "dicom_spacing_5_mm",
        _segment("sp5.dcm", _dicom(spacing=5.0)),
        ("sp5.dcm", "5 mm", "plausible"),
    ),
    Case("dicom_spacing_0_0001_mm", _segment("sp0.dcm", _dicom(spacing=0.0001)), ("sp0.dcm", "plausible")),
    Case("dicom_rgb", _segment("rgb.dcm", _dicom(SamplesPerPixel=3)), ("rgb.dcm", "samples per pixel")),
    Case("dicom_truncated", _segment("cut.dcm", _dicom()[:-3000]), ("cut.dcm",)),
    Case("dicom_not_dicom", _segment("text.dcm", b"\0" * 128 + b"DICM" + b"garbage" * 20), ("text.dcm",)),
    # Tiny images, implausible spacings (gigantic structuring elements before).
    Case(
        "image_1x1",
        _segment("one.png", png_bytes(np.zeros((1, 1), np.uint8)), "--roi", "0,0,1"),
        ("one.png", "1x1", "too small"),
    ),
    Case(
        "image_8x8",
        _segment("eight.png", png_bytes(np.zeros((8, 8), np.uint8)), "--roi", "4,4,2"),
        ("eight.png", "too small"),
    ),
    Case(
        "spacing_0_002",
        _segment("s1", None, "--pixel-spacing", "0.002"),
        ("--pixel-spacing", "given pixel spacing", "0.002 mm", "plausible"),
    ),
    Case("spacing_zero", _segment("s2", None, "--pixel-spacing", "0"), ("given pixel spacing", "plausible")),
    Case("spacing_negative", _segment("s3", None, "--pixel-spacing", "-0.1"), ("given pixel spacing",)),
    Case("spacing_nan", _segment("s4", None, "--pixel-spacing", "nan"), ("given pixel spacing", "nan")),
    Case("spacing_1e308", _segment("s5", None, "--pixel-spacing", "1e308"), ("given pixel spacing",)),
    Case("spacing_not_a_number", _segment("s6", None, "--pixel-spacing", "thin"), ("--pixel-spacing",)),
    # ROIs (the overlay circle grew with the radius: 5 GB for 1e7, OverflowError for 1e300).
    Case("roi_radius_1e7", _segment("r1", None, "--roi", "100,100,1e7"), ("radius 1e+07", "diagonal")),
    Case("roi_radius_1e300", _segment("r2", None, "--roi", "100,100,1e300"), ("radius 1e+300", "diagonal")),
    Case("roi_radius_inf", _segment("r3", None, "--roi", "100,100,1e400"), ("finite",)),
    Case("roi_centre_nan", _segment("r4", None, "--roi", "nan,100,20"), ("finite",)),
    Case("roi_negative_radius", _segment("r5", None, "--roi", "100,100,-5"), ("radius", "> 0")),
    Case("roi_two_numbers", _segment("r6", None, "--roi", "100,100"), ("X,Y,R",)),
    Case("roi_words", _segment("r7", None, "--roi", "a,b,c"), ("X,Y,R",)),
    Case("roi_outside_image", _segment("r8", None, "--roi", "5000,5000,10"), ("outside",)),
    # Files that are not what they say.
    Case("empty_file", _segment("empty.png", b""), ("empty.png", "empty")),
    Case("text_named_png", _segment("text.png", b"this is not a PNG\n"), ("text.png",)),
    Case(
        "truncated_png",
        _segment(
            "cut.png", png_bytes(np.random.default_rng(0).integers(0, 255, (256, 256), dtype=np.uint8))[:2000]
        ),
        ("cut.png",),
    ),
    Case(
        "colour_png",
        _segment(
            "colour.png",
            png_bytes(
                np.dstack(
                    [
                        np.zeros((64, 64), np.uint8),
                        np.full((64, 64), 255, np.uint8),
                        np.zeros((64, 64), np.uint8),
                    ]
                )
            ),
        ),
        ("colour.png", "colour"),
    ),
    Case("unknown_suffix", _segment("image.bmp", b"BM" + bytes(100)), ("image.bmp", "unknown image type")),
    Case("pgm_maxval_zero", _segment("zero.pgm", b"P5\n4 4\n0\n" + bytes(16)), ("zero.pgm", "maxval")),
    Case(
        "a_folder_as_image",
        _argv("segment", "{work}", "--out", "{work}/o-folder", "--roi", "1,1,1", "--pixel-spacing", "0.1"),
        ("no such file",),
    ),
    # Tables.
    Case(
        "cbis_path_climbs_out",
        _cbis("cbis_up", "../../etc/passwd"),
        ("cbis_up", "line 2", "leads outside the image root"),
    ),
    Case("cbis_absolute_path", _cbis("cbis_abs", "/etc/passwd"), ("cbis_abs", "line 2", "leads outside")),
    Case("cbis_series_folder_links_out", _cbis_link_out, ("cbis_link", "line 2", "link leading outside")),
    Case(
        "lesion_table_nul_byte",
        _lesion_csv("nul", "a\x00b,p1,good.png,L,CC,mass,1,2,3,,benign,0.1,"),
        ("nul.csv", "line 2", "NUL"),
    ),
    Case(
        "lesion_table_spacing_0_002",
        _lesion_csv("sp", "a1,p1,good.png,L,CC,mass,1,2,3,,benign,0.002,"),
        ("sp.csv", "line 2", "pixel_spacing_mm", "plausible"),
    ),
    Case(
        "lesion_table_not_utf8",
        lambda work: [
            "manifest",
            "csv",
            str(
                _file(
                    "latin.csv",
                    (LESION_HEADER + "\na1,p1,good.png,L,CC,mass,1,2,3,,b\xe9nign,0.1,\n").encode("latin-1"),
                )(work)
            ),
            "--out",
            str(work / "latin-out.csv"),
        ],
        ("latin.csv", "UTF-8"),
    ),
    # Options and feature tables (tracebacks before).
    Case(
        "train_jobs_zero",
        _argv("train", "{work}/features.parquet", "-m", "lda", "-o", "{work}/m0", "--jobs", "0"),
        ("--jobs",),
    ),
    Case(
        "train_seed_negative",
        _argv("train", "{work}/features.parquet", "-m", "lda", "-o", "{work}/m1", "--seed", "-1"),
        ("--seed",),
    ),
    Case(
        "train_folds_not_a_number",
        _argv("train", "{work}/features.parquet", "-m", "lda", "-o", "{work}/m2", "--folds", "ten"),
        ("--folds",),
    ),
    Case(
        "train_feature_1e308",
        _train_on("f308", _set("calc_count", 1e308)),
        ("f308.parquet", "calc_count", "1e12"),
        peak_mb=WORK_MB,
    ),
    Case(
        "train_feature_infinite",
        _train_on("finf", _set("calc_count", np.inf, row=0)),
        ("finf.parquet", "infinite"),
        peak_mb=WORK_MB,
    ),
    Case(
        "train_garbage_parquet",
        lambda work: [
            "train",
            str(_file("garbage.parquet", b"PAR1 not really PAR1")(work)),
            "-m",
            "lda",
            "-o",
            str(work / "m3"),
        ],
        ("garbage.parquet",),
    ),
    Case(
        "predict_roi_1e7",
        _argv("predict", "{work}/model", "{work}/good.png", "--roi", "100,100,1e7", "--pixel-spacing", "0.1"),
        ("diagonal",),
        peak_mb=WORK_MB,
    ),
    Case(
        "predict_not_a_model",
        _argv("predict", "{work}", "{work}/good.png", "--roi", "100,100,10"),
        ("model.json",),
    ),
    Case("unknown_command", _argv("segmnet", "x.png"), ("No such command",)),
    Case(
        "unknown_option",
        _argv("segment", "{work}/good.png", "--out", "{work}/o", "--frobnicate"),
        ("--frobnicate",),
    ),
    Case("missing_argument", _argv("segment"), ("image",)),
    # A full disk: the error names the file that could not be written.
    Case(
        "segment_disk_full", _segment("full", None), ("cannot write", "out-full"), fsize=2000, peak_mb=WORK_MB
    ),
    Case(
        "manifest_disk_full",
        _lesion_csv("full", "a1,p1,good.png,L,CC,mass,1,2,3,,benign,0.1,"),
        ("cannot write", "full-out.csv"),
        fsize=100,
    ),
    Case(
        "train_disk_full",
        _argv("train", "{work}/features.parquet", "-m", "lda", "-o", "{work}/m-full", "--folds", "3", "-q"),
        ("cannot write", "m-full"),
        fsize=2000,
        peak_mb=WORK_MB,
    ),
]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared inputs: a good PNG, a feature table, a model, an empty CBIS image root."""
    from mammocad.features import FEATURE_NAMES
    from mammocad.models import make_model, save_model

    work = tmp_path_factory.mktemp("hostile")
    (work / "good.png").write_bytes(png_bytes(np.tile(np.linspace(20, 220, 256), (256, 1)).astype(np.uint8)))
    (work / "cbis").mkdir()
    rng = np.random.default_rng(0)
    n = 36
    features = rng.normal(size=(n, len(FEATURE_NAMES)))
    labels = np.arange(n) % 2
    features[:, 0] += 2.0 * labels
    table = pd.DataFrame(features, columns=list(FEATURE_NAMES))
    table.insert(0, "lesion_id", [f"L{i}" for i in range(n)])
    table.insert(1, "patient_id", [f"P{i // 2}" for i in range(n)])
    table.insert(2, "abnormality", "calcification")
    table.insert(3, "pathology", np.where(labels == 1, "malignant", "benign"))
    table.insert(4, "label", labels)
    table.insert(5, "split", "train")
    table.to_parquet(work / "features.parquet", index=False)
    model = make_model("lda", random_state=0).fit(features, labels)
    save_model(work / "model", model, feature_names=list(FEATURE_NAMES), metadata={"model": "lda-fixture"})
    return work


@pytest.fixture(scope="module")
def cli() -> CliRunnerProcess:
    runner = CliRunnerProcess()
    yield runner
    runner.close()


def test_there_are_at_least_40_hostile_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_input_ends_in_one_clean_error(case: Case, work: Path, cli: CliRunnerProcess) -> None:
    argv = case.make(work)
    result = cli.run(argv, cwd=work, env=case.env, fsize=case.fsize)
    output = result["stdout"] + result["stderr"]
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert result["rc"] == 1, f"exit code {result['rc']}; output:\n{output}"
    assert "Traceback" not in output
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], output
    assert "unexpected" not in errors[0], errors[0]  # guarded's words for a defect of mammocad
    for fragment in case.expect:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    for fragment in case.absent:
        assert fragment not in output
    assert result["peak_extra_mb"] < case.peak_mb, f"peak memory rose by {result['peak_extra_mb']} MB"


def test_formula_cells_are_written_inert_and_read_back_unchanged(work: Path, cli: CliRunnerProcess) -> None:
    """``=HYPERLINK(...)`` in a lesion table: written with a leading apostrophe, read back as it was."""
    from mammocad.datasets import read_lesion_table

    source = work / "formula.csv"
    source.write_text(
        LESION_HEADER
        + ",note,offset\n"
        + 'a1,p1,good.png,L,CC,mass,1,2,3,,benign,0.1,,"=HYPERLINK(""http://example.com"",""x"")",-3\n'
        + "a2,p1,good.png,L,CC,mass,4,5,6,,benign,0.1,,@SUM(A1),-4.5\n"
    )
    out = work / "formula-out.csv"
    result = cli.run(["manifest", "csv", str(source), "--out", str(out), "-q"], cwd=work)
    assert result["rc"] == 0, result["stderr"]
    written = out.read_text()
    assert "'=HYPERLINK" in written and "'@SUM(A1)" in written
    assert ",-3\n" in written and ",-4.5\n" in written  # numbers stay numbers
    for line in written.splitlines()[1:]:
        assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(","))
    back = read_lesion_table(out)
    assert back["note"].tolist() == ['=HYPERLINK("http://example.com","x")', "@SUM(A1)"]
    assert back["offset"].tolist() == [-3.0, -4.5]


def test_peak_memory_is_really_measured(work: Path, cli: CliRunnerProcess) -> None:
    """The bounds above mean something: decoding a real 16-megapixel image shows in the peak."""
    big = work / "big.png"
    big.write_bytes(png_bytes(np.tile(np.arange(4000, dtype=np.uint16) % 251, (4000, 1)).astype(np.uint8)))
    result = cli.run(
        [
            "segment",
            str(big),
            "--out",
            str(work / "o-big"),
            "--roi",
            "2000,2000,50",
            "--pixel-spacing",
            "0.05",
            "-q",
        ],
        cwd=work,
    )
    assert result["rc"] == 0, result["stderr"]
    assert result["peak_extra_mb"] > 16  # at least the 16 MB of 8-bit pixels
