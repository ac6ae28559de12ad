"""`tutor chat`: a conversation in the terminal, or JSON lines for scripts.

Interactive commands: /mode explain|socratic|quiz, /quiz, /progress, /sources,
/reset, /help, /quit. With --json, each line of standard input is one learner
message and each reply is one JSON line (the `tutor ask --json` object plus
"assessment"); the conversation ends at end of input. In quiz mode the tutor
speaks first: the first question is printed before any input is read, so the
first input line is the answer to it. The commands /reset, /mode, /quiz and
/progress work there too and print one JSON line each (the same object, with
"command" naming the command).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from tutor.cli import app
from tutor.cli.options import ChromaUrl, EmbeddingModel, Home, Json, Llm, settings
from tutor.errors import MessageError, TutorError

log = logging.getLogger(__name__)

HELP = """Commands:
  /mode explain|socratic|quiz   switch how the tutor works with you
  /quiz                         start the quiz on this article
  /progress                     score and mastery per learning objective
  /sources                      the passages cited in the last answer
  /reset                        start a new conversation
  /help                         this list
  /quit                         leave (or Ctrl-D)"""


@app.command()
def chat(
    mode: Annotated[str, typer.Option("--mode", help="explain | socratic | quiz")] = "explain",
    doc: Annotated[str | None, typer.Option("--doc", help="The article (doc_id) to study.")] = None,
    as_json: Json = False,
    home: Home = None,
    embedding_model: EmbeddingModel = None,
    chroma_url: ChromaUrl = None,
    llm: Llm = None,
) -> None:
    """Talk with the tutor: ask, be asked, get feedback."""
    from tutor.session import MODES, Session

    if mode not in MODES:
        raise typer.BadParameter(f"'{mode}' is not one of: {', '.join(MODES)}", param_hint="--mode")
    session = Session.open(settings(home, embedding_model, chroma_url, llm), mode=mode, doc_id=doc)
    if as_json:
        _json_loop(session)
    else:
        _interactive(session)


def _json_loop(session) -> None:
    opening = session.first_message()
    if opening is not None:  # the quiz asks before it grades
        print(json.dumps(opening.to_json(with_assessment=True)), flush=True)
    for number, raw in enumerate(_stdin_lines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            print(json.dumps({"error": f"line {number} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                       f"position {exc.start}); send each message as UTF-8 text"}), flush=True)
            continue
        message = line.strip()
        if not message:
            continue
        try:
            if message.startswith("/"):
                out = _json_command(session, message)
            else:
                out = session.send(message).to_json(with_assessment=True)
        except (MessageError, ValueError) as exc:
            out = {"error": str(exc)}
        except TutorError as exc:
            out = {"error": str(exc)}
        except Exception:  # noqa: BLE001 - the learner gets a short note, the log the traceback
            log.exception("answering %r failed", message[:200])
            out = {"error": "something went wrong answering this message; the conversation goes on"}
        print(json.dumps(out), flush=True)


def _stdin_lines():
    """Standard input as raw lines, so one undecodable line fails alone."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream that was put in place (tests, embedding)
        for line in sys.stdin:
            yield line.encode("utf-8", "surrogateescape")
        return
    yield from buffer


JSON_COMMANDS = ("reset", "mode", "quiz", "progress")


def _json_command(session, message: str) -> dict:
    """One of JSON_COMMANDS as a reply-shaped object (with "command"); in quiz
    mode, /reset, /mode quiz and /quiz answer with the open question."""
    from tutor.reply import Reply

    name, _, arg = message[1:].partition(" ")
    name, arg = name.strip().lower(), arg.strip().lower()
    if name not in JSON_COMMANDS:
        raise ValueError(f"unknown command /{name}; with --json use one of: "
                         + ", ".join(f"/{c}" for c in JSON_COMMANDS))
    extra = {}
    if name == "reset":
        session.reset()
        reply = session.first_message() or Reply("New conversation.", False, session.mode)
    elif name in ("mode", "quiz"):
        session.set_mode("quiz" if name == "quiz" else arg)
        reply = session.first_message() or Reply(f"Mode: {session.mode}.", False, session.mode)
    else:
        reply = Reply(session.progress_text(), False, session.mode)
        extra["progress"] = session.progress()
    return {**reply.to_json(with_assessment=True), "command": name, **extra}


def _interactive(session) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    docs = session.engine.documents
    title = docs[session.doc_id].title if session.doc_id in docs else ", ".join(d.title for d in docs.values())
    console.print(f"[bold]Article tutor[/bold] — {escape(title)} — mode: {session.mode}. Type /help for commands.")
    last = None
    opening = session.first_message()
    if opening:
        console.print(f"[cyan]tutor>[/cyan] {escape(opening.answer)}")
    while True:
        try:
            message = console.input("[green]you>[/green] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        except UnicodeDecodeError:
            console.print("[red]That line is not valid UTF-8 text; type it again.[/red]")
            continue
        if not message:
            continue
        if message.startswith("/"):
            if _command(session, message, console, last) == "quit":
                return
            continue
        try:
            console.print("[cyan]tutor>[/cyan] ", end="")
            reply, shown = None, ""
            for event in session.stream(message):
                if isinstance(event, str):
                    console.print(escape(event), end="")
                    shown += event
                else:
                    reply = event
            if reply is not None:
                rest = reply.answer[len(shown):] if reply.answer.startswith(shown) else None
                if rest is None:  # the streamed text changed (the guard dropped sentences)
                    console.print(f"\n[dim]Checked against the article:[/dim] {escape(reply.answer)}", end="")
                else:
                    console.print(escape(rest), end="")
                console.print()
                if reply.notice:
                    console.print(f"[dim]({escape(reply.notice)})[/dim]")
                last = reply
        except TutorError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
        except Exception:  # noqa: BLE001 - a short note here, the traceback in the log
            log.exception("answering %r failed", message[:200])
            console.print("\n[red]Something went wrong answering that; the conversation goes on.[/red]")


def _command(session, message: str, console, last) -> str | None:
    from rich.markup import escape

    name, _, arg = message[1:].partition(" ")
    arg = arg.strip()
    if name in ("quit", "exit", "q"):
        return "quit"
    if name == "help":
        console.print(HELP)
    elif name == "mode":
        try:
            session.set_mode(arg)
            console.print(f"Mode: {session.mode}.")
            opening = session.first_message()
            if opening:
                console.print(f"[cyan]tutor>[/cyan] {escape(opening.answer)}")
        except ValueError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
    elif name == "quiz":
        session.set_mode("quiz")
        opening = session.first_message()
        console.print(f"[cyan]tutor>[/cyan] {escape(opening.answer if opening else 'No quiz for this article.')}")
    elif name == "progress":
        console.print(escape(session.progress_text()))
    elif name == "sources":
        if last is None or not last.citations:
            console.print("No sources yet: ask a question first.")
        for c in (last.citations if last else []):
            where = f" — {c.heading}" if c.heading else ""
            console.print(f"[bold][{c.n}] {escape(c.title)}{escape(where)}[/bold]\n{escape(c.text)}\n")
    elif name == "reset":
        session.reset()
        console.print("New conversation.")
    else:
        console.print(f"Unknown command /{escape(name)}. Type /help.")
    return None
