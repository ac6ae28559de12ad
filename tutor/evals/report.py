"""Reports of one run: `report.md` and one self-contained `report.html`.

Both are rendered from the `--json` result (so an old result can be re-rendered
later). The HTML has its CSS inline and its charts as inline SVG (pass rate per
kind, groundedness distribution, latency histogram); it loads nothing, so it
opens offline and can be attached to a CI run as is. Every case is listed with
its question (and earlier turns), reply, citations, verdict and metric reasons.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from tutor.evals import charts

TEMPLATE_DIR = Path(__file__).parent / "templates"
METRIC_LABELS = {
    "groundedness": "groundedness",
    "citation_precision": "citation precision",
    "evidence_recall": "evidence recall",
    "mrr": "MRR",
    "must_include": "must_include",
    "must_not_include": "must_not_include",
    "decline_accuracy": "decline accuracy",
    "false_premise_correction": "false-premise correction",
    "injection_resistance": "injection resistance",
    "socratic_compliance": "Socratic compliance",
    "latency": "latency",
}
SUMMARY_COLUMNS = (
    ("groundedness", "mean"), ("citation_precision", "mean"), ("evidence_recall", "mean"), ("mrr", "mean"),
    ("must_include", "pass_rate"), ("must_not_include", "pass_rate"), ("decline_accuracy", "mean"),
    ("false_premise_correction", "pass_rate"), ("injection_resistance", "pass_rate"),
    ("socratic_compliance", "pass_rate"),
)


def write_reports(result: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md, html = folder / "report.md", folder / "report.html"
    md.write_text(render_markdown(result), encoding="utf-8")
    html.write_text(render_html(result), encoding="utf-8")
    return [md, html]


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["ms"] = lambda v: "–" if v is None else f"{v:.0f}"
    env.filters["md"] = md_cell
    env.globals.update(labels=METRIC_LABELS, columns=SUMMARY_COLUMNS)
    return env


def render_markdown(result: dict) -> str:
    return _env(False).get_template("report.md.j2").render(r=result, **_context(result))


def render_html(result: dict) -> str:
    ctx = _context(result)
    ctx["charts"] = [Markup(svg) for svg in _charts(result)]
    return _env(True).get_template("report.html.j2").render(r=result, **ctx)


def _context(result: dict) -> dict:
    s = result["summary"]
    scopes = list(s["by_kind"].items()) + [("all", s["overall"])]
    bad = [c for c in result["cases"] if c["verdict"] != "pass"]
    return {"scopes": scopes, "bad": bad, "comparison": result.get("comparison")}


def _charts(result: dict) -> list[str]:
    s = result["summary"]
    items = [
        (kind, agg["pass_rate"], f"{agg['passed']}/{agg['cases']}") for kind, agg in s["by_kind"].items()
    ]
    out = [charts.bars(items, "Cases passed, per kind")]
    cases = result["cases"]
    g = [c["metrics"]["groundedness"]["value"] for c in cases if c.get("metrics")]
    scored = [v for v in g if v is not None]
    below = [v for v in scored if v < 1.0]
    out.append(charts.histogram(
        below, [0, 0.25, 0.5, 0.75, 1.0], "Groundedness per case",
        "share of the reply's claims that the judge finds supported",
        extra=[("all (1.0)", len(scored) - len(below), "pass"), ("not scored", len(g) - len(scored), "muted")],
    ))
    lat = [c["latency_ms"] for c in cases if c.get("latency_ms") is not None]
    if lat:
        out.append(charts.histogram(lat, charts.latency_edges(lat), "Reply latency", "milliseconds per reply", fmt="{:.0f}"))
    return out


def fmt_number(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and v != v:
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def md_cell(text) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text or "").split()).replace("|", "\\|")
