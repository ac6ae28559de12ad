"""The `tutor` command: ingest, ask, chat, serve, eval, questions.

Each command group lives in its own module; this one builds the Typer app and
turns every typed `TutorError` into a one-line `error: ...` on stderr with exit
code 1 (2 for usage errors, 130 on Ctrl-C). A user never sees a traceback for
bad input.
"""

from __future__ import annotations

import sys

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
