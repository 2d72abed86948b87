"""One self-contained static HTML page from a results folder written by ``genprior bench``.

Per task (and image set): a leaderboard (mean ± std over images and seeds, best in bold),
PSNR-vs-seconds and PSNR-vs-NFE plots with the Pareto front, a grid of reconstructions of the first
image, posterior std maps and a calibration curve (coverage of central credible intervals against
their level) for samplers; then the errors, the environment and the commit. Figures are PNGs
embedded as base64 (matplotlib, Agg); nothing is fetched from the network.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

from .runner import load_results

# metric, heading, higher is better, digits
_IMAGE_METRICS = [("psnr", "PSNR (dB)", True, 2), ("ssim", "SSIM", True, 3), ("residual", "residual", None, 3)]
_GMM_METRICS = [("sliced_w2", "sliced W2", False, 3), ("sliced_w2_floor", "floor", None, 3)]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}tr:nth-child(even){background:#fafafa}
img{max-width:100%;height:auto}.note{color:#666;font-size:.85em}.err{color:#a00}
nav a{margin-right:1em}
"""


def _fig_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _mean_std(vals):
    vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0), len(vals)


def _entry_name(r) -> str:
    return r["method"] + (f" ({r['prior']})" if r.get("prior") else "")


def leaderboard(rows: list[dict]) -> list[dict]:
    """Aggregate the rows of one (task, image set) by method + prior: mean ± std per metric."""
    groups = defaultdict(list)
    for r in rows:
        groups[_entry_name(r)].append(r)
    gmm = any(r.get("task_problem") == "gmm" or "sliced_w2" in r for r in rows)
    metrics = _GMM_METRICS if gmm else _IMAGE_METRICS
    out = []
    for name, rs in groups.items():
        ok = [r for r in rs if "error" not in r]
        e = {"entry": name, "n": len(ok), "errors": len(rs) - len(ok)}
        for key, *_ in metrics + [("seconds", "", None, 0), ("nfe", "", None, 0), ("cell_cpu_seconds", "", None, 0)]:
            e[key], e[key + "_std"], _ = _mean_std([r.get(key) for r in ok])
        cov = [r["coverage"]["0.9"] for r in ok if r.get("coverage")]
        e["coverage90"] = statistics.fmean(cov) if cov else None
        out.append(e)
    lead = metrics[0]
    sign = -1 if lead[2] else 1
    out.sort(key=lambda e: (e[lead[0]] is None, sign * (e[lead[0]] or 0.0)))
    return out


def _fmt(v, digits):
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) >= 1e4:
        return f"{v:.3g}"
    return f"{v:.{digits}f}"


