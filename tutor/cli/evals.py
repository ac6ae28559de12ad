"""`tutor eval`: run the golden datasets through the tutor and gate on thresholds.

    tutor eval [DATASET...] [--llm SPEC] [--no-guard] [--json] [--report DIR]
               [--compare OLD.json] [--thresholds FILE] [--judge SPEC]
    tutor eval --scorer [CLAIMS.jsonl...] [--judge SPEC] [--json]
    tutor eval --replies [REPLIES.jsonl...] [--json]

`--scorer` and `--replies` without files evaluate every article group of the
fitting data (`tutor.fitting`) leave-one-article-out: the model fitted without
that article scores it, one row per article, and the thresholds apply to each
row. A given file that is one of those groups is scored the same way; any
other file is scored by the packaged model.

Exit codes: 0 when every threshold holds, 1 when one fails (or a case crashed,
or a dataset is invalid), 2 for a usage error. A progress bar runs on stderr;
the result goes to stdout (a table, or with --json the whole result).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, EmbeddingModel, Home, Json, Llm, settings
from tutor.errors import ConfigError

Datasets = Annotated[
    list[Path] | None,
    typer.Argument(
        help="JSONL datasets (default: evals/*.jsonl except claims.jsonl); with --scorer, claim files, with "
        "--replies, learner-reply files (default: every article group, leave-one-article-out).",
        show_default=False,
    ),
]


@app.command("eval")
def eval_command(
    datasets: Datasets = None,
    llm: Llm = None,
    no_guard: Annotated[bool, typer.Option("--no-guard", help="Score the LLM's raw replies, without the grounding guard.")] = False,
    as_json: Json = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write report.md and report.html to this folder.", show_default=False)] = None,
    compare_with: Annotated[Path | None, typer.Option("--compare", help="A previous `tutor eval --json` result to compare with.", show_default=False)] = None,
    scorer: Annotated[bool, typer.Option("--scorer", help="Evaluate the support scorer on labeled claims instead.")] = False,
    replies: Annotated[bool, typer.Option("--replies", help="Evaluate the reply assessor on labeled learner replies instead.")] = False,
    judge: Annotated[str | None, typer.Option("--judge", help="Support judge: default | nli:PATH | llm (uses --llm) | llm:PROVIDER:MODEL.", show_default=False)] = None,
    thresholds: Annotated[Path | None, typer.Option("--thresholds", help="Thresholds file (default: evals/thresholds.toml).", show_default=False)] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Passages to retrieve per question.")] = 4,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Evaluate the tutor on golden datasets (or, with --scorer, the support scorer)."""
    from rich.console import Console

    out = Console(file=sys.stderr if as_json else sys.stdout, soft_wrap=False, width=_width())
    if replies:
        if scorer or no_guard or report or compare_with or judge:
            raise typer.BadParameter("--replies takes only reply files, --thresholds and --json")
        cfg = settings(home, embedding_model, chroma_url, llm)
        raise typer.Exit(_replies_command(datasets, cfg, thresholds, as_json, out))
    if scorer:
        if no_guard or report or compare_with:
            raise typer.BadParameter("--scorer takes only claim files, --judge, --thresholds and --json")
        cfg = settings(home, embedding_model, chroma_url, llm)
        code = _scorer_command(datasets, cfg, judge, thresholds, as_json, out)
        raise typer.Exit(code)
    if no_guard and not llm:
        raise typer.BadParameter("--no-guard needs --llm (the grounded responder has no guard to switch off)")
    code = _eval_command(datasets, settings(home, embedding_model, chroma_url, llm), no_guard, as_json,
                         report, compare_with, judge, thresholds, k, out)
    raise typer.Exit(code)


# ---- tutor eval -------------------------------------------------------------------


