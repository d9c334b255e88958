"""A self-contained HTML report of an experiment (figures inlined as base64 PNG).

:func:`write_report` writes, into one folder, ``roc_<scenario>.png`` (the
paper's Fig. 5), ``feature_auc.png`` (Fig. 4), the segmentation overlays it is
handed (:class:`Overlay`; it reads no image), and ``report.html``:
tables in the paper's layout with the paper's own numbers beside ours, the
dataset summary, configuration, software versions and a reading of the
intervals generated from the numbers. The HTML needs no other file: it can be
mailed or archived alone.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from mammocad._fileio import atomic_write_bytes, atomic_write_text
from mammocad.evaluation.experiment import ExperimentResult
from mammocad.evaluation.paper import PAPER_KNN_K, PAPER_TABLE_NUMBERS, PAPER_TABLES
from mammocad.report.figures import (
    feature_auc_figure,
    figure_png,
    model_label,
    roc_figure,
    scenario_title,
)

__all__ = ["render_report", "write_report", "honest_reading", "Overlay"]

_METRICS = ("accuracy", "sensitivity", "specificity", "auc")


def _fmt(value: float, pct: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{100 * value:.1f}%" if pct else f"{value:.2f}"


def _fmt_ci(low: float, high: float, pct: bool = False) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{_fmt(low, pct)}, {_fmt(high, pct)}]"


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _p_clause(p: float) -> str:
    text = _fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _table_rows(result: ExperimentResult, scenario: str) -> list[dict[str, Any]]:
    sres = result.scenarios[scenario]
    paper = PAPER_TABLES.get(scenario, {})
    rows = []
    for mname, mres in sres.models.items():
        p, ci = mres.test.point, mres.test.intervals
        cells = {}
        for metric in _METRICS:
            pct = metric == "accuracy"
            cells[metric] = {
                "value": _fmt(getattr(p, metric), pct),
                "ci": _fmt_ci(ci[metric].low, ci[metric].high, pct),
            }
        ref = paper.get(mname)
        label = model_label(mname)
        if mname == "knn" and "n_neighbors" in " ".join(mres.best_params):
            k = next(v for key, v in mres.best_params.items() if key.endswith("n_neighbors"))
            label = f"KNN (N = {k})"
        dl = mres.delong_vs_reference
        rows.append(
            {
                "model": label,
                "is_reference": mname == result.reference_model,
                "cells": cells,
                "delong_p": _fmt_p(None if dl is None else dl.p_value),
                "cv": f"{_fmt(mres.cv_mean)} ± {_fmt(mres.cv_std)}",
                "paper": None
                if ref is None
                else {
                    "accuracy": _fmt(ref["accuracy"], True),
                    "sensitivity": _fmt(ref["sensitivity"]),
                    "specificity": _fmt(ref["specificity"]),
                    "auc": _fmt(ref["auc"]),
                    "cv": f"{_fmt(ref['cv_mean'])} ± {_fmt(ref['cv_std'])}",
                    "label": f"KNN (N = {PAPER_KNN_K[scenario]})"
                    if mname == "knn" and scenario in PAPER_KNN_K
                    else label,
                },
                "params": ", ".join(f"{k.split('__')[-1]}={v}" for k, v in sorted(mres.best_params.items())),
            }
        )
    return rows


def honest_reading(result: ExperimentResult, scenario: str) -> list[str]:
    """Sentences, generated from the intervals, on what one scenario's numbers allow.

    Returns
    -------
    list of str
    """
    sres = result.scenarios[scenario]
    ref = result.reference_model
    out: list[str] = []
    n_pat = result.split.loc[result.split["split"] == "test", "patient_id"].nunique()
    widths = [
        m.test.intervals["accuracy"].high - m.test.intervals["accuracy"].low
        for m in sres.models.values()
        if math.isfinite(m.test.intervals["accuracy"].high)
    ]
    if widths:
        lo, hi = round(100 * min(widths)), round(100 * max(widths))
        span = f"{lo}" if lo == hi else f"{lo}–{hi}"
        out.append(
            f"This scenario's test group holds {sres.n_test} lesions (the test group has {n_pat} patients); "
            f"the 95% intervals of accuracy are {span} percentage points wide, "
            "so differences between models smaller than that are not resolved by this test group."
        )
    best = max(
        sres.models.values(), key=lambda m: m.test.point.auc if math.isfinite(m.test.point.auc) else -1
    )
    out.append(
        f"Highest test AUC: {model_label(best.model)} ({_fmt(best.test.point.auc)}, 95% CI "
        f"{_fmt_ci(best.test.intervals['auc'].low, best.test.intervals['auc'].high)})."
    )
    if ref in sres.models:
        r = sres.models[ref]
        for mname, m in sres.models.items():
            if mname == ref or m.delong_vs_reference is None:
                continue
            d = m.delong_vs_reference
            overlap = r.test.intervals["auc"].overlaps(m.test.intervals["auc"])
            higher = model_label(ref) if d.difference > 0 else model_label(mname)
            verdict = (
                f"a significant difference at the 5% level ({higher} higher)"
                if d.p_value < 0.05
                else "no evidence of a difference at this sample size"
            )
            out.append(
                f"{model_label(ref)} vs {model_label(mname)}: AUC {_fmt(d.auc_a)} vs {_fmt(d.auc_b)}, "
                f"intervals {'overlap' if overlap else 'do not overlap'}, paired DeLong p {_p_clause(d.p_value)}: {verdict}."
            )
        paper = PAPER_TABLES.get(scenario, {}).get(ref)
        if paper is not None:
            inside = [metric for metric in _METRICS if r.test.intervals[metric].contains(paper[metric])]
            outside = [metric for metric in _METRICS if metric not in inside]
            text = f"The paper's {model_label(ref)} values lie inside our 95% intervals for {', '.join(inside) or 'no measurement'}"
            if outside:
                text += f" and outside them for {', '.join(outside)}"
            out.append(text + ".")
    return out


def _summary_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    rows = []
    abns = sorted(
        {a for part in ("train", "test") for a in result.dataset.get(part, {}).get("by_abnormality", {})}
    )
    for part in ("train", "test"):
        d = result.dataset.get(part, {})
        by = d.get("by_abnormality", {})
        rows.append(
            {
                "group": "Training" if part == "train" else "Test",
                "patients": d.get("patients", 0),
                "lesions": d.get("lesions", 0),
                "malignant": d.get("malignant", 0),
                "benign": d.get("benign", 0),
                "by": [
                    f"{by.get(a, {}).get('malignant', 0)} / {by.get(a, {}).get('benign', 0)}" for a in abns
                ],
            }
        )
    return [{"abnormalities": abns, "rows": rows}]


@dataclass(frozen=True, eq=False)
class Overlay:
    """A segmentation overlay to show in the report.

    Attributes
    ----------
    name : str
        Identifies the lesion; the PNG is written as ``overlay_<name>.png``.
    caption : str
        Shown under the image.
    image : ndarray of uint8, shape (rows, cols, 3)
        The RGB overlay, already drawn (e.g. by
        :func:`mammocad.segment.render_overlay`).
    """

    name: str
    caption: str
    image: np.ndarray


def _png_of_rgb(rgb: np.ndarray, max_side: int = 700) -> bytes:
    import io

    from PIL import Image

    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mammocad.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_report(
    result: ExperimentResult,
    figures: Mapping[str, bytes],
    *,
    overlays: Sequence[tuple[str, bytes]] = (),
    title: str = "mammocad: reproduction of Wang et al. (2016)",
    dataset_name: str = "",
    links: Mapping[str, str] | None = None,
) -> str:
    """Render ``report.html`` as a string.

    Parameters
    ----------
    result : ExperimentResult
    figures : mapping of str to PNG bytes
        ``roc_<scenario>`` and ``feature_auc`` (missing ones are left out).
    overlays : sequence of (caption, PNG bytes)
    title, dataset_name : str
    links : mapping of str to str, optional
        Link text → relative URL (e.g. to another report).

    Returns
    -------
    str
    """
    scenarios = []
    for sname, sres in result.scenarios.items():
        png = figures.get(f"roc_{sname}")
        scenarios.append(
            {
                "name": sname,
                "title": scenario_title(sname),
                "n_features": len(sres.columns),
                "paper_table": PAPER_TABLE_NUMBERS.get(sname),
                "n_train": sres.n_train,
                "n_test": sres.n_test,
                "n_dropped": sres.n_dropped,
                "rows": _table_rows(result, sname),
                "has_paper": sname in PAPER_TABLES,
                "roc": _data_uri(png) if png else None,
                "reading": honest_reading(result, sname),
            }
        )
    fa = figures.get("feature_auc")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            dataset_name=dataset_name,
            scenarios=scenarios,
            feature_auc=_data_uri(fa) if fa else None,
            overlays=[(cap, _data_uri(png)) for cap, png in overlays],
            summary=_summary_rows(result)[0],
            config=result.config,
            versions=result.versions,
            links=dict(links or {}),
            reference=model_label(result.reference_model),
        )
    )


def write_report(
    result: ExperimentResult,
    out_dir: str | Path,
    *,
    overlays: Sequence[Overlay] = (),
    title: str = "mammocad: reproduction of Wang et al. (2016)",
    dataset_name: str = "",
    links: Mapping[str, str] | None = None,
) -> Path:
    """Write the figures and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    result : ExperimentResult
    out_dir : path
    overlays : sequence of Overlay
        Segmentation overlays to show (each also written as
        ``overlay_<name>.png``); the report draws them as handed, it reads no
        image and segments nothing.
    title, dataset_name : str
    links : mapping of str to str, optional
        Extra links shown at the top (text → relative URL).

    Returns
    -------
    Path
        The report's path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, bytes] = {}
    for sname in result.scenarios:
        fig = roc_figure(result, sname)
        figures[f"roc_{sname}"] = figure_png(fig)
    calc_like = "calcification" if "calcification" in result.scenarios else next(iter(result.scenarios))
    figures["feature_auc"] = figure_png(feature_auc_figure(result, calc_like))
    for name, png in figures.items():
        atomic_write_bytes(out / f"{name}.png", png)
    shown: list[tuple[str, bytes]] = []
    for overlay in overlays:
        png = _png_of_rgb(overlay.image)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in overlay.name)
        atomic_write_bytes(out / f"overlay_{safe}.png", png)
        shown.append((overlay.caption, png))
    html = render_report(result, figures, overlays=shown, title=title, dataset_name=dataset_name, links=links)
    path = out / "report.html"
    atomic_write_text(path, html)
    return path
