"""The data folder: listing, lesion tables, opening images, and refusing every way out of it."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from _viewer_helpers import client_for, png_bytes

from mammocad.viewer import create_app
from mammocad.viewer.datadir import DataFolder, DataPathError


@pytest.fixture()
def data_dir(tmp_path, case):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "images" / "case1.png").write_bytes(png_bytes(case.pixels))
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.png").write_bytes(png_bytes(case.pixels))
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes(case.pixels))
    os.symlink(outside, root / "images" / "link-out.png")
    os.symlink(tmp_path, root / "dir-out")
    x, y, radius = case.calc_roi
    rows = []
    for lesion_id, image in (("L1", "images/case1.png"), ("L2", str(outside))):
        rows.append(
            {
                "lesion_id": lesion_id,
                "patient_id": "P1",
                "image_path": image,
                "laterality": "",
                "view": "",
                "abnormality": "calcification",
                "x": x,
                "y": y,
                "radius": radius,
                "mask_path": "",
                "pathology": "malignant",
                "pixel_spacing_mm": case.pixel_spacing_mm,
                "split": "",
            }
        )
    from mammocad.datasets import write_lesion_table

    write_lesion_table(pd.DataFrame(rows), root / "lesions.csv")
    (root / "notes.csv").write_text("a,b\n1,2\n")
    return root


@pytest.fixture()
def client(data_dir):
    return client_for(create_app(data_dir=data_dir), raise_server_exceptions=False)


def test_listing_shows_images_and_tables_inside(client):
    listing = client.get("/api/data").json()
    assert listing["images"] == ["images/case1.png"]  # no hidden files, no links leading out
    assert listing["tables"] == ["lesions.csv", "notes.csv"]


def test_table_rows_are_relative_and_stay_inside(client, case):
    r = client.post("/api/data/table", json={"path": "lesions.csv"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["lesion_id"] for row in rows] == ["L1"]  # L2's image lies outside the folder
    assert rows[0]["image"] == "images/case1.png"
    assert rows[0]["x"] == pytest.approx(case.calc_roi[0])


def test_not_a_lesion_table_is_422_naming_it_relatively(client, data_dir):
    r = client.post("/api/data/table", json={"path": "notes.csv"})
    assert r.status_code == 422
    assert "notes.csv" in r.json()["detail"] and str(data_dir) not in r.json()["detail"]


def test_open_image_then_analyse_with_the_table_roi(client, case):
    info = client.post(
        "/api/data/open", json={"path": "images/case1.png", "pixel_spacing_mm": case.pixel_spacing_mm}
    ).json()
    assert info["name"] == "images/case1.png" and info["pixel_spacing_mm"] == case.pixel_spacing_mm
    x, y, radius = case.calc_roi
    r = client.post(f"/api/images/{info['image_id']}/analyse", json={"x": x, "y": y, "radius": radius})
    assert r.status_code == 200
    result = r.json()
    assert result["calcifications"]["count"] >= 1
    assert result["calcifications"]["count"] == result["features"]["calc_count"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../outside.png", 400),
        ("images/../../outside.png", 400),
        ("/etc/passwd", 400),
        ("images/link-out.png", 400),  # a link inside that leads out
        ("dir-out/outside.png", 400),
        ("images\\..\\..\\outside.png", 400),
        ("images/case1.png\x00.txt", 400),
        ("", 400),
        ("images/missing.png", 404),
        ("lesions.csv", 400),  # not an image
    ],
)
def test_paths_leading_out_or_nowhere_are_refused(client, case, path, status):
    r = client.post("/api/data/open", json={"path": path})
    assert r.status_code == status, r.text
    assert "data" in r.json()["detail"]
    good = client.post("/api/data/open", json={"path": "images/case1.png"})
    assert good.status_code == 200  # and the server keeps serving


@pytest.mark.parametrize("path", ["../lesions.csv", "/etc/hosts", "dir-out"])
def test_table_paths_leading_out_are_400(client, path):
    assert client.post("/api/data/table", json={"path": path}).status_code == 400


def test_without_data_folder_data_requests_are_404(case_png):
    client = client_for(create_app())
    assert client.get("/api/data").status_code == 404
    r = client.post("/api/data/open", json={"path": "x.png"})
    assert r.status_code == 404 and "--data" in r.json()["detail"]


def test_resolve_does_not_follow_dotdot(data_dir):
    folder = DataFolder(data_dir)
    assert folder.resolve("images/case1.png") == (data_dir / "images" / "case1.png").resolve()
    with pytest.raises(DataPathError) as err:
        folder.resolve("images/../images/case1.png")
    assert err.value.status_code == 400


def test_data_folder_must_exist(tmp_path):
    from mammocad.errors import MammocadError

    with pytest.raises(MammocadError, match="not a folder"):
        DataFolder(tmp_path / "nope")


@pytest.mark.realdata
def test_mias_folder_is_a_table(data_root):
    folder = DataFolder(data_root)
    if "mias" not in folder.listing()["tables"]:
        pytest.skip("no mini-MIAS folder in MAMMOCAD_DATA")
    rows = folder.read_table("mias")
    assert len(rows) > 100 and all(row["image"].startswith("mias/") for row in rows)
    assert {row["pixel_spacing_mm"] for row in rows} == {0.2}