def _eval_command(paths, cfg, no_guard, as_json, report, compare_with, judge, thresholds, k, out) -> int:
    from tutor.evals import compare as cmp
    from tutor.evals import thresholds as th
    from tutor.evals.dataset import default_dataset_paths, load_datasets
    from tutor.evals.packages import default_packages, find_packages
    from tutor.evals.suite import run_suite

    files = [p for p in (paths or []) if not Path(p).is_dir()]
    folders = [p for p in (paths or []) if Path(p).is_dir()]
    if paths:
        datasets = load_datasets(files) if files else []
        packages = find_packages(folders)
    else:
        datasets = load_datasets(default_dataset_paths())
        packages = default_packages()
    rules = th.load_rules(thresholds, profile="llm" if cfg.llm else None)
    old = cmp.load_result(compare_with) if compare_with else None
    label = "grounded"
    if cfg.llm:
        label = f"llm {cfg.llm}" + (" (no guard)" if no_guard else "")

    def make_engine():
        from tutor.engine import Engine

        return Engine.open(cfg)

    def make_llm(engine):
        if not cfg.llm:
            return None
        from tutor.evals.unguarded import EvalLLMResponder
        from tutor.llm_backends import EVAL_SEED
        from tutor.responders.llm import LLMResponder

        try:
            base = LLMResponder.from_spec(cfg.llm, engine, timeout=cfg.llm_timeout, seed=EVAL_SEED)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--llm") from None
        return EvalLLMResponder.wrap(base, guard=not no_guard)

    judges: dict = {}

    def judge_for(engine):
        obj, name = make_judge(judge, cfg, engine)
        judges["label"] = name
        return obj

    from tutor.embedder import get_embedder

    total = sum(len(d.cases) for d in datasets) + sum(_count_cases(p.eval) for p in packages)
    with _Progress(total) as progress:
        result = run_suite(
            cfg, datasets, packages, rules=rules, make_engine=make_engine, make_judge=judge_for,
            make_llm=make_llm if cfg.llm else None, k=k, responder=label,
            judge_label=judge or "default", embedder=get_embedder(cfg.embedding_model),
            on_case=progress.advance,
        )
    if old is not None:
        result.comparison = cmp.compare(old, result.to_json())
    data = result.to_json()
    if report:
        from tutor.evals.report import write_reports

        written = write_reports(data, Path(report))
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    _print_run(data, out)
    return 0 if result.passed else 1


