"""`tutor ask QUESTION`: one question, one cited answer."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, EmbeddingModel, Home, Json, Llm, settings


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="What you want to know about the article.")],
    mode: Annotated[str, typer.Option("--mode", help="explain | socratic")] = "explain",
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Passages to retrieve.")] = 4,
    doc: Annotated[str | None, typer.Option("--doc", help="Limit to one article (doc_id).")] = None,
    as_json: Json = False,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
    llm: Llm = None,
) -> None:
    """Answer a question from the article, with citations."""
    from tutor.session import Session

    if mode not in ("explain", "socratic"):
        raise typer.BadParameter(f"'{mode}' is not one of: explain, socratic", param_hint="--mode")
    session = Session.open(settings(home, embedding_model, chroma_url, llm), mode=mode, doc_id=doc, k=k)
    reply = session.send(question)
    if as_json:
        print(json.dumps(reply.to_json()))
        return
    print(reply.answer)
    if reply.citations:
        print()
        for c in reply.citations:
            where = f" — {c.heading}" if c.heading else ""
            print(f"[{c.n}] {c.title}{where}: {_short(c.text)}")
    if reply.notice:
        print(f"\n({reply.notice})")


def _short(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
