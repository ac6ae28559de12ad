"""Shared fixtures. All state goes to temporary folders; the real embedder and
a real Chroma store are used throughout (the embedder is loaded once per run)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seed" / "000_e124814394c37f1e.txt"
CORPUS = REPO / "corpus"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test touches ~/.tutor or the user's environment settings."""
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    for var in ("TUTOR_LLM", "TUTOR_CHROMA_URL", "TUTOR_EMBEDDING_MODEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def embedder():
    from tutor.embedder import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def seed_home(tmp_path_factory, embedder) -> Path:
    """A TUTOR_HOME with the packaged corpus ingested once per test run.
    Tests must not write to it; copy it (`fresh_home`) to change it."""
    from tutor.config import Settings
    from tutor.index import Index

    home = tmp_path_factory.mktemp("seed-home")
    report = Index(Settings(home=home), embedder=embedder).ingest([CORPUS])
    assert not report.failed, report.failed
    return home


@pytest.fixture(scope="session")
def ingest_article(embedder):
    """`ingest_article(folder, name, text)` writes one article to `folder/name`,
    ingests it into a fresh home in `folder`, and returns the ingest report and
    an Engine over that home."""
    from tutor.config import Settings
    from tutor.engine import Engine
    from tutor.index import Index

    def make(folder: Path, name: str, text: str):
        article = folder / name
        article.write_text(text, encoding="utf-8")
        home = folder / "home"
        report = Index(Settings(home=home), embedder=embedder).ingest([article])
        return report, Engine.open(Settings(home=home), auto_ingest=False, embedder=embedder)

    return make


@pytest.fixture
def fresh_home(seed_home, tmp_path) -> Path:
    """A private, writable copy of the seed index."""
    home = tmp_path / "copy-home"
    shutil.copytree(seed_home, home)
    return home


@pytest.fixture(scope="session")
def engine(seed_home, embedder):
    """A read-only Engine over the seed index, shared by the whole run."""
    from tutor.config import Settings
    from tutor.engine import Engine

    return Engine.open(Settings(home=seed_home), auto_ingest=False, embedder=embedder)


@pytest.fixture
def session(engine):
    from tutor.session import Session

    return Session(engine)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL cluster for the run (Debian's package), on a loopback
    port; tests make their own database in it (`postgres.create_database()`)."""
    from tests.servers import Postgres, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb "
                    "(apt-get install -y postgresql)")
    pg = Postgres(bin_dir)
    pg.start()
    yield pg
    pg.close()


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make browser` installs it)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium through Playwright, shared by a module's browser tests."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