def _count_cases(path: Path) -> int:
    try:
        return sum(1 for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError:
        return 0


def make_judge(spec: str | None, cfg, engine=None):
    """The support judge for groundedness/citations or for --scorer, and its label."""
    if spec in (None, "", "default"):
        if engine is not None:
            return engine.scorer, "default"
        from tutor.embedder import get_embedder
        from tutor.support import SupportScorer

        return SupportScorer(embedder=get_embedder(cfg.embedding_model)), "default"
    try:
        from tutor.support import make_judge as support_make_judge
    except ImportError:
        raise ConfigError("this tutor has no alternative judges yet; leave out --judge") from None
    chat_model = None
    if spec == "llm" or spec.startswith("llm:"):
        model_spec = spec[4:] if spec.startswith("llm:") else cfg.llm
        if not model_spec:
            raise ConfigError("--judge llm needs an LLM: add --llm PROVIDER:MODEL, set TUTOR_LLM, or write --judge llm:PROVIDER:MODEL")
        from tutor.llm_backends import EVAL_SEED, make_chat_model

        chat_model = make_chat_model(model_spec, cfg.llm_timeout, seed=EVAL_SEED)
        return support_make_judge("llm", chat_model), f"llm {model_spec}"
    try:
        return support_make_judge(spec, chat_model), spec
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--judge") from None


# ---- tutor eval --scorer --------------------------------------------------------------


def _scorer_command(paths, cfg, judge, thresholds, as_json, out) -> int:
    from tutor import fitting
    from tutor.evals import thresholds as th
    from tutor.evals.scorer_eval import evaluate_loao, evaluate_scorer, group_of, load_claims

    groups = fitting.claim_groups()
    files = list(paths) if paths else list(groups.values())
    for f in files:
        load_claims(f)  # validate before loading any model
    rules = th.load_rules(thresholds)
    judge_obj, judge_label = make_judge(judge, cfg)
    named = {f: group_of(f, groups) for f in files}
    default = judge in (None, "", "default")
    held = [n for n in named.values() if n] if default else []
    loao = {e.path: e for e in evaluate_loao(judge_obj, held)} if held else {}
    evals = []
    for f in files:
        if default and named[f]:
            e = loao[named[f]]
            e.path = f"{named[f]} (LOAO)"
        else:
            e = evaluate_scorer(f, judge_obj)
        evals.append(e)
    rows = []
    passed = True
    for e in evals:
        checks = th.check(rules, e.to_json(), metric="scorer")
        passed &= all(c.status != "fail" for c in checks)
        rows.append({**e.to_json(), "thresholds": [c.__dict__ for c in checks]})
    data = {"judge": judge_label, "files": rows, "passed": passed}
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    _print_scorer(data, out)
    return 0 if passed else 1


def _replies_command(paths, cfg, thresholds, as_json, out) -> int:
    from tutor import fitting
    from tutor.embedder import get_embedder
    from tutor.evals import thresholds as th
    from tutor.evals.replies_eval import evaluate_replies, load_replies
    from tutor.support import SupportScorer

    files = list(paths) if paths else list(fitting.reply_groups().values())
    for f in files:
        load_replies(f)
    rules = th.load_rules(thresholds)
    judge = SupportScorer(embedder=get_embedder(cfg.embedding_model))
    rows, passed = [], True
    for e in evaluate_replies(files, judge):
        checks = th.check(rules, e.to_json(), metric="replies")
        passed &= all(c.status != "fail" for c in checks)
        rows.append({**e.to_json(), "thresholds": [c.__dict__ for c in checks]})
    data = {"files": rows, "passed": passed}
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    _print_replies(data, out)
    return 0 if passed else 1


# ---- output -----------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr (redrawn only on a terminal)."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[case]}"),
            TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True,
        )
        self.task = self.progress.add_task("eval", total=total, case="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def advance(self, result) -> None:
        mark = {"pass": "ok", "fail": "FAIL", "error": "ERROR"}[result.verdict]
        self.progress.update(self.task, advance=1, case=f"{result.case.id} {mark}")


def _width() -> int | None:
    return None if sys.stdout.isatty() else 160


def _fmt(v, pct: bool = True) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.2f}" if pct else f"{v:.0f}"


COLUMNS = (
    ("groundedness", "mean", "ground."),
    ("citation_precision", "mean", "cite prec."),
    ("evidence_recall", "mean", "ev. recall"),
    ("mrr", "mean", "MRR"),
    ("must_include", "pass_rate", "incl."),
    ("must_not_include", "pass_rate", "not incl."),
    ("decline_accuracy", "mean", "decline"),
    ("false_premise_correction", "pass_rate", "premise"),
    ("injection_resistance", "pass_rate", "inject."),
    ("socratic_compliance", "pass_rate", "socratic"),
)


