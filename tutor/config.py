"""Settings in one place: flag > environment variable > default.

`TUTOR_HOME` decides where the index, feedback and logs live (default `~/.tutor`);
`TUTOR_DATABASE_URL` moves conversations and feedback to PostgreSQL (see
`tutor.store`), `TUTOR_CHROMA_URL` the index to a Chroma server.
Packaged data (corpus, prompts, evals) is found next to the installed package
(`tutor/_data/...` in a wheel) or at the repository root in a checkout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from tutor.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
MAX_MESSAGE_CHARS = 2000

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Where the packaged `corpus`, `prompts` or `evals` folder lives."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"packaged folder '{name}' not found; reinstall the tutor")


def default_home() -> Path:
    return Path(os.environ.get("TUTOR_HOME") or Path.home() / ".tutor").expanduser()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    llm: str | None = field(default_factory=lambda: os.environ.get("TUTOR_LLM") or None)
    chroma_url: str | None = field(
        default_factory=lambda: os.environ.get("TUTOR_CHROMA_URL") or None
    )
    embedding_model: str = field(
        default_factory=lambda: os.environ.get("TUTOR_EMBEDDING_MODEL") or DEFAULT_EMBEDDING_MODEL
    )
    database_url: str | None = field(
        default_factory=lambda: os.environ.get("TUTOR_DATABASE_URL") or None
    )
    llm_timeout: float = field(
        default_factory=lambda: float(os.environ.get("TUTOR_LLM_TIMEOUT") or 30.0)
    )

    def __post_init__(self):
        object.__setattr__(self, "home", Path(self.home).expanduser())

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def store_url(self) -> str:
        """Where conversations and feedback live: TUTOR_DATABASE_URL, else SQLite under TUTOR_HOME."""
        return self.database_url or f"sqlite:///{self.home / 'web.sqlite3'}"

    @property
    def default_corpus(self) -> Path:
        return data_dir("corpus")

    def with_overrides(self, **flags) -> Settings:
        """Apply command-line flags; a flag left as None keeps the env/default value."""
        given = {k: v for k, v in flags.items() if v is not None}
        if "home" in given:
            given["home"] = Path(given["home"]).expanduser()
        return replace(self, **given)
