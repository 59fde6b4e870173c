"""The ``pets`` command line: the parser of models, train, lr-find, show-batch, predict, interpret,
inspect and compare (the commands themselves are `xl_lesson3.pets.commands`).

`add_parser` hangs ``pets`` under ``xl-lesson3``; `main` runs the same commands on their own
(``python -m xl_lesson3.pets``, which is what ``torchrun ... -m xl_lesson3.pets train`` starts).
Building the parser imports neither torch nor timm; each command imports what it needs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``pets`` and its sub-commands to an existing subparsers object."""
    parser = subparsers.add_parser(
        "pets",
        help="pet breeds with timm: models, train, predict, inspect, compare",
        description="Fine-tune a timm image model on pet breeds (fast.ai lesson 3).",
    )
    add_commands(parser)
    return parser


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the pets sub-commands to `parser`."""
    from xl_lesson3.pets import commands as run

    commands = parser.add_subparsers(dest="pets_command", metavar="PETS_COMMAND", required=True)

    models = commands.add_parser("models", help="list timm model names matching a glob")
    models.add_argument(
        "pattern", nargs="?", default="*", metavar="GLOB", help="e.g. 'convnext*' (quote it)"
    )
    models.add_argument(
        "--pretrained", action="store_true", help="only names with published weights (tags)"
    )
    models.add_argument("--json", action="store_true", help="print a JSON list")
    models.set_defaults(func=run.models)

    train = commands.add_parser("train", help="fine-tune a timm model and export it")
    _data_options(train)
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="MODEL_DIR",
        help="where model.safetensors, config.json and checkpoints/ go",
    )
    train.add_argument("--epochs", type=int, default=3, help="epochs with the whole network")
    train.add_argument(
        "--freeze-epochs", type=int, default=1, help="epochs training only the new head first"
    )
    train.add_argument("--batch-size", type=int, default=64, help="per process under torchrun")
    train.add_argument(
        "--lr",
        type=_lr_value,
        default=2e-3,
        help="peak learning rate of the head, or auto (lr-find's valley); default 0.002",
    )
    train.add_argument(
        "--lr-mult",
        type=float,
        default=100.0,
        help="the first layers train this many times slower (default 100)",
    )
    train.add_argument("--schedule", choices=("one_cycle", "cosine"), default="one_cycle")
    _weights_options(train)
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--workers", type=int, help="DataLoader workers per process")
    _threads_option(train)
    train.add_argument(
        "--resume", action="store_true", help="continue the run saved in MODEL_DIR/checkpoints"
    )
    train.add_argument(
        "--nproc-per-node",
        type=int,
        default=1,
        metavar="N",
        help="train with DDP in N local processes (like torchrun, but one error line, exit 2)",
    )
    train.add_argument(
        "--json", action="store_true", help="print the epoch history as JSON (progress: stderr)"
    )
    train.set_defaults(func=run.train, child_argv=lambda args: child_argv(train, args))

    lr_find = commands.add_parser("lr-find", help="fast.ai's learning-rate finder")
    _data_options(lr_find)
    lr_find.add_argument("--batch-size", type=int, default=64)
    lr_find.add_argument("--num-it", type=int, default=100, help="mini-batches in the sweep")
    lr_find.add_argument("--start-lr", type=float, default=1e-7)
    lr_find.add_argument("--end-lr", type=float, default=10.0)
    _weights_options(lr_find)
    lr_find.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    lr_find.add_argument("--workers", type=int, help="DataLoader workers")
    _threads_option(lr_find)
    lr_find.add_argument("--out", type=Path, help="loss-against-rate plot (.png or .svg)")
    lr_find.add_argument("--json", action="store_true", help="print the sweep as JSON")
    lr_find.set_defaults(func=run.lr_find)

    show = commands.add_parser("show-batch", help="augmented training images, counts, layout")
    _data_options(show)
    show.add_argument("--n", type=int, default=16, help="images in the grid (default 16)")
    show.add_argument("--out", type=Path, help="the grid as PNG (default: none, counts only)")
    show.set_defaults(func=run.show_batch)

    predict = commands.add_parser("predict", help="classify images (files or folders)")
    predict.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE|FOLDER")
    predict.add_argument(
        "--top", type=int, default=5, metavar="K", help="the K most probable categories"
    )
    predict.add_argument(
        "--tta", type=int, default=0, metavar="N", help="average N augmented copies (fast.ai: 4)"
    )
    predict.add_argument("--batch-size", type=int, default=32, help="images decoded at a time")
    predict.add_argument("--json", action="store_true", help="print JSON, every probability")
    predict.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    _threads_option(predict)
    predict.set_defaults(func=run.predict)

    interpret = commands.add_parser(
        "interpret", help="confusion matrix, most confused, top losses on the validation set"
    )
    interpret.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    interpret.add_argument("--data", type=Path, required=True, help="the images it trained on")
    interpret.add_argument("--out", type=Path, help="report folder (default MODEL_DIR/interpret)")
    interpret.add_argument("--top-losses", type=int, default=9, metavar="K")
    interpret.add_argument("--batch-size", type=int, default=32)
    interpret.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    _threads_option(interpret)
    interpret.set_defaults(func=run.interpret)

    inspect = commands.add_parser("inspect", help="module tree, one submodule, its parameters")
    inspect.add_argument("target", metavar="MODEL_DIR|ARCH")
    inspect.add_argument(
        "--submodule", default="", metavar="DOTTED.PATH", help="e.g. stages.0.blocks.1.mlp.fc1"
    )
    inspect.add_argument(
        "--params", action="store_true", help="list parameters: names, shapes, counts, values"
    )
    inspect.add_argument("--depth", type=int, default=3, help="tree depth (0: everything)")
    inspect.add_argument("--values", type=int, default=4, help="values shown per parameter")
    inspect.set_defaults(func=run.inspect)

    compare = commands.add_parser("compare", help="inference speed against ImageNet accuracy")
    compare.add_argument("models", nargs="*", metavar="GLOB|NAME")
    compare.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    compare.add_argument("--batch-size", type=int, default=16)
    compare.add_argument("--size", type=int, help="image size (default: each model's own)")
    compare.add_argument("--repeats", type=int, default=5, help="timed batches per model")
    compare.add_argument("--out", type=Path, help="chart file: .png, .svg or .html")
    compare.add_argument("--csv", type=Path, help="table file (default: --out with .csv)")
    compare.add_argument(
        "--published", action="store_true", help="plot timm's published benchmark instead"
    )
    compare.add_argument(
        "--benchmark", default=None, help="which shipped benchmark CSV --published uses"
    )
    _threads_option(compare)
    compare.set_defaults(func=run.compare)


def child_argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The command line of `parser` that gives `args` again, less --nproc-per-node: what each
    process of `pets train --nproc-per-node N` runs."""
    argv = ["train"]
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest in ("help", "nproc_per_node"):
            continue
        if value is None or value == action.default:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(flag if value else f"--no-{flag.removeprefix('--')}")
        elif action.nargs == 0:
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv


