"""`xl-lesson3 functions [NAME ...]`: which Excel functions the engine computes, and how.

The first question an analyst has about a workbook of their own is whether its functions are
there; `check` answers it for a whole workbook, this answers it for names. For each function:
its folder in `formula/functions/` (where a bug's owner is), Excel's category, its arity, and
whether the solver can train through it (differentiable), treats it as piecewise constant, or
refuses it on the changing cells because it is smooth but computed without gradients (scipy).
Exit 1 when a named function is not supported, so scripts can test for it.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "functions",
        help="list the Excel functions the engine computes, or look some up",
        description=(
            "List every Excel function the formula engine computes, by folder, or look up the "
            "NAMEs given (any case, _xlfn. prefix allowed). Exit 1 if a NAME is not supported."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="function names to look up")
    parser.add_argument(
        "--folder", metavar="F", help="only the functions of one folder (math, text, lookup, …)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xl_lesson3.errors import BadInputError
    from xl_lesson3.formula.functions.core import registry

    specs = registry.specs()
    folders = sorted({registry.folder_of(spec) for spec in specs})
    if args.folder is not None and args.folder not in folders:
        raise BadInputError(f"--folder {args.folder}: no such folder (one of {', '.join(folders)})")
    if args.names:
        rows = {name.upper(): _describe(name, registry) for name in args.names}
    else:
        rows = {
            spec.name: _row(spec, registry)
            for spec in specs
            if args.folder in (None, registry.folder_of(spec))
        }
    if args.json:
        from xl_lesson3.cli._common import print_json

        print_json(rows)
    else:
        _print_table(rows, grouped=not args.names)
    return 0 if all(row["supported"] for row in rows.values()) else 1


def _describe(name: str, registry) -> dict:
    if not registry.is_supported(name):
        return {"supported": False}
    return _row(registry.lookup(name), registry)


def _row(spec, registry) -> dict:
    return {
        "supported": True,
        "name": spec.name,
        "folder": registry.folder_of(spec),
        "excel_category": spec.category,
        "aliases": list(spec.aliases),
        "min_args": spec.min_args,
        "max_args": spec.max_args,
        "differentiable": spec.differentiable,
        "gradient_free": spec.gradient_free,
        "summary": spec.summary,
    }


_GRADIENT = {  # (differentiable, gradient_free) → what the solver sees
    (True, False): "differentiable",
    (False, False): "constant gradient",
    (False, True): "no gradient",
}


def _print_table(rows: dict[str, dict], grouped: bool) -> None:
    folder = None
    for name, row in rows.items():
        if not row["supported"]:
            print(f"{name}: not supported")
            continue
        if grouped and row["folder"] != folder:
            folder = row["folder"]
            print(f"\n{folder}/")
        gradient = _GRADIENT[(row["differentiable"], row["gradient_free"])]
        print(f"  {row['name']:<26} {gradient:<17} {row['summary']}")
