"""Drive the real page in headless Chromium: open an image, place an ROI, see overlay and probability.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright's Python client;
skipped with a reason where either is absent. The server is a real uvicorn on a
free loopback port, in a thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def _publish(screenshot: Path) -> None:
    """Copy a screenshot into docs/images when MAMMOCAD_UPDATE_SCREENSHOTS=1 (never by default)."""
    if os.environ.get("MAMMOCAD_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, DOCS_IMAGES / screenshot.name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yield its URL."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    # uvicorn sets .started once it listens; wait on it without sleeping blindly.
    for _ in range(200):
        if srv.started:
            break
        thread.join(timeout=0.05)
    if not srv.started:
        srv.should_exit = True
        pytest.fail("uvicorn did not start within 10 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (Python client) is not installed"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def _open_page(browser, url: str):
    """A fresh page on ``url``; fails the test if the page raised a JavaScript error."""
    context = browser.new_context(viewport={"width": 1400, "height": 860}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(url)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[str]:
    from mammocad.viewer import create_app

    with _serve(create_app(model_dir=model_dir)) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser, server: str):
    with _open_page(browser, server + "/") as pg:
        yield pg


def test_open_place_roi_analyse(page, case, case_dicom, model_dir, tmp_path):
    dicom = tmp_path / "study.dcm"
    dicom.write_bytes(case_dicom)

    from mammocad.models import load_model

    auc = load_model(model_dir).metadata["metadata"]["metrics"]["test_auc"]
    page.wait_for_function("() => document.getElementById('model-badge').textContent.includes('lda-fixture')")
    assert f"test AUC {auc:.3f}" in page.inner_text("#model-badge")
    page.wait_for_function(
        "() => document.querySelectorAll('#features tbody tr[data-feature]').length === 41"
    )

    page.set_input_files("#file-input", str(dicom))
    page.wait_for_function("() => document.getElementById('image-name').textContent === 'study.dcm'")
    assert page.input_value("#spacing") == str(case.pixel_spacing_mm)

    # Drag from the mass centre outwards: centre and radius of the ROI.
    x, y, radius = case.mass_roi
    start = page.evaluate(f"window.mammocadViewer.imageToPage({x}, {y})")
    edge = page.evaluate(f"window.mammocadViewer.imageToPage({x + radius}, {y})")
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move((start["x"] + edge["x"]) / 2, start["y"], steps=3)
    page.mouse.move(edge["x"], edge["y"], steps=3)
    page.mouse.up()
    roi = page.evaluate("window.mammocadViewer.state.roi")
    assert roi["x"] == pytest.approx(x, abs=2) and roi["y"] == pytest.approx(y, abs=2)
    assert roi["radius"] == pytest.approx(radius, rel=0.1)

    page.click("#analyse-btn")
    page.wait_for_function("() => document.getElementById('probability').textContent.includes('%')")
    probability = float(page.inner_text("#probability").split()[0])
    assert 0.0 <= probability <= 100.0
    assert "lda-fixture" in page.inner_text("#probability-note")
    result = page.evaluate("window.mammocadViewer.state.result")
    assert len(result["mass"]["contour_xy"]) > 10
    assert page.evaluate("window.mammocadViewer.state.calcLayer !== null")
    values = page.locator("#features tbody tr[data-feature] td.num").all_inner_texts()
    assert len(values) == 41 and not any(v.startswith("undefined") for v in values)

    # The overlay is drawn: mass-contour red appears on the canvas, and disappears when toggled off.
    red_pixels = """() => {
        const c = document.getElementById('canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 80 && d[i + 2] < 80) n++;
        return n;
    }"""
    assert page.evaluate(red_pixels) > 50
    page.uncheck("#show-mass")
    assert page.evaluate(red_pixels) == 0
    page.check("#show-mass")

    with page.expect_download() as download:
        page.click("#export-png")
    assert download.value.suggested_filename == "study-overlay.png"

    # A click (no drag) on the calcification cluster places a 5 mm ROI there; analyse it too.
    x, y, _ = case.calc_roi
    point = page.evaluate(f"window.mammocadViewer.imageToPage({x}, {y})")
    page.mouse.click(point["x"], point["y"])
    roi = page.evaluate("window.mammocadViewer.state.roi")
    assert roi["radius"] == pytest.approx(5.0 / case.pixel_spacing_mm)
    first = page.evaluate("window.mammocadViewer.state.result.result_id")
    page.click("#analyse-btn")
    page.wait_for_function(f"() => window.mammocadViewer.state.result.result_id !== '{first}'")
    count = page.evaluate("window.mammocadViewer.state.result.calcifications.count")
    assert count >= 1 and page.inner_text("#calc-count") == str(count)
    yellow_pixels = red_pixels.replace("d[i] > 200 && d[i + 1] < 80", "d[i] > 200 && d[i + 1] > 200")
    assert page.evaluate(yellow_pixels) > 5
    page.uncheck("#show-calc")
    assert page.evaluate(yellow_pixels) == 0
    page.check("#show-calc")

    page.screenshot(path=str(tmp_path / "viewer.png"))
    assert (tmp_path / "viewer.png").stat().st_size > 10_000
    _publish(tmp_path / "viewer.png")


def test_bad_upload_shows_a_message_and_page_keeps_working(page, tmp_path, case_png):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image at all\n" * 10)
    page.set_input_files("#file-input", str(bad))
    page.wait_for_selector("#message:not([hidden])")
    assert "notes.png" in page.inner_text("#message") and "not an image" in page.inner_text("#message")
    good = tmp_path / "good.png"
    good.write_bytes(case_png)
    page.set_input_files("#file-input", str(good))
    page.wait_for_function("() => document.getElementById('image-name').textContent === 'good.png'")
    assert page.input_value("#spacing") == ""  # PNG carries no spacing: the user is asked for it


@pytest.mark.realdata
def test_pick_a_lesion_from_the_mias_table(browser, mias_dir, tmp_path):
    """--data with the real mini-MIAS: choose the table, a lesion, analyse its ROI."""
    from mammocad.viewer import create_app

    with _serve(create_app(data_dir=mias_dir.parent)) as url, _open_page(browser, url + "/") as pg:
        has_mias = (
            "() => [...document.querySelectorAll('#table-select option')].some(o => o.value === 'mias')"
        )
        pg.wait_for_function(has_mias)
        pg.select_option("#table-select", "mias")
        pg.wait_for_function("() => document.querySelectorAll('#row-select option').length > 100")
        find = "() => window.mammocadViewer.state.tableRows.findIndex(r => r.lesion_id === 'mdb209')"
        pg.select_option("#row-select", str(pg.evaluate(find)))
        pg.wait_for_function("() => document.getElementById('image-name').textContent === 'mias/mdb209.png'")
        assert pg.input_value("#spacing") == "0.2"  # from the table
        # The table's ROI (Info.txt: 647 503 87, y measured from the bottom of the 1024 film).
        assert pg.evaluate("window.mammocadViewer.state.roi") == {"x": 647, "y": 1024 - 503, "radius": 87}
        assert "No model loaded" in pg.inner_text("#model-badge")
        pg.fill("#window", "160")
        pg.dispatch_event("#window", "input")
        pg.click("#zoom-in")
        pg.click("#zoom-in")
        pg.click("#analyse-btn")
        pg.wait_for_function("() => window.mammocadViewer.state.result !== null")
        assert pg.inner_text("#probability") == "n/a"
        assert "--model" in pg.inner_text("#probability-note")
        pg.click("#candidates-btn")
        pg.wait_for_function("() => window.mammocadViewer.state.candidates.length > 0")
        pg.evaluate("document.getElementById('left').scrollTop = 0")
        pg.screenshot(path=str(tmp_path / "viewer-mias.png"))
        _publish(tmp_path / "viewer-mias.png")


def _drag_roi(pg, x: float, y: float, radius: float) -> None:
    """Drag from the centre outwards, as a user places an ROI."""
    start = pg.evaluate(f"window.mammocadViewer.imageToPage({x}, {y})")
    edge = pg.evaluate(f"window.mammocadViewer.imageToPage({x + radius}, {y})")
    pg.mouse.move(start["x"], start["y"])
    pg.mouse.down()
    pg.mouse.move(edge["x"], edge["y"], steps=4)
    pg.mouse.up()


def test_export_dicom_downloads_a_seg_and_an_sr(page, case, case_dicom, case_png, tmp_path):
    """The button shows for a DICOM only; its zip holds a SEG and an SR that highdicom reads back."""
    import zipfile

    import highdicom as hd

    from mammocad.export import PROBABILITY_CONCEPT

    png = tmp_path / "film.png"
    png.write_bytes(case_png)
    page.set_input_files("#file-input", str(png))
    page.wait_for_function("() => document.getElementById('image-name').textContent === 'film.png'")
    page.fill("#spacing", str(case.pixel_spacing_mm))
    page.dispatch_event("#spacing", "change")
    _drag_roi(page, *case.mass_roi)
    page.click("#analyse-btn")
    page.wait_for_function("() => document.getElementById('probability').textContent.includes('%')")
    assert page.is_visible("#export-png") and not page.is_visible("#export-dicom")  # not for a PNG

    dicom = tmp_path / "study.dcm"
    dicom.write_bytes(case_dicom)
    page.set_input_files("#file-input", str(dicom))
    page.wait_for_function("() => document.getElementById('image-name').textContent === 'study.dcm'")
    assert not page.is_visible("#export-dicom")  # no result yet
    _drag_roi(page, *case.mass_roi)
    page.click("#analyse-btn")
    page.wait_for_selector("#export-dicom:not([hidden])")
    probability = page.evaluate("window.mammocadViewer.state.result.probability")

    with page.expect_download() as download:
        page.click("#export-dicom")
    assert download.value.suggested_filename == "study-dicom.zip"
    saved = tmp_path / "study-dicom.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["seg.dcm", "sr.dcm"]
        archive.extractall(tmp_path / "zip")
    seg = hd.seg.segread(tmp_path / "zip" / "seg.dcm")
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["Microcalcifications", "Mass"]
    groups = hd.sr.srread(tmp_path / "zip" / "sr.dcm").content.get_planar_roi_measurement_groups()
    assert [g.get_measurements(name=PROBABILITY_CONCEPT)[0].value for g in groups] == [probability] * 2

    page.evaluate("document.getElementById('message').hidden = true")  # an earlier test's message
    page.screenshot(path=str(tmp_path / "viewer-dicom-export.png"))
    _publish(tmp_path / "viewer-dicom-export.png")
