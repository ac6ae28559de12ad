"""The `tutor` command: ingest, ask, chat, serve, eval, questions.

Each command group lives in its own module; this one builds the Typer app and
turns every typed `TutorError` into a one-line `error: ...` on stderr with exit
code 1 (2 for usage errors, 130 on Ctrl-C). A user never sees a traceback for
bad input.

`run()` is the console script: `main()`, then a quick exit. Tearing down an
interpreter that imported torch, transformers and spaCy takes about 2 s (module
and object deallocation, measured by `benchmarks/cold_start.py`), a fifth of a
cold `tutor ask`. Nothing of the tutor's state needs it: every write is
committed or closed where it is made. So once the command has returned, `run()`
does what the interpreter's own shutdown does first (waits for no thread: it only takes
the quick path when no other non-daemon thread is alive; runs the `atexit`
handlers; flushes stdout and stderr) and then leaves with `os._exit`. `main()`
stays an ordinary function for in-process callers (the tests).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

import typer

from tutor.errors import TutorError

app = typer.Typer(
    name="tutor",
    help="A citation-grounded, Socratic tutor over articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register() -> None:
    from tutor.cli import ask, ingest  # noqa: F401  (commands register themselves)

    for optional in ("chat", "serve", "evals", "questions"):
        try:
            __import__(f"tutor.cli.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tutor.cli.{optional}":
                raise


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except TutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def run() -> None:
    """The `tutor` console script (see the module docstring)."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)  # a worker is still running: let the interpreter's shutdown join it
    atexit._run_exitfuncs()  # CPython's own: what interpreter shutdown calls before tearing down
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`tutor ask ... | head`) or stream
            pass
    os._exit(code)
