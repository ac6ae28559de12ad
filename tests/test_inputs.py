"""Reliability of the input side: every bad file gets one line naming it and the
reason, `tutor ingest` exits 1, the rest of the run goes on, and the articles
already in the index are still there afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.test_cli import run
from tutor.config import Settings
from tutor.corpus import find_corpus_files, load_document
from tutor.errors import InputFileError

SEED_DOC = "leadership-vs-management"
GOOD = "# Bees\n\nBees make honey from nectar. They live in hives and dance to share directions.\n"


@pytest.fixture
def home(fresh_home, monkeypatch):
    monkeypatch.setenv("TUTOR_HOME", str(fresh_home))
    return fresh_home


def library(home: Path) -> set[str]:
    from tutor.index import Index

    return set(Index(Settings(home=home)).snapshot(check_model=False).documents)


def ingest(capsys, *argv: str) -> tuple[int, dict, list[str]]:
    code, out, err = run(capsys, "ingest", *argv, "--json")
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    return code, json.loads(out), lines


def assert_one_line_per_failure(data: dict, lines: list[str]) -> None:
    assert lines == [f"error: {f['error']}" for f in data["failed"]]
    assert all("\n" not in f["error"] for f in data["failed"])


# ---- pdf library noise ---------------------------------------------------------------


def test_png_renamed_pdf_gives_only_the_one_line_error(capsys, home, tmp_path):
    fake = tmp_path / "photo.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000))
    code, data, lines = ingest(capsys, str(fake))
    assert code == 1
    assert lines == [f"error: {fake}: not a PDF (the file does not start with %PDF)"]
    assert library(home) == {SEED_DOC}


def test_damaged_pdf_warnings_go_to_the_log_not_the_terminal(capsys, home, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n" + os.urandom(3000))
    code, data, lines = ingest(capsys, str(broken))
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"error: {broken}: ")
    assert "PDF" in lines[0]
    log = home / "logs" / "tutor.log"
    assert log.is_file() and str(broken) in log.read_text(encoding="utf-8")
    assert library(home) == {SEED_DOC}


# ---- encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,named",
    [("shift_jis", "Shift-JIS"), ("euc_kr", "EUC-KR"), ("gb18030", "GB")],
)
def test_legacy_encodings_are_named_not_called_binary(tmp_path, encoding, named):
    texts = {
        "shift_jis": "これは日本語で書かれた記事です。東京は日本の首都であり、多くの人が住んでいます。",
        "euc_kr": "이것은 한국어로 쓰여진 기사입니다. 서울은 한국의 수도이며 많은 사람들이 살고 있습니다.",
        "gb18030": "这是一篇用中文写的文章。北京是中国的首都，那里住着很多人。",
    }
    path = tmp_path / "article.txt"
    path.write_bytes((texts[encoding] * 20).encode(encoding))
    with pytest.raises(InputFileError) as err:
        load_document(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not UTF-8 (looks like {named}")
    assert "re-save it as UTF-8" in message and "binary" not in message


def test_shift_jis_through_ingest_fails_that_file_only(capsys, home, tmp_path):
    (tmp_path / "sjis.txt").write_bytes(("日本語の記事です。東京は首都です。" * 30).encode("shift_jis"))
    (tmp_path / "bees.md").write_text(GOOD, encoding="utf-8")
    code, data, lines = ingest(capsys, str(tmp_path))
    assert code == 1 and data["documents"] == 1
    assert_one_line_per_failure(data, lines)
    assert "not UTF-8 (looks like Shift-JIS)" in data["failed"][0]["error"]
    assert library(home) == {SEED_DOC, "bees"}


# ---- symlinks, permissions, depth -----------------------------------------------------------


def test_symlink_loops_are_reported_per_path_and_the_rest_ingests(capsys, home, tmp_path):
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "bees.md").write_text(GOOD, encoding="utf-8")
    (folder / "self.md").symlink_to("self.md")  # a link to itself
    (folder / "sub" / "up").symlink_to("..")  # a link to a folder that contains it
    named = tmp_path / "loop.txt"
    named.symlink_to("loop.txt")
    code, data, lines = ingest(capsys, str(folder), str(named))
    assert code == 1 and data["documents"] == 1
    assert_one_line_per_failure(data, lines)
    errors = {f["path"]: f["error"] for f in data["failed"]}
    assert set(errors) == {str(folder / "self.md"), str(folder / "sub" / "up"), str(named)}
    assert all("symlink loop" in e for e in errors.values())
    assert library(home) == {SEED_DOC, "bees"}


def test_broken_symlink_is_named_as_such(tmp_path):
    link = tmp_path / "gone.md"
    link.symlink_to(tmp_path / "nowhere.md")
    files, problems = find_corpus_files([link, tmp_path])
    assert files == []
    assert problems == [(link, f"{link}: broken symlink (its target does not exist)")]  # once, though met twice


def test_a_folder_1200_levels_deep_is_walked_without_recursion(capsys, home):
    root = Path(tempfile.mkdtemp(prefix="deep-"))  # short base path: 1,200 levels must fit PATH_MAX
    try:
        deep = root
        for _ in range(1200):  # os.makedirs itself recurses
            deep = deep / "d"
            deep.mkdir()
        (deep / "bees.md").write_text(GOOD, encoding="utf-8")
        files, problems = find_corpus_files([root])
        assert files == [deep / "bees.md"] and problems == []
        code, data, lines = ingest(capsys, str(root))
        assert code == 0 and data["documents"] == 1 and lines == []
        assert library(home) == {SEED_DOC, "bees"}
    finally:
        _remove_deep(root)


def _remove_deep(root: Path) -> None:
    """shutil.rmtree recurses too: remove the chain bottom-up."""
    chain = [root]
    while True:
        below = [p for p in chain[-1].iterdir() if p.is_dir()] if chain[-1].is_dir() else []
        for f in chain[-1].iterdir() if chain[-1].is_dir() else []:
            if not f.is_dir():
                f.unlink()
        if not below:
            break
        chain.append(below[0])
    for folder in reversed(chain):
        folder.rmdir()


def _without_root_powers(cmd: list[str]) -> list[str]:
    """As root, chmod 000 means nothing: drop the capabilities that bypass it."""
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]


@pytest.mark.slow
def test_unreadable_file_and_folder_fail_alone_and_are_named(seed_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(seed_home, home)
    articles = tmp_path / "articles"
    (articles / "locked").mkdir(parents=True)
    (articles / "bees.md").write_text(GOOD, encoding="utf-8")
    (articles / "locked" / "inside.md").write_text(GOOD.replace("Bees", "Ants"), encoding="utf-8")
    secret = tmp_path / "secret.md"
    secret.write_text(GOOD.replace("Bees", "Wasps"), encoding="utf-8")
    os.chmod(secret, 0o000)
    os.chmod(articles / "locked", 0o000)
    try:
        env = {**os.environ, "TUTOR_HOME": str(home), "PYTHONPATH": str(Path(__file__).parent.parent)}
        cmd = _without_root_powers([sys.executable, "-m", "tutor", "ingest", str(articles), str(secret), "--json"])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    finally:
        os.chmod(secret, 0o644)
        os.chmod(articles / "locked", 0o755)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    errors = {f["path"]: f["error"] for f in data["failed"]}
    assert errors == {
        str(articles / "locked"): f"{articles / 'locked'}: cannot be read (permission denied)",
        str(secret): f"{secret}: cannot be read (permission denied)",
    }
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [f"error: {e}" for e in errors.values()]
    assert data["documents"] == 1
    assert library(home) == {SEED_DOC, "bees"}


# ---- size limit -----------------------------------------------------------------------


def test_files_over_the_size_limit_are_refused_before_reading(capsys, home, tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:  # sparse: 21 MB on paper, nothing on disk
        handle.truncate(21 * 1024 * 1024)
    code, data, lines = ingest(capsys, str(big))
    assert code == 1
    assert lines == [f"error: {big}: file is 21.0 MB; the limit is 20 MB (raise it with `tutor ingest --max-size MB`)"]
    assert library(home) == {SEED_DOC}


def test_max_size_flag_sets_the_limit(capsys, home, tmp_path):
    path = tmp_path / "bees.md"
    path.write_text(GOOD * 40, encoding="utf-8")  # about 3.5 KB
    code, data, lines = ingest(capsys, str(path), "--max-size", "0.002")
    assert code == 1 and "the limit is 0.002 MB" in lines[0]
    code, data, lines = ingest(capsys, str(path), "--max-size", "1")
    assert code == 0 and data["documents"] == 1
    assert library(home) == {SEED_DOC, "bees"}


# ---- progress -------------------------------------------------------------------------------


def test_ingest_reports_progress_through_every_phase(tmp_path, embedder):
    from tutor.index import Index

    (tmp_path / "a.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD.replace("Bees", "Ants"), encoding="utf-8")
    calls: list[tuple[str, int, int]] = []
    Index(Settings(home=tmp_path / "home"), embedder=embedder).ingest(
        [tmp_path], progress=lambda *call: calls.append(call))
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases == ["loading", "parsing", "chunking", "embedding"]
    for phase in phases:
        done = [d for p, d, _ in calls if p == phase]
        assert done == sorted(done)  # it only moves forward
        last = [c for c in calls if c[0] == phase][-1]
        assert last[1] == last[2]  # and ends complete


@pytest.mark.slow
def test_cli_shows_the_progress_on_a_terminal(seed_home, tmp_path):
    import pty
    import select

    home = tmp_path / "home"
    shutil.copytree(seed_home, home)
    (tmp_path / "bees.md").write_text(GOOD * 3, encoding="utf-8")
    primary, secondary = pty.openpty()
    env = {**os.environ, "TUTOR_HOME": str(home), "PYTHONPATH": str(Path(__file__).parent.parent),
           "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "ingest", str(tmp_path / "bees.md")],
                            stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=300)
    os.close(primary)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "chunking" in text or "embedding chunks" in text or "loading and cleaning" in text
    assert b"Ingested 1 document" in proc.stdout.read()
