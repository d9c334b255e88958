"""Latency of the web viewer against the library calls it wraps, side by side.

A real uvicorn server (loopback, in a thread) is asked what the page asks for one
mammogram: upload the file, fetch the display PNG, find candidates, analyse one ROI
(segmentation + 41 features + probability when a model is given). Each request is
timed next to the library call a Python user would make for the same result
(``read_mammogram``; ``detect_candidates`` on the 1024 grid;
``mammocad.pipeline.analyse_lesion``), so the ratio is the viewer's overhead (HTTP, JSON,
PNG encoding, and for the analysis the extra segmentation pass for the overlay).

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/viewer_latency.py

Uses the GE Senographe DICOM of MAMMOCAD_DATA/dicom-samples (3062 x 2394, JPEG
lossless) when present, else a synthetic 2048-pixel case. Writes
benchmarks/results/viewer_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GE_DICOM = "dicom-samples/ge-senographe-mlo-voilut-jpegll.dcm"
GE_ROI = (1200.0, 1500.0, 150.0)  # x, y, radius in pixels: inside the breast of that image


def _median_time(func: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _input(data_root: Path | None, tmp: Path) -> tuple[Path, tuple[float, float, float], str]:
    if data_root is not None and (data_root / GE_DICOM).is_file():
        return data_root / GE_DICOM, GE_ROI, f"MAMMOCAD_DATA/{GE_DICOM}"
    from PIL import Image

    from mammocad.synth import make_case

    case = make_case(0, abnormality="mass", pathology="malignant", size=2048)
    path = tmp / "synthetic.png"
    Image.fromarray(case.mammogram.pixels).save(path)
    lesion = case.lesions[0]
    return (
        path,
        (float(lesion.x), float(lesion.y), float(lesion.radius)),
        "synthetic 2048 px (make_case seed 0)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA"))
    parser.add_argument("--model", default=None, help="model folder for the probability (optional)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "viewer_latency.json"))
    args = parser.parse_args()

    import httpx
    import uvicorn

    from mammocad._fileio import atomic_write_text
    from mammocad.io import ROI, normalise, read_mammogram
    from mammocad.pipeline import analyse_lesion
    from mammocad.segment import detect_candidates
    from mammocad.viewer import create_app

    tmp = Path(tempfile.mkdtemp(prefix="mammocad-viewer-bench-"))
    path, roi_xyr, source = _input(Path(args.data) if args.data else None, tmp)
    spacing = read_mammogram(path).pixel_spacing_mm or 0.1

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(model_dir=args.model), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(timeout=0.05)
    base = f"http://127.0.0.1:{port}"
    data = path.read_bytes()
    x, y, radius = roi_xyr
    rows: dict[str, dict[str, float | None]] = {}
    try:
        # The header the viewer's page sends: state-changing requests without it are refused.
        with httpx.Client(base_url=base, timeout=120, headers={"X-Mammocad-Request": "1"}) as client:

            def upload() -> dict[str, Any]:
                r = client.post("/api/images", content=data, headers={"X-Filename": path.name})
                r.raise_for_status()
                return r.json()

            t_web, info = _median_time(upload, args.repeats)
            t_lib, mg = _median_time(lambda: read_mammogram(path), args.repeats)
            rows["open image"] = {"viewer_s": t_web, "library_s": t_lib}

            image_id = info["image_id"]
            t_web, _ = _median_time(
                lambda: client.get(f"/api/images/{image_id}/display.png").content, args.repeats
            )
            rows["display PNG (no library counterpart)"] = {"viewer_s": t_web, "library_s": None}

            body = {"pixel_spacing_mm": spacing}
            t_web, _ = _median_time(
                lambda: client.post(f"/api/images/{image_id}/candidates", json=body).raise_for_status(),
                args.repeats,
            )
            mg = mg.replace(pixel_spacing_mm=spacing)

            def library_candidates() -> Any:
                grid = normalise(mg)
                return detect_candidates(grid.pixels, pixel_spacing_mm=grid.pixel_spacing_mm)

            t_lib, _ = _median_time(library_candidates, args.repeats)
            rows["candidates"] = {"viewer_s": t_web, "library_s": t_lib}

            roi_body = {"x": x, "y": y, "radius": radius, "pixel_spacing_mm": spacing}
            t_web, _ = _median_time(
                lambda: client.post(f"/api/images/{image_id}/analyse", json=roi_body).raise_for_status(),
                args.repeats,
            )
            t_lib, _ = _median_time(lambda: analyse_lesion(mg, ROI(x, y, radius)), args.repeats)
            rows["analyse ROI"] = {"viewer_s": t_web, "library_s": t_lib}
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    for row in rows.values():
        lib = row["library_s"]
        row["ratio"] = row["viewer_s"] / lib if lib else None
    result = {
        "benchmark": "viewer_latency",
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/viewer_latency.py",
        "input": source,
        "image_shape": list(mg.shape),
        "roi": {"x": x, "y": y, "radius": radius},
        "model": args.model,
        "repeats": args.repeats,
        "statistic": "median seconds",
        "rows": rows,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
    }
    atomic_write_text(args.out, json.dumps(result, indent=2, allow_nan=False) + "\n")
    for name, row in rows.items():
        lib = "-" if row["library_s"] is None else f"{row['library_s']:.3f} s"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(f"{name:40s} viewer {row['viewer_s']:.3f} s   library {lib}   ratio {ratio}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
