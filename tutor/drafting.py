"""Drafting a question bank for a new article, for a person to review.

With an LLM: the `draft_questions` prompt asks for JSON drafts; every draft whose
quote does not occur verbatim in the article, or whose keyword is not in the
quote, is dropped, and the rest are topped up with the drafts made from the
article's parse (`tutor.question_drafts`, via `tutor.questions.draft_bank`).
Without an LLM only the parse drafts are used. The result always validates
against the article.
"""

from __future__ import annotations

import json
import re

from tutor.corpus import slugify, squash_whitespace
from tutor.errors import LLMError
from tutor.questions import (
    Objective,
    Question,
    QuestionBank,
    check_bank,
    draft_bank,
    matches_keyword,
)


def draft(document, n: int | None = None, chat_model=None) -> tuple[QuestionBank, str]:
    """A validated draft bank and a note on how it was made (`n`: at most this
    many questions; None: as many as cover every section)."""
    parsed = draft_bank(document, n=n)
    if chat_model is None:
        return parsed, _note(parsed)
    wanted = n or len(parsed.questions)
    try:
        llm_questions = _llm_drafts(document, wanted, chat_model)
    except LLMError as exc:
        return parsed, f"the LLM failed ({exc}); {_note(parsed)} instead"
    objectives: dict[str, list[Question]] = {}
    for objective, q in llm_questions:
        objectives.setdefault(objective, []).append(q)
    needed = max(0, wanted - len(llm_questions))
    taken = {squash_whitespace(quote) for _, item in llm_questions for quote in item.quotes}
    extra = [q for q in parsed.questions  # one question per sentence: skip those the LLM asked about
             if not any(t in squash_whitespace(x) or squash_whitespace(x) in t for t in taken for x in q.quotes)][:needed]
    titles = {o.id: o.title for o in parsed.objectives}
    for q in extra:
        objectives.setdefault(titles[q.objective_id], []).append(q)
    out, ids = [], set()
    for i, (title, qs) in enumerate(objectives.items(), 1):
        oid = qs[0].objective_id if qs[0].objective_id else slugify(title)[:48] or f"objective-{i}"
        while oid in ids:  # long titles can share their first 48 characters
            oid = f"{oid}-{i}"
        ids.add(oid)
        out.append(Objective(id=oid, title=title, questions=qs))
    bank = QuestionBank(doc_id=document.doc_id, objectives=out)
    check_bank(bank, document, source="draft")
    return bank, f"{len(llm_questions)} LLM questions kept (quotes verified), {len(extra)} drafted from the parse added"


def _note(bank: QuestionBank) -> str:
    kinds = sum(1 for q in bank.questions if not q.question.startswith("Fill in the blank"))
    return (f"{len(bank.questions)} questions drafted from the article's parse "
            f"({kinds} wh-questions, {len(bank.questions) - kinds} cloze) over {len(bank.objectives)} sections")


def _llm_drafts(document, n: int, chat_model) -> list[tuple[str, Question]]:
    from tutor.prompts import render_messages

    messages = render_messages("draft_questions", title=document.title, text=document.text, n=n)
    try:
        raw = chat_model.invoke(messages).content
    except Exception as exc:  # noqa: BLE001 - any backend failure
        raise LLMError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    items = _parse_json_list(raw if isinstance(raw, str) else str(raw))
    article = squash_whitespace(document.text)
    kept, seen = [], set()
    for i, item in enumerate(items, 1):
        quote = squash_whitespace(str(item.get("quote", "")))
        keyword = str(item.get("keyword", "")).strip().lower()
        question = str(item.get("question", "")).strip()
        if not (quote and keyword and question) or quote not in article or quote in seen:
            continue
        if not matches_keyword(keyword, quote):
            continue
        seen.add(quote)
        kept.append((
            str(item.get("objective") or "Key ideas").strip()[:120],
            Question(
                id=f"q-llm-{i:02d}", question=question,
                answer=str(item.get("answer") or quote).strip(), quotes=[quote], keywords=[keyword],
            ),
        ))
    return kept[:n]


def _parse_json_list(raw: str) -> list[dict]:
    match = re.search(r"\[.*\]", raw, re.S)
    if not match:
        return []
    try:
        data = json.loads(match.group())
    except json.JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
