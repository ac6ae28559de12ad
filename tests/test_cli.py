"""The `tutor` command as a user runs it: exit codes, exact JSON, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import transcripts  # tests/ is on sys.path under pytest

from tutor.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def home(fresh_home, monkeypatch):
    monkeypatch.setenv("TUTOR_HOME", str(fresh_home))
    return fresh_home


def test_ask_json_contract(capsys, home):
    code, out, err = run(capsys, "ask", "What does Kotter say management copes with?", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["answer", "declined", "mode", "citations", "latency_ms", "responder", "notice"]
    assert data["responder"] == "grounded" and data["notice"] is None
    assert data["declined"] is False and data["mode"] == "explain"
    assert "complexity" in data["answer"]
    assert any("copes with complexity" in c["text"] for c in data["citations"])
    for c in data["citations"]:
        assert list(c) == ["n", "doc_id", "title", "text", "score"]
        assert isinstance(c["n"], int) and isinstance(c["score"], float)
        assert c["doc_id"] == "leadership-vs-management"
    assert isinstance(data["latency_ms"], float)


def test_ask_out_of_scope_is_declined(capsys, home):
    code, out, _ = run(capsys, "ask", "What is the capital of France?", "--json")
    data = json.loads(out)
    assert code == 0 and data["declined"] is True and data["citations"] == []
    assert "Paris" not in data["answer"]


def test_ask_k_and_text_output(capsys, home):
    code, out, _ = run(capsys, "ask", "What do leaders do?", "--k", "2")
    assert code == 0 and "[1]" in out and "Leadership Versus Management" in out


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (["ask", "What?", "--mode", "lecture"], 2, "lecture"),
        (["ask", "What?", "--k", "0"], 2, "--k"),
        (["ask", "   "], 1, "error: the message is empty"),
        (["ask", "x" * 5000], 1, "error: the message is 5000 characters long; the limit is 2000"),
        (["ask", "What?", "--embedding-model", "/no/such/model"], 1, "error: the index was built with"),
    ],
)
def test_ask_errors(capsys, home, argv, code, message):
    got, out, err = run(capsys, *argv)
    assert got == code
    assert message in err
    assert "Traceback" not in err
    if code == 1:
        assert len(err.strip().splitlines()) == 1


def test_ingest_errors_name_the_file_and_exit_nonzero(capsys, home, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "good.md").write_text("# Bees\n\nBees make honey from nectar. They live in hives.\n")
    code, out, err = run(capsys, "ingest", str(tmp_path), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["documents"] == 1 and data["chunks_added"] >= 1
    assert [f["path"] for f in data["failed"]] == [str(tmp_path / "empty.txt")]
    assert err.strip() == f"error: {data['failed'][0]['error']}"


def test_ingest_missing_path(capsys, home, tmp_path):
    code, out, err = run(capsys, "ingest", str(tmp_path / "nope"))
    assert code == 1 and str(tmp_path / "nope") in err
    assert "0 documents" in out


def test_ask_without_index_ingests_the_seed(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "new-home"))
    code, out, err = run(capsys, "ask", "What does leadership cope with?", "--json")
    assert code == 0, err
    assert "change" in json.loads(out)["answer"]


def test_questions_draft(capsys, tmp_path):
    from tests.conftest import CORPUS

    target = tmp_path / "draft.yaml"
    code, _, err = run(capsys, "questions", "draft", str(CORPUS / "leadership-vs-management.md"), "--n", "4", "--out", str(target))
    assert code == 0, err
    text = target.read_text()
    assert "q-draft-01" in text and "q-draft-04" in text and "q-draft-05" not in text
    assert "4 questions drafted from the article's parse" in err
    code, _, err = run(capsys, "questions", "draft", str(tmp_path / "missing.md"))
    assert code == 1 and "missing.md" in err


@pytest.mark.slow
def test_console_script_runs_as_a_process(fresh_home):
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", "ask", "What does Kotter say management copes with?", "--json"],
        capture_output=True, text=True, timeout=180,
        env={**__import__("os").environ, "TUTOR_HOME": str(fresh_home)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "complexity" in json.loads(proc.stdout)["answer"]



_QUICK_EXIT = """
import atexit, sys, threading, time
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: out.with_suffix(".atexit").write_text("ran"))
if sys.argv[2] == "thread":  # a worker still writing when the command returns
    threading.Thread(target=lambda: (time.sleep(0.5), out.with_suffix(".thread").write_text("done"))).start()