def _lr_value(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or auto") from None


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="Pet images/ folder, oxford-iiit-pet, train/+valid/ class folders, or class folders",
    )
    parser.add_argument("--arch", default="convnext_tiny.fb_in22k", help="a timm model name")
    parser.add_argument(
        "--size", type=int, default=None, help="image size in px (default: the model's own)"
    )
    parser.add_argument("--valid-pct", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--label",
        choices=("breed", "species"),
        default="breed",
        help="breed, or cat/dog from the name's capital (Pet layouts)",
    )


def _weights_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start from timm's weights (Hugging Face cache or hub; default on)",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="start from these weights (.safetensors or a state-dict .pth)",
    )


def _threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (1 is fastest on a busy 2-core machine)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The standalone parser of ``python -m xl_lesson3.pets``."""
    parser = argparse.ArgumentParser(
        prog="python -m xl_lesson3.pets",
        description="Pet breeds with timm (fast.ai lesson 3): models, train, predict, inspect, "
        "compare. Same commands as `xl-lesson3 pets`.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    add_commands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a pets command; exit status 2 for bad input, 1 for a failed run, 0 on success.

    Under torchrun only rank 0 reports an error: every rank meets the same bad input, and one
    line is what the user should see.
    """
    import contextlib
    import io
    import os

    from xl_lesson3.cli import run_command

    args = build_parser().parse_args(argv)
    if os.environ.get("RANK", "0") == "0":
        return run_command(args, prog="xl-lesson3 pets")
    with contextlib.redirect_stderr(io.StringIO()):
        return run_command(args, prog="xl-lesson3 pets")
