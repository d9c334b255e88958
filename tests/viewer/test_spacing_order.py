"""The viewer's pixel spacing: the file's, else the table row's, else the dataset's nominal value,
else the one the user types; every result says which (``pixel_spacing_source``)."""

from __future__ import annotations

import pandas as pd
import pytest
from _viewer_helpers import client_for, dicom_bytes, png_bytes

from mammocad.datasets import write_lesion_table
from mammocad.viewer import create_app


@pytest.fixture()
def data_dir(tmp_path, case):
    root = tmp_path / "data"
    root.mkdir()
    (root / "film.png").write_bytes(png_bytes(case.pixels))
    (root / "film.dcm").write_bytes(dicom_bytes(case.pixels, 0.07))
    x, y, radius = case.calc_roi
    rows = [
        {"lesion_id": lid, "patient_id": "P1", "image_path": image, "abnormality": "calcification",
         "x": x, "y": y, "radius": radius, "pathology": "malignant", "pixel_spacing_mm": spacing,
         "nominal_pixel_spacing_mm": 0.0435}
        for lid, image, spacing in (("T", "film.png", 0.1), ("N", "film.png", None), ("D", "film.dcm", 0.1))
    ]  # fmt: skip
    write_lesion_table(pd.DataFrame(rows), root / "lesions.csv")
    return root


def test_open_from_a_table_row_follows_the_order(data_dir, case):
    client = client_for(create_app(data_dir=data_dir))
    rows = {
        r["lesion_id"]: r for r in client.post("/api/data/table", json={"path": "lesions.csv"}).json()["rows"]
    }
    assert rows["N"]["nominal_pixel_spacing_mm"] == 0.0435
    seen = {}
    for lesion_id, row in rows.items():
        body = {"path": row["image"], "pixel_spacing_mm": row["pixel_spacing_mm"],
                "nominal_pixel_spacing_mm": row["nominal_pixel_spacing_mm"]}  # fmt: skip
        info = client.post("/api/data/open", json=body).json()
        x, y, radius = case.calc_roi
        # The spacing typed in the page only fills in: it never overrides these.
        result = client.post(
            f"/api/images/{info['image_id']}/analyse",
            json={"x": x, "y": y, "radius": radius, "pixel_spacing_mm": 0.3},
        ).json()
        assert result["pixel_spacing_mm"] == pytest.approx(info["pixel_spacing_mm"])
        seen[lesion_id] = (result["pixel_spacing_mm"], result["pixel_spacing_source"])
    assert seen == {
        "T": (pytest.approx(0.1), "table"),
        "N": (pytest.approx(0.0435), "nominal"),
        "D": (pytest.approx(0.07), "dicom"),
    }


def test_typed_spacing_fills_in_and_is_recorded(data_dir, case):
    client = client_for(create_app(data_dir=data_dir))
    info = client.post("/api/data/open", json={"path": "film.png"}).json()
    assert info["pixel_spacing_mm"] is None
    x, y, radius = case.calc_roi
    result = client.post(
        f"/api/images/{info['image_id']}/analyse",
        json={"x": x, "y": y, "radius": radius, "pixel_spacing_mm": 0.1},
    ).json()
    assert (result["pixel_spacing_mm"], result["pixel_spacing_source"]) == (pytest.approx(0.1), "option")


def test_a_mini_mias_data_folder_is_listed_by_its_index_not_as_dot(tmp_path, case):
    root = tmp_path / "mias"
    root.mkdir()
    (root / "mdb001.png").write_bytes(png_bytes(case.pixels))
    (root / "Info.txt").write_text("mdb001 G CIRC B 300 200 40\n")
    client = client_for(create_app(data_dir=root))
    tables = client.get("/api/data").json()["tables"]
    assert tables == ["Info.txt"]
    rows = client.post("/api/data/table", json={"path": "Info.txt"}).json()["rows"]
    assert [r["image"] for r in rows] == ["mdb001.png"]
