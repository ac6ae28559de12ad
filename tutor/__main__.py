"""`python -m tutor` runs the CLI."""

from tutor.cli import run

if __name__ == "__main__":
    run()
