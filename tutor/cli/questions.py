"""`tutor questions draft DOC`: draft a question bank for review."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import Llm, settings

questions_app = typer.Typer(help="Question banks: draft one for a new article.", no_args_is_help=True)
app.add_typer(questions_app, name="questions")


@questions_app.command("draft")
def draft_cmd(
    doc: Annotated[Path, typer.Argument(help="The article file (.md, .txt, .html, .pdf).")],
    n: Annotated[int | None, typer.Option("--n", min=1, max=50, help="At most this many questions (default: enough to cover every section).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: print).")] = None,
    llm: Llm = None,
) -> None:
    """Draft questions from the article's parse (and through the LLM when one is configured)."""
    from tutor.corpus import load_document
    from tutor.drafting import draft
    from tutor.questions import dump_bank

    document = load_document(doc)
    cfg = settings(llm=llm)
    model = None
    if cfg.llm:
        from tutor.llm_backends import make_chat_model

        model = make_chat_model(cfg.llm, timeout=cfg.llm_timeout, max_tokens=1500)
    bank, note = draft(document, n=n, chat_model=model)
    text = "# Draft for review: check every question before use.\n" + dump_bank(bank)
    if out:
        if out.exists():
            raise typer.BadParameter(f"{out} exists; choose another path", param_hint="--out")
        out.write_text(text, encoding="utf-8")
        print(f"Wrote {out}: {note}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
        print(f"({note})", file=sys.stderr)
