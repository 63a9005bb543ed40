"""One self-contained HTML file describing an :class:`~fastprdc.EvaluationResult`.

:func:`write_report` writes (and :func:`render_report` returns) an HTML5 page holding the
run's facts (sizes, dtype, backend, boundary, k and parameters per family, time, rechecks,
fastprdc version), the metric table, the figures of :func:`fastprdc.plot.figures` as
inline base64 PNGs, and the per-class table with the notes on classes left out. Nothing is
fetched from anywhere: no scripts at all, the style is inline, and the page's content
security policy forbids any other source, so it opens the same offline, attached to an
email or archived with a run. Figures need matplotlib (``pip install "fastprdc[plot]"``);
``figures=False`` gives the same page without them.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._tables import _no_k
from ._tables import cell as _cell
from ._tables import curve_cell as _curve_cell
from ._tables import per_class_columns as _columns

if TYPE_CHECKING:
    from .result import EvaluationResult

__all__ = ["render_report", "write_report"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
  max-width: 72em; padding: 0 1em; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num.nok { text-align: left; }
tr.family th { background: #f2f4f7; }
thead th { background: #e8ebf0; }
tr.mean td { font-weight: 600; border-top: 2px solid #999; }
td.status { color: #a33; font-style: italic; }
.scroll { overflow-x: auto; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.92em; }
ul.notes li { color: #444; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
table.facts th, td.status, table.per-class th, table.per-class td { white-space: nowrap; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""

#: Facts shown first, in this order; any other key of ``info`` follows.
_FACTS = (
    "n_real",
    "n_fake",
    "dim",
    "dtype",
    "backend",
    "device",
    "exact",
    "boundary",
    "ks",
    "params",
    "seconds",
    "timings",
    "n_rechecked",
)
_FACT_NAMES = {
    "n_real": "real samples (N)",
    "n_fake": "fake samples (M)",
    "dim": "feature dimension (d)",
    "exact": "exact (float64 recheck)",
    "ks": "k per family",
    "params": "parameters",
    "seconds": "time",
    "timings": "time per pass",
    "n_rechecked": "float64 rechecks",
}


def _e(value: Any) -> str:
    """Escaped text of anything."""
    return html.escape(str(value), quote=True)


def _td(text: str, cls: str | None = None, span: int = 1) -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' colspan="{span}"' if span > 1 else "")
    return f"<td{attrs}>{_e(text)}</td>"


def _seconds(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.3f} s" if v >= 0.01 else f"{v * 1000:.2f} ms"


def _fact_text(key: str, value: Any) -> str:
    if key == "ks" and isinstance(value, Mapping):
        return "; ".join(
            f"{fam}: " + (", ".join(str(k) for k in ks if k is not None) or "no k")
            for fam, ks in value.items()
        )
    if key == "params" and isinstance(value, Mapping):
        parts = [
            f"{fam}: " + ", ".join(f"{n}={v}" for n, v in p.items())
            for fam, p in value.items()
            if p
        ]
        return "; ".join(parts) or "none"
    if key == "seconds":
        return _seconds(value)
    if key == "timings" and isinstance(value, Mapping):
        return ", ".join(f"{name} {_seconds(v)}" for name, v in value.items())
    if isinstance(value, float) and not math.isfinite(value):
        return _cell(value)
    return str(value)


def _facts(result: EvaluationResult, version: str) -> str:
    info = dict(result.info)
    rows = [("fastprdc version", version)]
    keys = [k for k in _FACTS if k in info] + [k for k in info if k not in _FACTS]
    rows += [(_FACT_NAMES.get(key, key), _fact_text(key, info[key])) for key in keys]
    pc = result.per_class
    if pc is not None:
        n_r = sum(1 for v in pc["real_counts"].values() if v)
        n_f = sum(1 for v in pc["fake_counts"].values() if v)
        rows.append(
            (
                "classes",
                f"{n_r} in real, {n_f} in fake, {len(pc['evaluated'])} evaluated, "
                f"{len(pc['missing_in_fake'])} missing from fake",
            )
        )
    body = "".join(f'<tr><th scope="row">{_e(k)}</th>{_td(v)}</tr>' for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _all_ks(parts: Iterable[Mapping[str, Mapping[str, Mapping[Any, Any]]]]) -> list[Any]:
    return sorted(
        {
            k
            for part in parts
            for fam in part.values()
            for v in fam.values()
            for k in v
            if k is not None
        }
    )


def _metrics_table(result: EvaluationResult) -> str:
    """The table of ``repr(result)``: a row per metric, a column per k; a family without k
    (among families with k) gets its own "value (no k)" heading over one cell across the k
    columns, so that its values never sit under a k column."""
    ks = _all_ks([result.scalars, result.curves])
    cols = [f"k={k}" for k in ks] or ["value"]
    n = len(cols)
    params = result.info.get("params", {})
    head = "<tr><th>metric</th>" + "".join(f'<th scope="col">{_e(c)}</th>' for c in cols) + "</tr>"
    rows = []
    for family in dict.fromkeys([*result.scalars, *result.curves]):
        p = params.get(family) or {}
        label = family + (" (" + ", ".join(f"{a}={b}" for a, b in p.items()) + ")" if p else "")
        no_k = bool(ks) and _no_k(family, result)
        if no_k:
            rows.append(
                f'<tr class="family"><th scope="rowgroup">{_e(label)}</th>'
                f'<th colspan="{n}" scope="colgroup">value (no k)</th></tr>'
            )
        else:
            rows.append(
                f'<tr class="family"><th colspan="{n + 1}" scope="rowgroup">{_e(label)}</th></tr>'
            )
        for metric, vals in result.scalars.get(family, {}).items():
            if None in vals:
                cells = _td(_cell(vals[None]), "num nok", n)
            else:
                cells = "".join(_td(_cell(vals[k]) if k in vals else "-", "num") for k in ks)
            rows.append(f"<tr><td>{_e(metric)}</td>{cells}</tr>")
        for name, vals in result.curves.get(family, {}).items():
            text = "; ".join(
                (f"k={k}: " if k is not None else "") + _curve_cell(v) for k, v in vals.items()
            )
            rows.append(f"<tr><td>{_e(name)}</td>{_td(text, 'curve', n)}</tr>")
    return (
        f'<div class="scroll"><table class="metrics"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _per_class(pc: Mapping[str, Any]) -> str:
    """Class histograms, status and every numeric metric per class, then the notes."""
    classes = list(pc["classes"])
    names = {c: str(c) for c in classes}
    if len(set(names.values())) < len(names):  # e.g. 1 and "1"
        names = {c: repr(c) for c in classes}
    cols = _columns(dict(pc), None)
    missing_f, missing_r = pc["missing_in_fake"], pc["missing_in_real"]
    out = [
        "<p>Class c of fake against class c of real "
        f"(boundary: {_e(pc.get('boundary'))}). Missing from fake (dropped modes): "
        f"<strong>{_e(', '.join(names[c] for c in missing_f) or 'none')}</strong>; "
        f"missing from real: {_e(', '.join(names[c] for c in missing_r) or 'none')}.</p>"
    ]
    status = {}
    for c in classes:
        if c in missing_f:
            status[c] = "dropped (no fake samples)"
        elif c in missing_r:
            status[c] = "no real samples"
        elif c in pc["skipped"]:
            status[c] = "skipped"
        else:
            status[c] = "partial" if c in pc["partial"] else "evaluated"
    by_family: dict[str, list[tuple[str, str, str, Any]]] = {}
    for col in cols:
        by_family.setdefault(col[1], []).append(col)
    for family, fcols in by_family.items() or [("", [])]:
        out.append(_class_table(pc, classes, names, status, family, fcols))
    notes = [f"class {names[c]} skipped: {why}" for c, why in pc["skipped"].items()]
    for c, reasons in pc["partial"].items():
        notes.extend(f"class {names[c]}: not computed: {why}" for why in reasons)
    if notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return "".join(out)


def _class_table(
    pc: Mapping[str, Any],
    classes: list[Any],
    names: Mapping[Any, str],
    status: Mapping[Any, str],
    family: str,
    cols: list[tuple[str, str, str, Any]],
) -> str:
    """One table: a row per class (counts, status, this family's metrics), then the mean."""
    head = (
        "<tr><th>class</th><th>n_real</th><th>n_fake</th><th>status</th>"
        + "".join(f'<th scope="col">{_e(label)}</th>' for label, *_ in cols)
        + "</tr>"
    )
    rows = []
    for c in classes:
        scal = pc["scalars"].get(c)
        cells = "".join(
            _td(_cell(scal.get(fam, {}).get(met, {}).get(k)) if scal is not None else "", "num")
            for _, fam, met, k in cols
        )
        cls = "status" if status[c] not in ("evaluated", "partial") else None
        rows.append(
            f'<tr><th scope="row">{_e(names[c])}</th>'
            f"{_td(pc['real_counts'][c], 'num')}{_td(pc['fake_counts'][c], 'num')}"
            f"{_td(status[c], cls)}{cells}</tr>"
        )
    if len(pc["evaluated"]) > 1 and cols:
        mean = pc["class_mean"]
        cells = "".join(
            _td(_cell(mean.get(fam, {}).get(met, {}).get(k)), "num") for _, fam, met, k in cols
        )
        rows.append(
            f'<tr class="mean"><td>mean</td><td></td><td></td>{_td("unweighted")}{cells}</tr>'
        )
    caption = f"<caption>{_e(family)}</caption>" if family else ""
    return (
        f'<div class="scroll"><table class="per-class">{caption}<thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _figures(result: EvaluationResult, dpi: int) -> str:
    from . import plot

    parts = []
    for i, (caption, fig) in enumerate(plot.figures(result).items()):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        data = buf.getvalue()
        width, height = _png_size(data)
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        parts.append(
            f'<figure id="figure-{i + 1}"><img src="{src}" alt="{_e(caption)}" '
            f'width="{width}" height="{height}"><figcaption>Figure {i + 1}. {_e(caption)}'
            "</figcaption></figure>"
        )
    if not parts:
        return "<p>No figure applies to this result.</p>"
    return "".join(parts)


def render_report(
    result: EvaluationResult,
    *,
    title: str | None = None,
    figures: bool = True,
    dpi: int = 100,
) -> str:
    """The report as one HTML5 string (see the module docstring for its contents).

    ``figures=True`` needs matplotlib (ImportError naming ``fastprdc[plot]`` otherwise);
    ``dpi`` sets the figures' resolution.
    """
    from . import __version__

    if figures:
        from .plot import _mpl

        _mpl()  # the clear ImportError before any work
    title = title if title is not None else "fastprdc evaluation report"
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    sections = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">fastprdc {_e(__version__)}, {_e(when)}</p>',
        '<section id="run"><h2>Run</h2>' + _facts(result, __version__) + "</section>",
        '<section id="metrics"><h2>Metrics</h2>' + _metrics_table(result) + "</section>",
    ]
    if figures:
        sections.append(
            '<section id="figures"><h2>Figures</h2>' + _figures(result, dpi) + "</section>"
        )
    if result.per_class is not None:
        sections.append(
            '<section id="per-class"><h2>Per class</h2>'
            + _per_class(result.per_class)
            + "</section>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def write_report(
    result: EvaluationResult,
    path: str | Path,
    *,
    title: str | None = None,
    figures: bool = True,
    dpi: int = 100,
) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8); returns the path."""
    text = render_report(result, title=title, figures=figures, dpi=dpi)
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path
