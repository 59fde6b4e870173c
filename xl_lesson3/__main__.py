"""`python -m xl_lesson3` runs the CLI."""

from xl_lesson3.cli import main

raise SystemExit(main())
