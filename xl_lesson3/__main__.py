"""`python -m xl_lesson3` runs the CLI (and exits fast: `xl_lesson3.cli.entry`)."""

from xl_lesson3.cli import entry

entry()
