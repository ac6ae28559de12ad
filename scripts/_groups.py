"""Article groups for the fitting scripts: the seed's eval sets on the packaged
corpus, and every article package under evals/articles/, each ingested into a
fresh temporary home (as `tutor eval` plays them)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def groups(packages_dir: Path) -> list[tuple[str, list[Path], list[Path]]]:
    """(name, article files to ingest, eval files) per article group."""
    out = [("seed", [ROOT / "corpus"], sorted((ROOT / "evals").glob("seed*.jsonl")))]
    if packages_dir.is_dir():
        for folder in sorted(p for p in packages_dir.iterdir() if (p / "eval.jsonl").is_file()):
            article = next(p for p in folder.iterdir() if p.stem == "article")
            out.append((folder.name, [article], [folder / "eval.jsonl"]))
    return out


def data_hash(spec, extra: list[Path] = ()) -> str:
    """SHA-256 over the articles and eval files the model is fitted on."""
    h = hashlib.sha256()
    for name, articles, evals in spec:
        h.update(name.encode())
        files = [p for a in articles for p in ([a] if a.is_file() else sorted(a.rglob("*"))) if p.is_file()]
        for path in sorted(files) + list(evals):
            h.update(path.name.encode() + path.read_bytes())
    for path in extra:
        h.update(path.read_bytes())
    return h.hexdigest()


@contextmanager
def engine_for(name: str, articles: list[Path], embedder) -> Iterator:
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.index import Index

    with tempfile.TemporaryDirectory(prefix=f"fit-{name}-") as home:
        settings = Settings(home=Path(home), chroma_url=None)
        Index(settings, embedder=embedder).ingest(articles)
        yield Engine.open(settings, auto_ingest=False, embedder=embedder)


def resolved_question(engine, case) -> str:
    """The scored message of a case as the session resolves it."""
    if case.kind != "followup":
        return case.question
    from tutor.session import Session

    session = Session(engine, mode="explain", doc_id=case.doc)
    for turn in case.turns[:-1]:
        session.send(turn)
    return session._resolve(case.turns[-1])


def save_model(model: dict, spec, report: dict, out: Path) -> None:
    """Stamp a fitted model with the data it was fitted on (hash, groups) and its
    leave-one-article-out report, and write it as JSON."""
    import json

    model["data_sha256"] = data_hash(spec)
    model["groups"] = [g for g, _, _ in spec]
    model["leave_one_article_out"] = report
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
