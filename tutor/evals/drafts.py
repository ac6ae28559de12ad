"""Scoring drafted question banks (issue 10, point 7), article by article.

Each article is ingested alone into a fresh temporary home, without any
hand-written bank beside it, so the bank it gets is the one ingest drafts from
its parse. For that bank:

* `keywords_content`: the share of questions whose keywords are all content
  words, names, numbers or noun phrases (`question_drafts.keyword_is_content`);
* `answered`: the share that the grounded responder answers correctly from the
  article: each question is sent, as the learner would type it, to a new
  explain-mode `Session` over that home, and counts when the reply is not a
  decline and every reference keyword occurs in it (`matches_keyword`);
* `duplicates`: questions whose reference answer another question already has;
* `sections`: sections with prose that have a question, of all such sections.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

TARGET_KEYWORDS = 0.95
TARGET_ANSWERED = 0.85


@dataclass
class DraftScore:
    article: str
    doc_id: str
    questions: int
    keywords_content: float
    answered: float
    duplicates: int
    sections_covered: int
    sections: int
    failures: list[dict] = field(default_factory=list)  # questions not answered, bad keywords

    def to_json(self) -> dict:
        return asdict(self)


def score_article(path: Path, embedder=None) -> DraftScore:
    """Ingest `path` alone into a fresh home and score the bank drafted for it."""
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.question_drafts import keyword_is_content, prose_sections, section_id
    from tutor.questions import matches_keyword
    from tutor.session import Session

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="tutor-drafts-") as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        shutil.copy(path, folder / path.name)  # the article only: no hand-written bank
        settings = Settings(home=Path(tmp) / "home")
        engine = Engine(settings, embedder=embedder)
        report = engine.index.ingest([folder / path.name])
        if report.failed:
            raise RuntimeError(f"{path}: {report.failed[0]['error']}")
        doc_id = next(iter(engine.documents))
        bank = engine.bank(doc_id)
        stored = engine.documents[doc_id]
        parsed = engine.index.snapshot().parsed(doc_id)
        wanted = {section_id(p) for p in prose_sections(stored, parsed)}
        questions = bank.questions if bank else []
        failures, good_keys, answered = [], 0, 0
        for q in questions:
            bad = [k for k in q.keywords if not keyword_is_content(k)]
            good_keys += not bad
            reply = Session(engine, doc_id=doc_id).send(q.question)
            missing = [k for k in q.keywords if not matches_keyword(k, reply.answer)]
            ok = not reply.declined and not missing
            answered += ok
            if bad or not ok:
                failures.append({"question": q.question, "keywords": q.keywords, "bad_keywords": bad,
                                 "missing": missing, "declined": reply.declined, "answer": reply.answer[:300]})
        answers = [" ".join(q.answer.split()).lower() for q in questions]
        covered = {o.id for o in (bank.objectives if bank else [])}
        n = len(questions) or 1
        return DraftScore(
            article=str(path), doc_id=doc_id, questions=len(questions),
            keywords_content=round(good_keys / n, 3), answered=round(answered / n, 3),
            duplicates=len(answers) - len(set(answers)),
            sections_covered=len(wanted & covered), sections=len(wanted), failures=failures,
        )


def article_paths(root: Path) -> list[Path]:
    """Every dev article package's article under `root/evals/articles`, then the seed corpus."""
    from tutor.corpus import SUPPORTED_SUFFIXES

    out = []
    for folder in sorted((root / "evals" / "articles").iterdir()):
        out += [p for p in sorted(folder.glob("article.*")) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    out += [p for p in sorted((root / "corpus").iterdir()) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    return out


def table(scores: list[DraftScore]) -> str:
    lines = ["| article | questions | keywords content | answered | duplicates | sections |",
             "|---|---|---|---|---|---|"]
    for s in scores:
        lines.append(f"| {s.doc_id if s.doc_id != 'article' else Path(s.article).parent.name} | {s.questions} | "
                     f"{s.keywords_content:.2f} | {s.answered:.2f} | {s.duplicates} | "
                     f"{s.sections_covered}/{s.sections} |")
    return "\n".join(lines)
