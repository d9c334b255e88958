"""The ``mammocad segment`` command end to end on small PNGs written in tmp."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _segment_scenes import mass_scene
from PIL import Image
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.pipeline.segmentation import CANDIDATE_COLUMNS

runner = CliRunner()


@pytest.fixture()
def png(tmp_path):
    s = mass_scene(shape=(300, 300), centre=(150, 150), axes=(20, 24), contrast=70.0)
    img = s.image.copy()
    for r, c in [(140, 120), (146, 126), (152, 118), (135, 128)]:
        img[r - 1 : r + 2, c - 1 : c + 2] += 60
    path = tmp_path / "film.png"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


def _run(*args: str):
    return runner.invoke(app, ["segment", *map(str, args)])


def test_segment_with_roi_writes_all_outputs(png, tmp_path):
    out = tmp_path / "out"
    res = _run(png, "--roi", "150,150,40", "--pixel-spacing", "0.2", "--no-normalise", "--out", out)
    assert res.exit_code == 0, res.output
    for name in ("overlay.png", "calcifications.png", "mass.png", "segmentation.json"):
        assert (out / name).is_file()
    summary = json.loads((out / "segmentation.json").read_text())
    assert summary["roi"]["x"] == 150 and summary["type"] == "both"
    assert summary["mass"]["found"] and summary["mass"]["area_mm2"] == pytest.approx(
        summary["mass"]["area_px"] * 0.04
    )
    assert summary["calcifications"]["count"] >= 3 and len(summary["calcifications"]["clusters"]) == 1
    labels = np.asarray(Image.open(out / "calcifications.png"))
    assert labels.dtype == np.uint16 and labels.max() == summary["calcifications"]["count"]
    mass = np.asarray(Image.open(out / "mass.png"))
    assert set(np.unique(mass)) == {0, 255} and (mass > 0).sum() == summary["mass"]["area_px"]
    overlay = Image.open(out / "overlay.png")
    assert overlay.mode == "RGB" and overlay.size == (300, 300)


def test_roi_is_mapped_through_normalisation(png, tmp_path):
    out = tmp_path / "n"
    res = _run(png, "--roi", "150,150,40", "--type", "mass", "--pixel-spacing", "0.2", "--out", out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "segmentation.json").read_text())
    scale = 1024 / 300
    assert summary["scale"] == pytest.approx(scale)
    assert summary["roi"]["x"] == pytest.approx(150 * scale) and summary["roi"]["source"][
        "x"
    ] == pytest.approx(150)
    assert summary["calcifications"] is None and summary["mass"]["found"]
    assert summary["pixel_spacing_mm"] == pytest.approx(0.2 / scale)


def test_automatic_candidates(png, tmp_path):
    out = tmp_path / "auto"
    res = _run(png, "--pixel-spacing", "0.2", "--no-normalise", "--view", "mlo", "--out", out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "segmentation.json").read_text())
    assert "candidates" in summary and isinstance(summary["candidates"], list)
    table = pd.read_csv(out / "candidates.csv")
    assert list(table.columns) == list(CANDIDATE_COLUMNS)
    assert len(table) == len(summary["candidates"]) and list(table["rank"]) == list(range(1, len(table) + 1))
    for row, cand in zip(table.itertuples(), summary["candidates"], strict=True):
        assert row.kind == cand["kind"] and row.score == pytest.approx(cand["score"])
        assert row.x == pytest.approx(cand["roi"]["x"]) and row.source_x == pytest.approx(
            cand["roi"]["source"]["x"]
        )
    assert (table["score"].diff().dropna() <= 0).all()


def test_automatic_candidates_on_a_film_stay_in_the_breast(tmp_path):
    """A whole film with a label, a film-edge strip and a pectoral muscle, view not given."""
    from mammocad.segment import breast_region
    from mammocad.synth import make_case

    case = make_case(7, abnormality="both", view="MLO", size=512, pixel_spacing_mm=0.2)
    img = case.mammogram.pixels.copy()
    img[:, -6:] = 230  # a bright film-edge strip
    path = tmp_path / "film.png"
    Image.fromarray(img).save(path)
    out = tmp_path / "film"
    res = _run(path, "--pixel-spacing", "0.2", "--no-normalise", "--out", out)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "candidates.csv")
    assert len(table) > 0
    tissue = breast_region(img).tissue
    assert all(tissue[int(round(r.y)), int(round(r.x))] for r in table.itertuples())
    labels = np.asarray(Image.open(out / "calcifications.png"))
    assert not (labels > 0)[~tissue].any()  # the segmented calcifications too
    assert np.asarray(Image.open(out / "overlay.png")).shape == (512, 512, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roi", "5000,5000,10"], "outside"),
        (["--roi", "10,10,0"], "radius"),
        (["--roi", "10,10"], "X,Y,R"),
        (["--type", "tumour", "--roi", "10,10,5"], "type"),
    ],
)
def test_bad_arguments_exit_1_with_message(png, tmp_path, args, message):
    res = _run(png, *args, "--pixel-spacing", "0.2", "--out", tmp_path / "x")
    assert res.exit_code == 1
    assert "error:" in res.output and message in res.output


def test_missing_spacing_and_missing_file(png, tmp_path):
    res = _run(png, "--roi", "10,10,5", "--out", tmp_path / "x")
    assert res.exit_code == 1 and "pixel spacing" in res.output
    res = _run(tmp_path / "nope.png", "--pixel-spacing", "0.2", "--out", tmp_path / "x")
    assert res.exit_code == 1 and "no such file" in res.output


@pytest.mark.parametrize("value", [0, 128, 255])
def test_black_and_uniform_images_give_empty_results(tmp_path, value):
    """No breast at all (blank, uniform or all white): empty, well-formed results."""
    path = tmp_path / "flat.png"
    Image.fromarray(np.full((64, 64), value, np.uint8)).save(path)
    out = tmp_path / "o"
    res = _run(path, "--roi", "32,32,10", "--pixel-spacing", "0.2", "--no-normalise", "--out", out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "segmentation.json").read_text())
    assert summary["calcifications"]["count"] == 0 and not summary["mass"]["found"]
    res = _run(path, "--pixel-spacing", "0.2", "--out", tmp_path / "a")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "a" / "segmentation.json").read_text())["candidates"] == []
    assert list(pd.read_csv(tmp_path / "a" / "candidates.csv").columns) == list(CANDIDATE_COLUMNS)


def _synthetic_png(tmp_path, name: str, image: np.ndarray):
    path = tmp_path / f"{name}.png"
    Image.fromarray(image).save(path)
    return path


def test_a_crop_that_is_breast_throughout_is_searched_throughout(tmp_path):
    from scipy import ndimage as ndi

    from mammocad.synth import make_case

    case = make_case(11, abnormality="both", size=512, pixel_spacing_mm=0.2, view="CC")
    rows, cols = np.nonzero(ndi.binary_erosion(case.breast_mask, iterations=40))
    crop = np.ascontiguousarray(case.mammogram.pixels[rows.min() : rows.max(), cols.min() : cols.max()])
    out = tmp_path / "crop"
    res = _run(
        _synthetic_png(tmp_path, "crop", crop), "--pixel-spacing", "0.2", "--no-normalise", "--out", out
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "candidates.csv")
    assert len(table) > 0
    assert table["x"].between(0, crop.shape[1] - 1).all() and table["y"].between(0, crop.shape[0] - 1).all()
    assert json.loads((out / "segmentation.json").read_text())["candidates"]


def test_mlo_without_visible_muscle_runs_as_a_whole_breast(tmp_path):
    from mammocad.segment import breast_region
    from mammocad.synth import make_case

    # a CC-shaped film declared MLO: no muscle to find, nothing may be cut away
    case = make_case(7, abnormality="both", size=512, pixel_spacing_mm=0.2, view="CC")
    img = case.mammogram.pixels
    out = tmp_path / "mlo"
    path = _synthetic_png(tmp_path, "mlo", img)
    res = _run(path, "--pixel-spacing", "0.2", "--no-normalise", "--view", "MLO", "--out", out)
    assert res.exit_code == 0, res.output
    region = breast_region(img, view="MLO")
    assert not region.pectoral_found and region.tissue.sum() > 0.9 * case.breast_mask.sum()
    table = pd.read_csv(out / "candidates.csv")
    assert len(table) > 0 and all(region.tissue[int(round(r.y)), int(round(r.x))] for r in table.itertuples())


def test_roi_partly_outside_is_clipped(png, tmp_path):
    out = tmp_path / "p"
    res = _run(png, "--roi", "0,0,60", "--pixel-spacing", "0.2", "--no-normalise", "--out", out)
    assert res.exit_code == 0, res.output
