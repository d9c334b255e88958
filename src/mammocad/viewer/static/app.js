// mammocad viewer: plain JavaScript, no build step. Talks to the JSON API of mammocad.viewer.app.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");

  const state = {
    status: null,
    features: [],           // registry: name, group, unit, definition
    image: null,            // info from the server
    grey: null,             // Uint8ClampedArray of the 8-bit display image
    buffer: null,           // offscreen canvas holding the windowed image
    view: { scale: 1, tx: 0, ty: 0 },
    roi: null,              // {x, y, radius} in image pixels
    candidates: [],
    result: null,
    calcLayer: null,        // HTMLImageElement of the calcification layer
    drag: null,
  };

  // ---------- messages and requests ----------

  function showMessage(text, isError = true) {
    const box = $("message");
    box.textContent = text;
    box.className = isError ? "error" : "info";
    box.hidden = false;
    clearTimeout(showMessage.timer);
    showMessage.timer = setTimeout(() => { box.hidden = true; }, isError ? 12000 : 4000);
  }

  async function api(path, options = {}) {
    // The server refuses state-changing requests without this header: a page elsewhere
    // cannot send it to us (it would need a CORS preflight, which the viewer never grants).
    const headers = Object.assign({ "X-Mammocad-Request": "1" }, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, { headers }));
    const type = response.headers.get("content-type") || "";
    const body = type.includes("application/json") ? await response.json() : await response.text();
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return body;
  }

  // A download whose request needs the page's header (the zip carries patient data, so a
  // plain link, which any page could point at, is refused): fetched, then saved from a blob.
  async function download(path, filename) {
    const response = await fetch(path, { headers: { "X-Mammocad-Request": "1" } });
    if (!response.ok) {
      const type = response.headers.get("content-type") || "";
      const body = type.includes("application/json") ? await response.json() : null;
      throw new Error(body && body.detail ? body.detail : `${response.status} ${response.statusText}`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function postJSON(path, payload) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload || {}),
    });
  }

  async function busy(task) {
    $("busy").hidden = false;
    document.body.classList.add("working");
    try {
      return await task();
    } catch (err) {
      showMessage(err.message || String(err));
      return null;
    } finally {
      $("busy").hidden = true;
      document.body.classList.remove("working");
    }
  }

  // ---------- start-up ----------

  async function init() {
    state.status = await api("/api/status");
    const badge = $("model-badge");
    if (state.status.model) {
      const m = state.status.model;
      const auc = m.test_auc == null ? "test AUC not recorded" : `test AUC ${m.test_auc.toFixed(3)}`;
      badge.textContent = `Model: ${m.name} · ${auc}`;
      badge.className = "badge";
    } else {
      badge.textContent = "No model loaded";
      badge.className = "badge warn";
      badge.title = state.status.model_message;
    }
    try {
      state.features = await api("/api/features");
    } catch (err) {
      state.features = [];
      showMessage(err.message);
    }
    renderFeatures();
    if (state.status.data) {
      $("data-panel").hidden = false;
      loadDataListing();
    }
    resizeCanvas();
  }

  async function loadDataListing() {
    const listing = await busy(() => api("/api/data"));
    if (!listing) return;
    const tables = $("table-select");
    for (const t of listing.tables) tables.add(new Option(t, t));
    const images = $("image-select");
    for (const i of listing.images) images.add(new Option(i, i));
  }

  // ---------- opening images ----------

  async function openUpload(file) {
    const limit = state.status ? state.status.max_upload_bytes : Infinity;
    if (file.size > limit) {
      showMessage(`${file.name}: ${(file.size / 1e6).toFixed(1)} MB is larger than the server's limit of ${(limit / 1e6).toFixed(0)} MB`);
      return;
    }
    const info = await busy(() => api("/api/images", {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name) },
      body: file,
    }));
    if (info) await showImage(info, null);
  }

  async function openDataImage(path, spacing, roi, nominal) {
    const payload = { path };
    if (spacing) payload.pixel_spacing_mm = spacing;
    if (nominal) payload.nominal_pixel_spacing_mm = nominal;
    const info = await busy(() => postJSON("/api/data/open", payload));
    if (info) await showImage(info, roi);
  }

  async function showImage(info, roi) {
    const img = new Image();
    img.src = info.display_url;
    try {
      await img.decode();
    } catch (err) {
      showMessage(`${info.name}: the browser could not display the image`);
      return;
    }
    const off = document.createElement("canvas");
    off.width = info.width;
    off.height = info.height;
    const octx = off.getContext("2d", { willReadFrequently: true });
    octx.drawImage(img, 0, 0);
    const rgba = octx.getImageData(0, 0, info.width, info.height).data;
    const grey = new Uint8ClampedArray(info.width * info.height);
    for (let i = 0, j = 0; i < grey.length; i++, j += 4) grey[i] = rgba[j];
    state.image = info;
    state.grey = grey;
    state.buffer = off;
    state.result = null;
    state.calcLayer = null;
    state.candidates = [];
    $("candidate-list").replaceChildren();
    state.roi = roi;
    $("image-info").hidden = false;
    $("image-name").textContent = info.name;
    $("image-size").textContent = `${info.width} × ${info.height} px`;
    $("image-view").textContent = [info.laterality, info.view].filter(Boolean).join(" ") || "—";
    $("spacing").value = info.pixel_spacing_mm ? Number(info.pixel_spacing_mm.toPrecision(4)) : "";
    $("placeholder").hidden = true;
    $("analyse-btn").disabled = false;
    $("candidates-btn").disabled = false;
    clearResult();
    resetWindow();
    fitView();
    syncRoiFields();
  }

  // ---------- window / level ----------

  function applyWindow() {
    if (!state.buffer) return;
    const width = Number($("window").value);
    const level = Number($("level").value);
    $("window-out").textContent = width;
    $("level-out").textContent = level;
    const lut = new Uint8ClampedArray(256);
    const lo = level - width / 2;
    for (let v = 0; v < 256; v++) lut[v] = Math.round(((v - lo) / width) * 255);
    const octx = state.buffer.getContext("2d");
    const out = octx.createImageData(state.image.width, state.image.height);
    const d = out.data;
    const g = state.grey;
    for (let i = 0, j = 0; i < g.length; i++, j += 4) {
      const v = lut[g[i]];
      d[j] = v; d[j + 1] = v; d[j + 2] = v; d[j + 3] = 255;
    }
    octx.putImageData(out, 0, 0);
    draw();
  }

  function resetWindow() {
    $("window").value = 255;
    $("level").value = 128;
    applyWindow();
  }

  // ---------- view transform ----------

  function resizeCanvas() {
    const stage = $("stage");
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.floor(stage.clientWidth * ratio));
    canvas.height = Math.max(1, Math.floor(stage.clientHeight * ratio));
    canvas.style.width = `${stage.clientWidth}px`;
    canvas.style.height = `${stage.clientHeight}px`;
    draw();
  }

  function fitView() {
    if (!state.image) return;
    const s = Math.min(canvas.width / state.image.width, canvas.height / state.image.height) * 0.96;
    state.view.scale = s;
    state.view.tx = (canvas.width - state.image.width * s) / 2;
    state.view.ty = (canvas.height - state.image.height * s) / 2;
    draw();
  }

  function zoomAt(factor, cx, cy) {
    const v = state.view;
    const next = Math.min(Math.max(v.scale * factor, 0.02), 40);
    const f = next / v.scale;
    v.tx = cx - (cx - v.tx) * f;
    v.ty = cy - (cy - v.ty) * f;
    v.scale = next;
    draw();
  }

  // Canvas pixels of an event (the canvas is scaled by devicePixelRatio).
  function eventPoint(ev) {
    const rect = canvas.getBoundingClientRect();
    return {
      x: (ev.clientX - rect.left) * (canvas.width / rect.width),
      y: (ev.clientY - rect.top) * (canvas.height / rect.height),
    };
  }

  // Image pixel coordinates have pixel centres on integers: pixel j spans j - 0.5 .. j + 0.5,
  // while the canvas draws it from j to j + 1; hence the half-pixel shifts.
  function toImage(p) {
    const v = state.view;
    return { x: (p.x - v.tx) / v.scale - 0.5, y: (p.y - v.ty) / v.scale - 0.5 };
  }

  // CSS pixels, relative to the page, of an image point (used by the browser tests).
  function imageToPage(x, y) {
    const rect = canvas.getBoundingClientRect();
    const v = state.view;
    return {
      x: rect.left + (((x + 0.5) * v.scale + v.tx) * rect.width) / canvas.width,
      y: rect.top + (((y + 0.5) * v.scale + v.ty) * rect.height) / canvas.height,
    };
  }

  // ---------- drawing ----------

  function draw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!state.buffer) return;
    const v = state.view;
    ctx.setTransform(v.scale, 0, 0, v.scale, v.tx, v.ty);
    ctx.imageSmoothingEnabled = v.scale < 1;
    ctx.drawImage(state.buffer, 0, 0);
    ctx.translate(0.5, 0.5); // overlays in pixel-centre coordinates
    const px = 1 / v.scale; // one screen pixel in image units

    if ($("show-cand").checked) {
      ctx.setLineDash([6 * px, 4 * px]);
      ctx.lineWidth = 1.5 * px;
      ctx.strokeStyle = "#ff8cff";
      for (const c of state.candidates) circle(c.x, c.y, c.radius);
      ctx.setLineDash([]);
    }
    if (state.result) {
      if ($("show-calc").checked && state.calcLayer) {
        const layer = state.result.calcifications.layer;
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(state.calcLayer, layer.x0, layer.y0, layer.width, layer.height);
      }
      const contour = state.result.mass.contour_xy;
      if ($("show-mass").checked && contour.length > 1) {
        ctx.beginPath();
        ctx.moveTo(contour[0][0], contour[0][1]);
        for (const [x, y] of contour) ctx.lineTo(x, y);
        ctx.closePath();
        ctx.lineWidth = 2 * px;
        ctx.strokeStyle = "#ff2828";
        ctx.stroke();
      }
    }
    if ($("show-roi").checked && state.roi) {
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = "#00dcff";
      circle(state.roi.x, state.roi.y, state.roi.radius);
      ctx.beginPath();
      ctx.moveTo(state.roi.x - 5 * px, state.roi.y);
      ctx.lineTo(state.roi.x + 5 * px, state.roi.y);
      ctx.moveTo(state.roi.x, state.roi.y - 5 * px);
      ctx.lineTo(state.roi.x, state.roi.y + 5 * px);
      ctx.stroke();
    }
  }

  function circle(x, y, r) {
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.stroke();
  }

  // ---------- ROI ----------

  function defaultRadius() {
    const spacing = Number($("spacing").value);
    // 5 mm when the spacing is known, else 1/40 of the long side.
    if (spacing > 0) return Math.max(3, 5 / spacing);
    return Math.max(3, Math.max(state.image.width, state.image.height) / 40);
  }

  function setRoi(roi) {
    state.roi = roi;
    syncRoiFields();
    draw();
  }

  function syncRoiFields() {
    const r = state.roi;
    $("roi-x").value = r ? Math.round(r.x) : "";
    $("roi-y").value = r ? Math.round(r.y) : "";
    $("roi-r").value = r ? Math.round(r.radius) : "";
  }

  function roiFromFields() {
    const x = Number($("roi-x").value), y = Number($("roi-y").value), r = Number($("roi-r").value);
    if ($("roi-x").value === "" || $("roi-y").value === "" || !(r > 0)) return;
    state.roi = { x, y, radius: r };
    draw();
  }

  // Colours match mammocad.segment.render_overlay (ROI cyan, mass red, calcifications yellow).

  // ---------- mouse ----------

  canvas.addEventListener("wheel", (ev) => {
    if (!state.image) return;
    ev.preventDefault();
    const p = eventPoint(ev);
    zoomAt(ev.deltaY < 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, { passive: false });

  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());

  canvas.addEventListener("pointerdown", (ev) => {
    if (!state.image) return;
    canvas.setPointerCapture(ev.pointerId);
    const tool = document.querySelector("input[name=tool]:checked").value;
    const mode = ev.shiftKey || ev.button === 1 || ev.button === 2 ? "pan" : tool;
    const p = eventPoint(ev);
    state.drag = {
      mode, start: p, last: p, startImage: toImage(p),
      window: Number($("window").value), level: Number($("level").value),
    };
  });

  canvas.addEventListener("pointermove", (ev) => {
    const d = state.drag;
    if (!d) return;
    const p = eventPoint(ev);
    if (d.mode === "pan") {
      state.view.tx += p.x - d.last.x;
      state.view.ty += p.y - d.last.y;
      draw();
    } else if (d.mode === "wl") {
      $("window").value = Math.min(255, Math.max(1, d.window + (p.x - d.start.x) / 2));
      $("level").value = Math.min(255, Math.max(0, d.level - (p.y - d.start.y) / 2));
      applyWindow();
    } else if (d.mode === "roi") {
      const q = toImage(p);
      const r = Math.hypot(q.x - d.startImage.x, q.y - d.startImage.y);
      if (r * state.view.scale > 4) setRoi({ x: d.startImage.x, y: d.startImage.y, radius: r });
    }
    d.last = p;
  });

  function endDrag(ev) {
    const d = state.drag;
    state.drag = null;
    if (!d || d.mode !== "roi") return;
    const p = eventPoint(ev);
    const moved = Math.hypot(p.x - d.start.x, p.y - d.start.y);
    if (moved <= 4) setRoi({ x: d.startImage.x, y: d.startImage.y, radius: defaultRadius() });
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", () => { state.drag = null; });

  // ---------- candidates and analysis ----------

  function spacingPayload() {
    const s = Number($("spacing").value);
    return s > 0 ? { pixel_spacing_mm: s } : {};
  }

  async function findCandidates() {
    if (!state.image) return;
    const out = await busy(() => postJSON(`/api/images/${state.image.image_id}/candidates`, spacingPayload()));
    if (!out) return;
    state.candidates = out.candidates;
    const list = $("candidate-list");
    list.replaceChildren();
    if (!out.candidates.length) {
      const li = document.createElement("li");
      li.textContent = "No candidates found.";
      list.append(li);
    }
    out.candidates.forEach((c, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Use";
      button.addEventListener("click", () => setRoi({ x: c.x, y: c.y, radius: c.radius }));
      const score = c.score == null ? "" : ` · score ${c.score.toFixed(2)}`;
      li.append(button, ` #${i + 1} ${c.kind} at (${Math.round(c.x)}, ${Math.round(c.y)}) r ${Math.round(c.radius)}${score}`);
      list.append(li);
    });
    draw();
  }

  async function analyseRoi() {
    if (!state.image) return;
    if (!state.roi) {
      showMessage("Place an ROI first: click or drag on the image, or use a candidate.");
      return;
    }
    const payload = Object.assign({ x: state.roi.x, y: state.roi.y, radius: state.roi.radius }, spacingPayload());
    const result = await busy(() => postJSON(`/api/images/${state.image.image_id}/analyse`, payload));
    if (!result) return;
    state.result = result;
    state.calcLayer = null;
    if (result.calcifications.layer) {
      const img = new Image();
      img.src = result.calcifications.layer.png;
      try { await img.decode(); state.calcLayer = img; } catch (err) { state.calcLayer = null; }
    }
    showResult(result);
    draw();
  }

  function clearResult() {
    $("probability").textContent = "—";
    $("probability").className = "probability muted";
    $("probability-note").textContent = state.status && !state.status.model ? state.status.model_message : "";
    $("calc-count").textContent = "—";
    $("mass-area").textContent = "—";
    $("export-png").hidden = true;
    $("export-dicom").hidden = true;
    $("export-json").hidden = true;
    renderFeatures();
  }

  // The open image's name without its suffix, safe as a file name (as the server's _stem).
  function fileStem() {
    return (state.image.name.replace(/\.[^.]*$/, "") || "mammogram").replace(/[^\w.-]/g, "_");
  }

  function showResult(result) {
    const prob = $("probability");
    if (result.probability == null) {
      prob.textContent = "n/a";
      prob.className = "probability muted";
    } else {
      prob.textContent = `${(result.probability * 100).toFixed(1)} %`;
      prob.className = "probability " + (result.probability >= 0.5 ? "high" : "low");
    }
    let note = result.probability_note;
    if (result.model) {
      const auc = result.model.test_auc == null ? "test AUC not recorded" : `test AUC ${result.model.test_auc.toFixed(3)}`;
      note = `Model ${result.model.name} (${auc}). ` + (result.probability == null ? note : "");
    }
    $("probability-note").textContent = note.trim();
    $("calc-count").textContent = String(result.calcifications.count);
    $("mass-area").textContent = result.mass.area_mm2 > 0 ? `${result.mass.area_mm2.toFixed(1)} mm²` : "none";
    const stem = fileStem();
    const png = $("export-png");
    png.href = result.exports.overlay_png;
    png.download = `${stem}-overlay.png`;
    png.hidden = false;
    // DICOM inputs only: the server offers the zip where it kept a DICOM header to reference.
    $("export-dicom").hidden = !result.exports.dicom_zip;
    const json = $("export-json");
    json.href = result.exports.result_json;
    json.download = `${stem}-result.json`;
    json.hidden = false;
    renderFeatures();
  }

  function formatValue(v) {
    if (v == null) return "undefined";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
    return Number(v.toPrecision(4)).toString();
  }

  // Units worth printing next to a value ("unitless" and "count" add nothing).
  function shownUnit(unit) {
    return unit && unit !== "unitless" && unit !== "count";
  }

  function renderFeatures() {
    const body = document.querySelector("#features tbody");
    body.replaceChildren();
    const values = state.result ? state.result.features : {};
    const filter = $("feature-filter").value.trim().toLowerCase();
    let shown = 0;
    let lastGroup = null;
    for (const f of state.features) {
      const text = `${f.name} ${f.definition} ${f.group}`.toLowerCase();
      if (filter && !text.includes(filter)) continue;
      if (f.group !== lastGroup) {
        const tr = document.createElement("tr");
        tr.className = "group";
        const th = document.createElement("th");
        th.colSpan = 2;
        th.textContent = f.group;
        tr.append(th);
        body.append(tr);
        lastGroup = f.group;
      }
      const tr = document.createElement("tr");
      tr.dataset.feature = f.name;
      if (f.formula) tr.title = f.formula;
      const name = document.createElement("td");
      const strong = document.createElement("div");
      strong.className = "fname";
      strong.textContent = f.name;
      const def = document.createElement("div");
      def.className = "fdef";
      def.textContent = f.definition;
      name.append(strong, def);
      const value = document.createElement("td");
      value.className = "num";
      if (state.result) {
        const v = values[f.name];
        value.textContent = formatValue(v) + (v != null && shownUnit(f.unit) ? ` ${f.unit}` : "");
        if (v == null) value.classList.add("muted");
      } else {
        value.textContent = shownUnit(f.unit) ? `[${f.unit}]` : "";
        value.classList.add("muted");
      }
      tr.append(name, value);
      body.append(tr);
      shown++;
    }
    $("feature-count").textContent = state.features.length ? `(${shown} of ${state.features.length})` : "";
  }

  // ---------- wiring ----------

  $("file-input").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    if (file) openUpload(file);
    ev.target.value = "";
  });
  $("table-select").addEventListener("change", async (ev) => {
    const rowSelect = $("row-select");
    rowSelect.replaceChildren();
    rowSelect.hidden = true;
    if (!ev.target.value) return;
    const table = await busy(() => postJSON("/api/data/table", { path: ev.target.value }));
    if (!table) return;
    state.tableRows = table.rows;
    table.rows.forEach((r, i) => {
      const roi = r.x == null ? "no ROI" : `(${Math.round(r.x)}, ${Math.round(r.y)}) r ${Math.round(r.radius)}`;
      rowSelect.add(new Option(`${r.lesion_id} · ${r.abnormality} · ${r.pathology} · ${roi}`, String(i)));
    });
    rowSelect.hidden = false;
  });
  $("row-select").addEventListener("change", (ev) => {
    const r = state.tableRows[Number(ev.target.value)];
    if (!r) return;
    const roi = r.x == null || r.radius == null ? null : { x: r.x, y: r.y, radius: r.radius };
    openDataImage(r.image, r.pixel_spacing_mm, roi, r.nominal_pixel_spacing_mm);
  });
  $("image-select").addEventListener("change", (ev) => {
    if (ev.target.value) openDataImage(ev.target.value, null, null);
  });
  $("window").addEventListener("input", applyWindow);
  $("level").addEventListener("input", applyWindow);
  $("reset-wl").addEventListener("click", resetWindow);
  $("fit").addEventListener("click", fitView);
  $("zoom-in").addEventListener("click", () => zoomAt(1.25, canvas.width / 2, canvas.height / 2));
  $("zoom-out").addEventListener("click", () => zoomAt(1 / 1.25, canvas.width / 2, canvas.height / 2));
  for (const id of ["roi-x", "roi-y", "roi-r"]) $(id).addEventListener("change", roiFromFields);
  $("candidates-btn").addEventListener("click", findCandidates);
  $("analyse-btn").addEventListener("click", analyseRoi);
  $("export-dicom").addEventListener("click", () => {
    const result = state.result;
    if (!result || !result.exports.dicom_zip) return;
    busy(() => download(result.exports.dicom_zip, `${fileStem()}-dicom.zip`));
  });
  for (const id of ["show-roi", "show-calc", "show-mass", "show-cand"]) $(id).addEventListener("change", draw);
  $("feature-filter").addEventListener("input", renderFeatures);
  new ResizeObserver(() => { resizeCanvas(); }).observe($("stage"));

  window.mammocadViewer = { imageToPage, state };
  init().catch((err) => showMessage(err.message || String(err)));
})();