def _table(entries, metrics) -> str:
    best = {}
    for key, _, higher, _ in metrics:
        vals = [e[key] for e in entries if e[key] is not None]
        if vals and higher is not None:
            best[key] = max(vals) if higher else min(vals)
    has_cov = any(e["coverage90"] is not None for e in entries)
    has_cpu = any(e["cell_cpu_seconds"] is not None for e in entries)
    head = ['<th class="l">method (prior)</th>'] + [f"<th>{html.escape(h)}</th>" for _, h, _, _ in metrics]
    head += ["<th>seconds</th>"] + (['<th title="CPU time of the whole cell (load-independent)">CPU s</th>']
                                    if has_cpu else [])
    head += ["<th>NFE</th>"] + (["<th>coverage@0.9</th>"] if has_cov else []) + ["<th>n</th>"]
    lines = ["<table><tr>" + "".join(head) + "</tr>"]
    for e in entries:
        cells = [f'<td class="l">{html.escape(e["entry"])}'
                 + (f' <span class="err">({e["errors"]} error{"s" * (e["errors"] > 1)})</span>' if e["errors"] else "")
                 + "</td>"]
        for key, _, higher, d in metrics:
            txt = _fmt(e[key], d)
            if e[key] is not None and e[key + "_std"] is not None and e["n"] > 1:
                txt += f" ± {_fmt(e[key + '_std'], d)}"
            if key in best and e[key] is not None and e[key] == best[key]:
                txt = f"<b>{txt}</b>"
            cells.append(f"<td>{txt}</td>")
        cells.append(f"<td>{_fmt(e['seconds'], 3)}</td>")
        if has_cpu:
            cells.append(f"<td>{_fmt(e['cell_cpu_seconds'], 3)}</td>")
        cells.append(f"<td>{_fmt(e['nfe'], 0)}</td>")
        if has_cov:
            cells.append(f"<td>{_fmt(e['coverage90'], 3)}</td>")
        cells.append(f"<td>{e['n']}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(lines) + "</table>"


def _pareto(points):
    """Indices of the points not dominated in (lower cost, higher score)."""
    idx = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in idx:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _pareto_figure(entries, metric, higher, title, heading=None):
    import matplotlib.pyplot as plt
    ok = [e for e in entries if e[metric] is not None]
    if not ok:
        return None
    costs = [("seconds", "seconds per image (log)")]
    if any(e["nfe"] for e in ok):       # no NFE panel when no method calls a network
        costs.append(("nfe", "NFE (network calls; symlog)"))
    fig, axes = plt.subplots(1, len(costs), figsize=(5 * len(costs), 3.6), squeeze=False)
    for ax, (cost, label) in zip(axes.flat, costs):
        pts = [(max(e[cost] or 0.0, 1e-4 if cost == "seconds" else 0.0), e[metric] if higher else -e[metric])
               for e in ok]
        front = set(_pareto(pts))
        for i, e in enumerate(ok):
            ax.scatter(pts[i][0], e[metric], s=40 if i in front else 20, c="C3" if i in front else "C0", zorder=3)
            ax.annotate(e["entry"], (pts[i][0], e[metric]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        fr = sorted(front, key=lambda i: pts[i][0])
        ax.plot([pts[i][0] for i in fr], [ok[i][metric] for i in fr], "C3--", lw=1, zorder=2)
        if cost == "seconds":
            ax.set_xscale("log")
        else:
            ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel(label)
        ax.set_ylabel(heading or metric)
        ax.grid(alpha=0.3)
    fig.suptitle(title + " (red: Pareto front)", fontsize=10)
    return _fig_png(fig)


def _recon_figure(rows, folder: Path, title):
    import numpy as np
    import matplotlib.pyplot as plt
    items, truth = [], None
    seen = set()
    for r in sorted(rows, key=lambda r: -(r.get("psnr") or -1e9)):
        f = r.get("recon_file")
        if not f or "error" in r or _entry_name(r) in seen or not (folder / f).exists():
            continue
        seen.add(_entry_name(r))
        d = np.load(folder / f)
        truth = d["truth"] if truth is None else truth
        items.append((_entry_name(r), d["recon"], r.get("psnr"), d["std"] if "std" in d.files else None))
    if not items:
        return None, None
    n = len(items) + 1
    ncol = min(n, 6)
    nrow = math.ceil(n / ncol)

    def show(ax, a, t, **kw):
        a = a.astype(np.float32)
        ax.imshow(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0), cmap="gray", **kw)
        ax.set_title(t, fontsize=7)
        ax.axis("off")
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.7 * ncol, 1.9 * nrow), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    show(axes.flat[0], truth, "truth", vmin=0, vmax=1)
    for ax, (name, rec, p, _) in zip(list(axes.flat)[1:], items):
        show(ax, rec, f"{name}\n{p:.2f} dB" if p is not None else name, vmin=0, vmax=1)
    grid = _fig_png(fig)
    stds = [(name, s) for name, _, _, s in items if s is not None]
    std_fig = None
    if stds:
        fig, axes = plt.subplots(1, len(stds), figsize=(1.9 * len(stds), 2.1), squeeze=False)
        for ax, (name, s) in zip(axes.flat, stds):
            s = s.astype(np.float32)
            im = ax.imshow(s[0] if s.shape[0] == 1 else s.mean(0), cmap="magma")
            ax.set_title(name, fontsize=7)
            ax.axis("off")
            fig.colorbar(im, ax=ax, fraction=0.046)
        fig.suptitle(title + ": posterior std (first image)", fontsize=9)
        std_fig = _fig_png(fig)
    return grid, std_fig


def _calibration_figure(rows, title):
    import matplotlib.pyplot as plt
    by = defaultdict(list)
    for r in rows:
        if r.get("coverage") and "error" not in r:
            by[_entry_name(r)].append(r["coverage"])
    if not by:
        return None
    fig, ax = plt.subplots(figsize=(4, 3.4))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="calibrated")
    for name, covs in sorted(by.items()):
        levels = sorted(float(k) for k in covs[0])
        ax.plot(levels, [statistics.fmean(c[str(lv)] for c in covs) for lv in levels], "o-", ms=3, label=name)
    ax.set_xlabel("credible level")
    ax.set_ylabel("pixel coverage")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    return _fig_png(fig)


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s).strip("-").lower() or "x"


