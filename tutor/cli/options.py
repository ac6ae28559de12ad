"""Options shared by several commands; each reads its default from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tutor.config import Settings

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="TUTOR_HOME", help="Where the index, feedback and logs live.", show_default=False),
]
EmbeddingModel = Annotated[
    str | None,
    typer.Option("--embedding-model", envvar="TUTOR_EMBEDDING_MODEL", help="Local sentence-transformers model.", show_default=False),
]
ChromaUrl = Annotated[
    str | None,
    typer.Option("--chroma-url", envvar="TUTOR_CHROMA_URL", help="Use a Chroma server (http://host:port).", show_default=False),
]
Llm = Annotated[
    str | None,
    typer.Option("--llm", envvar="TUTOR_LLM", help="provider:model, e.g. openai:gpt-4o-mini, ollama:llama3, gguf:/path/model.gguf.", show_default=False),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TUTOR_DATABASE_URL", show_default=False,
                 help="Keep conversations and feedback in PostgreSQL (postgresql://user:password@host:port/db), "
                 "shared by several instances. Default: SQLite under --home."),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def settings(home=None, embedding_model=None, chroma_url=None, llm=None, database_url=None) -> Settings:
    return Settings().with_overrides(
        home=home, embedding_model=embedding_model, chroma_url=chroma_url, llm=llm,
        database_url=database_url,
    )