def _print_run(data: dict, out) -> None:
    from rich.table import Table

    s = data["summary"]
    run = data["run"]
    table = Table(title=f"tutor eval · {run['responder']} · {run['cases']} cases · judge {run['judge']}")
    table.add_column("kind")
    table.add_column("cases", justify="right")
    table.add_column("pass", justify="right")
    for _, _, head in COLUMNS:
        table.add_column(head, justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    scopes = list(s["by_kind"].items()) + [("all", s["overall"])]
    for name, agg in scopes:
        cells = [name, str(agg["cases"]), f"{agg['passed']}/{agg['cases']}"]
        cells += [_fmt((agg.get(m) or {}).get(stat)) for m, stat, _ in COLUMNS]
        cells += [_fmt(agg["latency"]["p50_ms"], False), _fmt(agg["latency"]["p95_ms"], False)]
        table.add_row(*cells, style="bold" if name == "all" else None)
    out.print(table)
    if len(data.get("articles") or []) > 1:
        _print_articles(data["articles"], out)
    if "groundedness_before_guard" in s["overall"]:
        g = s["overall"]["groundedness_before_guard"]
        out.print(f"LLM groundedness before the guard: {_fmt(g['mean'])} over {g['scored']} LLM answers "
                  f"(after: {_fmt(s['overall']['groundedness']['mean'])})")
    bad = [c for c in data["cases"] if c["verdict"] != "pass"]
    if bad:
        t = Table(title="cases that did not pass")
        t.add_column("case")
        t.add_column("kind")
        t.add_column("why", overflow="fold")
        for c in bad:
            why = c["error"] or "; ".join(f"{m}: {c['metrics'][m]['reason']}" for m in c["failed"])
            t.add_row(c["key"], c["kind"], why)
        out.print(t)
    _print_thresholds(data["thresholds"], out)
    if data.get("comparison"):
        _print_comparison(data["comparison"], out)


ARTICLE_COLUMNS = (
    ("must_include", "pass_rate", "incl."),
    ("decline_accuracy", "mean", "decline"),
    ("groundedness", "mean", "ground."),
    ("socratic_compliance", "pass_rate", "socratic"),
    ("false_premise_correction", "pass_rate", "premise"),
    ("injection_resistance", "pass_rate", "inject."),
    ("evidence_recall", "mean", "ev. recall"),
    ("citation_precision", "mean", "cite prec."),
)


def _print_articles(articles: list[dict], out) -> None:
    """One row per article: the gated metrics, metadata questions and the verdict."""
    from rich.table import Table

    t = Table(title="per article")
    for col in ("article", "cases", "pass"):
        t.add_column(col, justify="left" if col == "article" else "right")
    for _, _, head in ARTICLE_COLUMNS:
        t.add_column(head, justify="right")
    t.add_column("meta", justify="right")
    t.add_column("gate")
    for a in articles:
        o = a["summary"]["overall"]
        meta = a["metadata"]
        cells = [a["name"], str(o["cases"]), f"{o['passed']}/{o['cases']}"]
        cells += [_fmt((o.get(m) or {}).get(stat)) for m, stat, _ in ARTICLE_COLUMNS]
        cells += [f"{meta['passed']}/{meta['cases']}" if meta["cases"] else "–", "pass" if a["passed"] else "FAIL"]
        t.add_row(*cells, style=None if a["passed"] else "red")
    out.print(t)


def _print_thresholds(checks: list[dict], out) -> None:
    from rich.table import Table

    scopes = {c.get("scope", "all") for c in checks}
    shown = [c for c in checks if c["status"] == "fail"] if len(scopes) > 1 else checks
    t = Table(title="thresholds" if len(scopes) <= 1 else
              f"thresholds: {sum(c['status'] == 'pass' for c in checks)} pass, "
              f"{sum(c['status'] == 'fail' for c in checks)} fail over {len(scopes)} articles")
    for col in ("article", "metric", "limit", "value", "status"):
        t.add_column(col)
    for c in shown:
        value = "not scored" if c["value"] is None else f"{c['value']:g}"
        style = {"pass": "green", "fail": "bold red"}.get(c["status"], "yellow")
        t.add_row(c.get("scope", "all"), f"{c['metric']}.{c['stat']}", f"{c['op']} {c['limit']:g}", value,
                  c["status"], style=style)
    out.print(t)


def _print_comparison(comparison: dict, out) -> None:
    from rich.table import Table

    moved = [m for m in comparison["metrics"] if m["change"] not in ("same",)]
    t = Table(title="compared with the previous run")
    for col in ("scope", "metric", "old", "new", "change"):
        t.add_column(col)
    for m in moved:
        pct = m["metric"] != "latency"
        style = {"better": "green", "worse": "red"}.get(m["change"])
        t.add_row(m["scope"], f"{m['metric']}.{m['stat']}", _fmt(m["old"], pct), _fmt(m["new"], pct), m["change"], style=style)
    if not moved:
        t.add_row("all", "every metric", "", "", "unchanged")
    out.print(t)
    cases = comparison["cases"]
    if cases["changed"] or cases["added"] or cases["removed"]:
        c = Table(title=f"cases: {cases['fixed']} fixed, {cases['regressed']} regressed")
        for col in ("case", "verdict", "change", "metrics"):
            c.add_column(col, overflow="fold")
        for ch in cases["changed"]:
            metrics = ", ".join(f"{m['metric']} {_fmt(m['old'])}→{_fmt(m['new'])}" for m in ch["metrics"])
            c.add_row(ch["key"], f"{ch['old_verdict']} → {ch['new_verdict']}", ch["change"], metrics)
        for key in cases["added"]:
            c.add_row(key, "new case", "added", "")
        for key in cases["removed"]:
            c.add_row(key, "gone", "removed", "")
        out.print(c)


def _row_name(path: str) -> str:
    return path if "(LOAO)" in path else Path(path).name


def _print_scorer(data: dict, out) -> None:
    from rich.table import Table

    t = Table(title=f"support scorer · judge {data['judge']}")
    for col in ("claims", "n", "balanced acc.", "TPR", "TNR", "TP", "TN", "FP", "FN", "status"):
        t.add_column(col, justify="right" if col != "claims" else "left")
    for e in data["files"]:
        bad = any(c["status"] == "fail" for c in e["thresholds"])
        t.add_row(_row_name(e["path"]), str(e["n"]), _fmt(e["balanced_accuracy"]), _fmt(e["tpr"]), _fmt(e["tnr"]),
                  str(e["tp"]), str(e["tn"]), str(e["fp"]), str(e["fn"]), "FAIL" if bad else "ok",
                  style="bold red" if bad else None)
    out.print(t)
    mistakes = [(e["path"], m) for e in data["files"] for m in e["mistakes"]]
    if mistakes:
        m = Table(title="misjudged claims")
        for col in ("claims", "line", "label", "judged", "claim", "reason"):
            m.add_column(col, overflow="fold")
        for path, x in mistakes:
            m.add_row(_row_name(path), str(x["line"]), str(x["label"]), str(x["judged"]), x["claim"], x["reason"])
        out.print(m)
    _print_thresholds([c | {"metric": f"{_row_name(e['path'])}: {c['metric']}"} for e in data["files"]
                       for c in e["thresholds"]], out)


def _print_replies(data: dict, out) -> None:
    from rich.table import Table

    t = Table(title="reply assessor")
    cols = ("replies", "n", "accuracy") + tuple(f"{a[:4]}→{b[:4]}" for a in ("correct", "partial", "incorrect")
                                                for b in ("correct", "partial", "incorrect")) + ("status",)
    for col in cols:
        t.add_column(col, justify="left" if col == "replies" else "right")
    for e in data["files"]:
        bad = any(c["status"] == "fail" for c in e["thresholds"])
        name = Path(e["path"]).parent.name if Path(e["path"]).name == "replies.jsonl" else Path(e["path"]).name
        cells = [name + (" (LOAO)" if e["loao"] else ""), str(e["n"]), _fmt(e["accuracy"])]
        cells += [str(e["confusion"][a][b]) for a in ("correct", "partial", "incorrect")
                  for b in ("correct", "partial", "incorrect")]
        t.add_row(*cells, "FAIL" if bad else "ok", style="bold red" if bad else None)
    out.print(t)
    mistakes = [(e["path"], m) for e in data["files"] for m in e["mistakes"]]
    if mistakes:
        m = Table(title="misjudged replies (label → judged)")
        for col in ("file", "line", "label", "judged", "question", "reply"):
            m.add_column(col, overflow="fold")
        for path, x in mistakes:
            m.add_row(Path(path).parent.name, str(x["line"]), x["label"], x["judged"], x["question"], x["reply"])
        out.print(m)
    _print_thresholds([c | {"metric": f"{Path(e['path']).parent.name}: {c['metric']}"} for e in data["files"]
                       for c in e["thresholds"]], out)
