"""Render a written DICOM SEG over its mammogram, from the files alone, into docs/images/.

    MAMMOCAD_DATA=../shared/data python docs/images/make_dicom_figure.py [OUT_DIR]

Runs ``mammocad segment IMAGE --roi 1860,1860,110 --out OUT_DIR --dicom`` on the GE
Senographe sample, then forgets everything mammocad computed and draws the
picture from the two DICOM files with pydicom and highdicom only: the mammogram's
stored pixels through its own modality and VOI transforms, and each segment of the
SEG in the colour the SEG recommends (its CIELab value). Left: the whole image,
segments outlined; right: the lesion at the source image's full resolution.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image, ImageDraw
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from scipy import ndimage

HERE = Path(__file__).resolve().parent
SOURCE = "dicom-samples/ge-senographe-mlo-voilut-jpegll.dcm"
ROI_XYR = "1860,1860,110"  # the best automatic candidate of `mammocad segment`


def export(source: Path, out: Path) -> None:
    """The mammocad side: ``mammocad segment SOURCE --roi ROI --out OUT --dicom``."""
    from mammocad.pipeline import segment_and_write

    segment_and_write(source, out, roi=ROI_XYR, dicom=True)


def render(source: Path, seg_path: Path) -> Image.Image:
    """The viewer side: pydicom + highdicom only."""
    ds = pydicom.dcmread(source)
    grey = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds, index=0).astype(np.float64)
    grey = (grey - grey.min()) / max(grey.max() - grey.min(), 1e-9) * 255
    if ds.PhotometricInterpretation == "MONOCHROME1":
        grey = 255 - grey
    seg = hd.seg.segread(seg_path)
    assert seg.get_source_image_uids()[0][2] == ds.SOPInstanceUID
    layers = []
    for item in seg.SegmentSequence:
        number = int(item.SegmentNumber)
        mask = seg.get_pixels_by_source_instance([ds.SOPInstanceUID], segment_numbers=[number])[0, :, :, 0] > 0
        colour = hd.color.CIELabColor.from_dicom_value(item.RecommendedDisplayCIELabValue).to_rgb(clip=True)
        layers.append((item.SegmentLabel, mask, np.array(colour, dtype=np.float64)))
    union = np.any([m for _, m, _ in layers], axis=0)
    rr, cc = np.nonzero(union)
    centre = (int(rr.mean()), int(cc.mean()))

    def paint(region: tuple[slice, slice], width: int, fill: float) -> np.ndarray:
        rgb = np.repeat(grey[region][..., None], 3, axis=2)
        for _, mask, colour in layers:
            m = mask[region]
            edge = m & ~ndimage.binary_erosion(m, iterations=width)
            rgb[m] = (1 - fill) * rgb[m] + fill * colour
            rgb[edge] = colour
        return np.clip(rgb, 0, 255).astype(np.uint8)

    # Whole image, outlines thick enough to survive the downsampling.
    whole = Image.fromarray(paint((slice(None), slice(None)), 6, 0.0))
    height = 900
    whole = whole.resize((round(whole.width * height / whole.height), height), Image.Resampling.LANCZOS)
    half = 220
    r0 = int(np.clip(centre[0] - half, 0, grey.shape[0] - 2 * half))
    c0 = int(np.clip(centre[1] - half, 0, grey.shape[1] - 2 * half))
    crop = (slice(r0, r0 + 2 * half), slice(c0, c0 + 2 * half))
    zoom = Image.fromarray(paint(crop, 1, 0.25)).resize((height, height), Image.Resampling.NEAREST)
    sy = height / grey.shape[0]
    draw = ImageDraw.Draw(whole)
    draw.rectangle([c0 * sy, r0 * sy, (c0 + 2 * half) * sy, (r0 + 2 * half) * sy], outline=(0, 220, 255), width=2)
    canvas = Image.new("RGB", (whole.width + 10 + height, height + 40), "white")
    canvas.paste(whole, (0, 40))
    canvas.paste(zoom, (whole.width + 10, 40))
    text = ImageDraw.Draw(canvas)
    legend = ", ".join(f"{label} ({int(m.sum())} px)" for label, m, _ in layers)
    text.text((6, 6), f"{source.name}: SEG {seg_path.name} rendered with pydicom + highdicom", fill="black")
    text.text((6, 22), f"segments: {legend}; right: {2 * half}x{2 * half} source pixels", fill="black")
    return canvas


def main(argv: list[str]) -> int:
    root = os.environ.get("MAMMOCAD_DATA")
    if not root:
        print("error: set MAMMOCAD_DATA to the shared data folder", file=sys.stderr)
        return 1
    source = Path(root) / SOURCE
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="mammocad-dicom-"))
    out.mkdir(parents=True, exist_ok=True)
    export(source, out)
    figure = render(source, out / "seg.dcm")
    figure.save(HERE / "dicom_seg_ge.png")
    print(f"wrote {out / 'seg.dcm'} and {HERE / 'dicom_seg_ge.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
