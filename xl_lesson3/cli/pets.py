"""`xl-lesson3 pets ...`: the pet-breed commands; the parser and commands live in xl_lesson3.pets."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pets`` (models, train, predict, inspect, compare); see `xl_lesson3.pets.cli`."""
    from xl_lesson3.pets.cli import add_parser

    add_parser(subparsers)
