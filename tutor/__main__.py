"""`python -m tutor` runs the CLI."""

from tutor.cli import main

if __name__ == "__main__":
    main()