sys.stdout.write("x" * 200_000)  # more than a pipe buffer, unflushed when run() exits
sys.argv = ["tutor", *sys.argv[3:]]
from tutor.cli import run
run()
"""


@pytest.mark.parametrize("worker", ["none", "thread"])
@pytest.mark.parametrize(("argv", "code", "err"), [
    (["--help"], 0, ""), (["ask", ""], 1, "error: the message is empty"), (["--bogus"], 2, "No such option"),
])
def test_console_script_exit_keeps_codes_output_and_shutdown_work(tmp_path, worker, argv, code, err):
    """`run()` skips the interpreter's teardown, never what shutdown must do:
    the exit code, buffered output, atexit handlers, a running worker thread."""
    marker = tmp_path / "m"
    proc = subprocess.run([sys.executable, "-c", _QUICK_EXIT, str(marker), worker, *argv],
                          capture_output=True, text=True, timeout=120,
                          env={**{k: v for k, v in __import__("os").environ.items() if k != "PYTHONUNBUFFERED"},
                               "TUTOR_HOME": str(tmp_path / "home")})
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith("x" * 200_000) and err in proc.stderr
    assert marker.with_suffix(".atexit").read_text() == "ran"
    if worker == "thread":
        assert marker.with_suffix(".thread").read_text() == "done"

# ---- `tutor chat --json`: the quiz asks before it grades; commands ---------------------
def chat_json(capsys, monkeypatch, lines: list[str], *flags: str) -> list[dict]:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code, out, err = run(capsys, "chat", "--json", *flags)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("transcript", transcripts.params())
def test_quiz_transcript_through_the_cli(capsys, monkeypatch, home, transcript):
    turns = transcript["turns"]
    out = chat_json(capsys, monkeypatch, [t["say"] for t in turns] + ["/progress"], "--mode", "quiz")
    opening, replies, progress = out[0], out[1:-1], out[-1]
    assert opening["answer"].startswith("Quiz time. Question 1 of") and opening["assessment"] is None
    assert len(replies) == len(turns)
    for turn, reply in zip(turns, replies, strict=True):
        verdict = reply["assessment"]["verdict"] if reply["assessment"] else None
        assert verdict == turn["verdict"], (turn["say"], reply["answer"])
        assert turn["reply"] in reply["answer"] and turn["then"] in reply["answer"]
    assert progress["command"] == "progress"
    assert [progress["progress"]["correct"], progress["progress"]["answered"]] == turns[-1]["progress"]


def test_chat_json_reset_is_a_command_not_a_question(capsys, monkeypatch, home):
    out = chat_json(capsys, monkeypatch, ["What does Kotter say management copes with?", "/reset",
                                          "/mode quiz", "I don't know", "/reset", "/nope"])
    assert "complexity" in out[0]["answer"]
    assert out[1]["command"] == "reset" and out[1]["answer"] == "New conversation." and not out[1]["declined"]
    assert out[2]["command"] == "mode" and out[2]["answer"].startswith("Quiz time. Question 1 of")
    assert "Question 2 of" in out[3]["answer"]
    assert out[4]["command"] == "reset" and out[4]["answer"].startswith("Quiz time. Question 1 of")
    assert out[5] == {"error": "unknown command /nope; with --json use one of: /reset, /mode, /quiz, /progress"}
