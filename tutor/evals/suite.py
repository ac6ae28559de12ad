"""The whole eval suite: datasets on the configured home, and article packages,
each in a fresh home of its own; thresholds checked per article.

Every article of the run (the configured home's datasets count as one,
named after them, e.g. "seed") gets its own summary and its own threshold
checks; the run passes when every article passes. The metadata questions of
a package ("Who wrote this article?", "What is this article mainly about?":
answerable cases without support quotes) are reported in their own column and
count towards the gate like any other case.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from tutor.evals.dataset import Dataset, load_dataset
from tutor.evals.packages import Package, PackageHome
from tutor.evals.runner import RESULT_VERSION, CaseResult, RunResult, run_eval, summarise


def is_metadata(case) -> bool:
    """A question about the article itself, answered from its metadata."""
    return case.kind == "answerable" and not case.support


@dataclass
class ArticleRun:
    name: str
    source: str
    result: RunResult
    checks: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def metadata(self) -> dict:
        meta = [r for r in self.result.cases if is_metadata(r.case)]
        return {"cases": len(meta), "passed": sum(1 for r in meta if r.verdict == "pass")}

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "cases": len(self.result.cases),
            "passed": self.passed,
            "metadata": self.metadata(),
            "summary": self.result.summary,
            "thresholds": [asdict(c) for c in self.checks],
            "index_version": self.result.info.get("index_version"),
            "replied_by": self.result.info.get("replied_by"),
        }


@dataclass
class SuiteResult:
    info: dict
    articles: list[ArticleRun]
    comparison: dict | None = None

    @property
    def cases(self) -> list[CaseResult]:
        return [c for a in self.articles for c in a.result.cases]

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.articles)

    @property
    def summary(self) -> dict:
        return summarise(self.cases)

    @property
    def thresholds(self) -> list:
        return [c for a in self.articles for c in a.checks]

    def to_json(self) -> dict:
        return {
            "version": RESULT_VERSION,
            "run": self.info,
            "passed": self.passed,
            "thresholds": [asdict(c) for c in self.thresholds],
            "summary": self.summary,
            "articles": [a.to_json() for a in self.articles],
            "cases": [c.to_json() for c in self.cases],
            **({"comparison": self.comparison} if self.comparison is not None else {}),
        }


def package_dataset(package: Package) -> Dataset:
    """The package's eval set, its cases named after the package."""
    ds = load_dataset(package.eval)
    cases = tuple(replace(c, dataset=package.name) for c in ds.cases)
    return Dataset(package.name, package.eval, cases)


def run_suite(
    settings,
    datasets: Sequence[Dataset],
    packages: Sequence[Package],
    *,
    rules: list,
    make_engine: Callable,
    make_judge: Callable,
    make_llm: Callable | None = None,
    k: int = 4,
    responder: str = "grounded",
    judge_label: str = "default",
    embedder=None,
    on_case: Callable | None = None,
) -> SuiteResult:
    """Run `datasets` on the configured home (`make_engine()`) and every package
    in its own fresh home; check `rules` per article."""
    from tutor.evals import thresholds as th

    started = time.perf_counter()
    package_sets = [(p, package_dataset(p)) for p in packages]  # shape errors before the slow part
    articles: list[ArticleRun] = []
    if datasets:
        engine = make_engine()
        result = _run(engine, datasets, make_judge, make_llm, k, responder, judge_label, on_case)
        name = "+".join(d.name for d in datasets)
        articles.append(ArticleRun(name, ", ".join(str(d.path) for d in datasets), result))
    for package, ds in package_sets:
        with PackageHome(package, settings, embedder=embedder) as engine:
            result = _run(engine, [ds], make_judge, make_llm, k, responder, judge_label, on_case)
        articles.append(ArticleRun(package.name, str(package.folder), result))
    for a in articles:
        a.checks = [replace(c, scope=a.name) for c in th.check(rules, a.result.summary)]
    info = {
        "responder": responder,
        "judge": judge_label,
        "articles": [a.name for a in articles],
        "cases": sum(len(a.result.cases) for a in articles),
        "duration_s": round(time.perf_counter() - started, 2),
        "datasets": [x for a in articles for x in a.result.info.get("datasets", [])],
        "replied_by": _merge_counts(a.result.info.get("replied_by") or {} for a in articles),
    }
    if articles:
        info["started"] = articles[0].result.info.get("started")
        info["python"] = articles[0].result.info.get("python")
    return SuiteResult(info, articles)


def _run(engine, datasets, make_judge, make_llm, k, responder, judge_label, on_case) -> RunResult:
    engine.require_docs()
    judge = make_judge(engine)
    llm = make_llm(engine) if make_llm is not None else None
    return run_eval(engine, datasets, scorer=judge, llm=llm, k=k, responder=responder,
                    judge=judge_label, on_case=on_case)


def _merge_counts(items) -> dict:
    out: dict = {}
    for d in items:
        for key, n in d.items():
            out[key] = out.get(key, 0) + n
    return out