def build(folder, *, figures: bool = True) -> str:
    """The report's HTML text for a results folder."""
    folder = Path(folder)
    rows = load_results(folder)
    if not rows:
        raise FileNotFoundError(f"no results in {folder} (expected results.jsonl written by `genprior bench`)")
    meta = {}
    if (folder / "meta.json").exists():
        meta = json.loads((folder / "meta.json").read_text())
    if figures:
        import matplotlib
        matplotlib.use("Agg")
    suites = sorted({r.get("suite", "?") for r in rows})
    tasks = list(dict.fromkeys(r["task"] for r in sorted(rows, key=lambda r: r.get("index", 0))))
    n_err = sum("error" in r for r in rows)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>genprior benchmark: "
             f"{html.escape(', '.join(suites))}</title><style>{_CSS}</style></head><body>",
             f"<h1>genprior benchmark: {html.escape(', '.join(suites))}</h1>"]
    desc = meta.get("suite", {}).get("description")
    if desc:
        parts.append(f"<p>{html.escape(desc)}</p>")
    env = meta.get("environment") or next((r.get("env") for r in rows if r.get("env")), {}) or {}
    parts.append(f"<p class=\"note\">{len(rows)} cells, {n_err} errors; commit "
                 f"<code>{html.escape(str(env.get('commit')))}</code>{' (dirty)' if env.get('dirty') else ''}; "
                 f"total cell time {sum(r.get('cell_seconds', 0) for r in rows):.1f} s. Mean ± std over images and "
                 "seeds; best per column in bold. Images in [0, 1]; PSNR/SSIM of the reconstruction (the posterior "
                 "mean for samplers) clamped to [0, 1]; residual = ‖Ax − y‖/‖y‖; seconds = the solver's wall "
                 "time per image, CPU s = the whole cell's CPU time (not inflated by other jobs on a shared "
                 "machine).</p>")
    parts.append("<nav>" + "".join(f'<a href="#{_slug(t)}">{html.escape(t)}</a>' for t in tasks) + "</nav>")
    for task in tasks:
        trows = [r for r in rows if r["task"] == task]
        t0 = trows[0]
        parts.append(f'<h2 id="{_slug(task)}">{html.escape(task)}</h2>')
        parts.append(f"<p class=\"note\">task <code>{html.escape(str(t0.get('task_name')))}</code>, options "
                     f"<code>{html.escape(json.dumps(t0.get('task_options', {})))}</code>, "
                     + ("σ_y drawn per problem (seed)</p>" if any("sliced_w2" in r for r in trows)
                        else f"σ_y = {t0.get('sigma_y')}</p>"))
        for iset in list(dict.fromkeys(r.get("image_set") for r in trows)):
            srows = [r for r in trows if r.get("image_set") == iset]
            title = task + (f" / {iset}" if iset else "")
            images = sorted({str(r.get("image")) for r in srows})
            shape = next((r.get("image_shape") for r in srows if r.get("image_shape")), None)
            if iset is not None:
                parts.append(f"<h3>images: {html.escape(iset)}</h3><p class=\"note\">{len(images)} image(s) "
                             f"({html.escape(', '.join(images[:8]))}{' …' if len(images) > 8 else ''})"
                             + (f", shape {shape}" if shape else "") + "</p>")
            gmm = any("sliced_w2" in r for r in srows)
            metrics = _GMM_METRICS if gmm else _IMAGE_METRICS
            entries = leaderboard(srows)
            parts.append(_table(entries, metrics))
            if figures:
                fig = _pareto_figure(entries, metrics[0][0], metrics[0][2], title, metrics[0][1])
                if fig:
                    parts.append(_img(fig, f"{title}: quality against cost"))
                if not gmm:
                    grid, std_fig = _recon_figure(srows, folder, title)
                    if grid:
                        parts.append(_img(grid, f"{title}: reconstructions"))
                    if std_fig:
                        parts.append(_img(std_fig, f"{title}: posterior std"))
                cal = _calibration_figure(srows, title + ": calibration")
                if cal:
                    parts.append(_img(cal, f"{title}: calibration"))
    errs = [r for r in rows if "error" in r]
    if errs:
        parts.append("<h2 id=\"errors\">Errors</h2><table><tr><th class=\"l\">task</th><th class=\"l\">method</th>"
                     "<th class=\"l\">image</th><th>seed</th><th class=\"l\">error</th></tr>")
        for r in errs:
            parts.append(f"<tr><td class=\"l\">{html.escape(r['task'])}</td><td class=\"l\">"
                         f"{html.escape(_entry_name(r))}</td><td class=\"l\">{html.escape(str(r.get('image')))}</td>"
                         f"<td>{r.get('seed')}</td><td class=\"l err\">{html.escape(r['error'][:300])}</td></tr>")
        parts.append("</table>")
    parts.append("<h2 id=\"environment\">Environment</h2><table>")
    for k, v in env.items():
        parts.append(f"<tr><th class=\"l\">{html.escape(str(k))}</th><td class=\"l\">{html.escape(str(v))}</td></tr>")
    if meta.get("command"):
        parts.append(f"<tr><th class=\"l\">command</th><td class=\"l\"><code>{html.escape(meta['command'])}</code>"
                     "</td></tr>")
    parts.append("</table>")
    mem = sorted({r.get("peak_memory_source") for r in rows if r.get("peak_memory_source")})
    if mem:
        parts.append(f"<p class=\"note\">peak memory: {html.escape('; '.join(mem))}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(folder, out=None, *, figures: bool = True) -> Path:
    out = Path(out) if out is not None else Path(folder) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build(folder, figures=figures), encoding="utf-8")
    return out
