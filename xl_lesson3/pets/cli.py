"""The ``pets`` command line: models, train, predict, inspect, compare.

`add_parser` hangs ``pets`` under ``xl-lesson3``; `main` runs the same commands on their own
(``python -m xl_lesson3.pets``, which is what ``torchrun ... -m xl_lesson3.pets train`` starts).
Building the parser imports neither torch nor timm; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
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
    commands = parser.add_subparsers(dest="pets_command", metavar="PETS_COMMAND", required=True)

    models = commands.add_parser("models", help="list timm model names matching a glob")
    models.add_argument(
        "pattern",
        nargs="?",
        default="*",
        metavar="GLOB",
        help="e.g. 'convnext*' (quote it from the shell)",
    )
    models.add_argument(
        "--pretrained",
        action="store_true",
        help="only names with published weights (with their tags)",
    )
    models.add_argument("--json", action="store_true", help="print a JSON list")
    models.set_defaults(func=_run_models)

    train = commands.add_parser("train", help="fine-tune a timm model and export it")
    train.add_argument(
        "--data",
        type=Path,
        required=True,
        help="Pet images/ folder, an oxford-iiit-pet folder, or one folder per class",
    )
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="MODEL_DIR",
        help="where model.safetensors and config.json go",
    )
    train.add_argument("--arch", default="convnext_tiny.fb_in22k", help="a timm model name")
    train.add_argument("--epochs", type=int, default=3, help="epochs with the whole network")
    train.add_argument(
        "--freeze-epochs",
        type=int,
        default=1,
        help="epochs training only the new head first (default 1)",
    )
    train.add_argument("--size", type=int, default=224, help="image size in pixels")
    train.add_argument("--batch-size", type=int, default=64, help="per process under torchrun")
    train.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the head")
    train.add_argument(
        "--lr-mult",
        type=float,
        default=100.0,
        help="the first layers train this many times slower (default 100)",
    )
    train.add_argument("--schedule", choices=("one_cycle", "cosine"), default="one_cycle")
    train.add_argument("--valid-pct", type=float, default=0.2)
    train.add_argument("--seed", type=int, default=42)
    train.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start from timm's weights (Hugging Face cache or hub; default on)",
    )
    train.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="start from these weights (.safetensors or a state-dict .pth)",
    )
    train.add_argument(
        "--label",
        choices=("breed", "species"),
        default="breed",
        help="breed, or cat/dog from the name's capital (Pet layouts)",
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--workers", type=int, help="DataLoader workers per process")
    train.add_argument(
        "--json",
        action="store_true",
        help="print the epoch history as JSON (progress goes to stderr)",
    )
    train.set_defaults(func=_run_train)

    predict = commands.add_parser("predict", help="classify images with an exported model")
    predict.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.add_argument(
        "--top",
        type=int,
        default=5,
        metavar="K",
        help="show the K most probable categories (default 5)",
    )
    predict.add_argument("--json", action="store_true", help="print JSON, every probability")
    predict.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    predict.set_defaults(func=_run_predict)

    inspect = commands.add_parser("inspect", help="module tree, one submodule, its parameters")
    inspect.add_argument("target", metavar="MODEL_DIR|ARCH")
    inspect.add_argument(
        "--submodule", default="", metavar="DOTTED.PATH", help="e.g. stages.0.blocks.1.mlp.fc1"
    )
    inspect.add_argument(
        "--params", action="store_true", help="list parameters: names, shapes, counts, a few values"
    )
    inspect.add_argument("--depth", type=int, default=3, help="tree depth (0: everything)")
    inspect.add_argument("--values", type=int, default=4, help="values shown per parameter")
    inspect.set_defaults(func=_run_inspect)

    compare = commands.add_parser("compare", help="inference speed against ImageNet accuracy")
    compare.add_argument("models", nargs="*", metavar="GLOB|NAME")
    compare.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    compare.add_argument("--batch-size", type=int, default=16)
    compare.add_argument("--size", type=int, help="image size (default: each model's own)")
    compare.add_argument("--repeats", type=int, default=5, help="timed batches per model")
    compare.add_argument("--out", type=Path, help="chart file: .png, .svg or .html")
    compare.add_argument("--csv", type=Path, help="table file (default: --out with .csv)")
    compare.add_argument(
        "--published",
        action="store_true",
        help="plot timm's published benchmark for all (or the given) models",
    )
    compare.add_argument(
        "--benchmark", default=None, help="which shipped benchmark CSV --published uses"
    )
    compare.set_defaults(func=_run_compare)


def _run_models(args: argparse.Namespace) -> int:
    from xl_lesson3.cli._common import err_console, print_json
    from xl_lesson3.pets.model import list_model_names

    names = list_model_names(args.pattern, pretrained=args.pretrained)
    if args.json:
        print_json(names)
    else:
        sys.stdout.write("".join(f"{name}\n" for name in names))
        sys.stdout.flush()
        err_console.print(f"{len(names)} model(s) match {args.pattern!r}")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from xl_lesson3.cli._common import console, err_console, print_json
    from xl_lesson3.pets.train import TrainOptions, train

    options = TrainOptions(
        data=args.data,
        out=args.out,
        arch=args.arch,
        epochs=args.epochs,
        freeze_epochs=args.freeze_epochs,
        size=args.size,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_mult=args.lr_mult,
        valid_pct=args.valid_pct,
        seed=args.seed,
        pretrained=args.pretrained or args.weights is not None,
        weights=args.weights,
        device=args.device,
        workers=args.workers,
        label=args.label,
        schedule=args.schedule,
    )
    result = train(options, console=err_console if args.json else console)
    if args.json and result.is_main:
        print_json(
            {
                "out": str(args.out),
                "categories": result.config["categories"],
                "history": result.history,
            }
        )
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from rich.table import Table

    from xl_lesson3.cli._common import console, print_json
    from xl_lesson3.errors import BadInputError
    from xl_lesson3.pets.predict import predict_dir

    if args.top < 1:
        raise BadInputError("--top: must be at least 1")
    predictions = predict_dir(args.model_dir, args.images, device=args.device)
    if args.json:
        print_json([p.to_json(args.top) for p in predictions])
        return 0
    for p in predictions:
        table = Table(title=f"{p.image}: {p.category}", title_justify="left")
        table.add_column("category")
        table.add_column("probability", justify="right")
        for category, probability in p.top(args.top):
            table.add_row(category, f"{probability:.4f}")
        console.print(table)
    return 0


def _run_inspect(args: argparse.Namespace) -> int:
    from rich.table import Table

    from xl_lesson3.cli._common import console
    from xl_lesson3.pets.inspect import find_submodule, load_target, module_tree, parameter_infos

    model, description = load_target(args.target)
    module = find_submodule(model, args.submodule)
    name = args.submodule or "model"
    console.print(f"{description}: {name} is {type(module).__name__}")
    console.print(module_tree(module, name, depth=max(0, args.depth)))
    infos = parameter_infos(module, n_values=max(0, args.values))
    if args.params:
        table = Table(title=f"parameters of {name}", title_justify="left")
        for column in ("name", "shape", "count", "first values"):
            table.add_column(column, justify="right" if column == "count" else "left")
        for info in infos:
            values = ", ".join(f"{v:.4g}" for v in info.values)
            table.add_row(info.name, str(list(info.shape)), f"{info.count:,}", values)
        console.print(table)
    console.print(f"{name}: {len(infos)} parameter tensors, {sum(i.count for i in infos):,} values")
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from rich.table import Table

    from xl_lesson3.cli._common import console, err_console
    from xl_lesson3.errors import BadInputError
    from xl_lesson3.pets import compare
    from xl_lesson3.pets.charts import write_chart

    if args.published:
        rows = compare.published_speeds(args.benchmark or compare.DEFAULT_BENCHMARK, args.models)
        title = f"timm's published benchmark ({args.benchmark or compare.DEFAULT_BENCHMARK})"
    else:
        if not args.models:
            raise BadInputError(
                "compare: name the models (e.g. resnet18 'convnext_*'), or use --published"
            )
        if args.batch_size < 1 or args.repeats < 1:
            raise BadInputError("compare: --batch-size and --repeats must be at least 1")
        from xl_lesson3.pets.distributed import resolve_device

        device = resolve_device(args.device)
        rows = compare.compare_models(
            args.models,
            device=device,
            batch_size=args.batch_size,
            size=args.size,
            repeats=args.repeats,
            on_model=lambda i, n, name: err_console.print(f"[{i + 1}/{n}] timing {name}"),
        )
        title = f"inference here ({device}, batch {args.batch_size}) vs ImageNet top-1"
    rows.sort(key=lambda r: r.seconds_per_image)
    table = Table(title=title, title_justify="left")
    for column in ("model", "family", "s/image", "images/s", "top-1 %", "params M"):
        table.add_column(column, justify="left" if column in ("model", "family") else "right")
    for r in rows[:60]:
        table.add_row(
            r.model,
            r.family,
            f"{r.seconds_per_image:.3g}",
            f"{r.images_per_second:,.1f}",
            "" if r.top1 is None else f"{r.top1:.2f}",
            "" if r.param_count_m is None else f"{r.param_count_m:g}",
        )
    console.print(table)
    if len(rows) > 60:
        console.print(f"... {len(rows) - 60} more rows in the CSV")
    csv_path = args.csv or (args.out.with_suffix(".csv") if args.out else None)
    if args.out:
        write_chart(rows, args.out, title)
        console.print(f"wrote {args.out}")
    if csv_path:
        try:
            compare.write_csv(rows, csv_path)
        except OSError as exc:
            raise BadInputError(f"--csv {csv_path}: cannot write ({exc})") from exc
        console.print(f"wrote {csv_path}")
    return 0


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
    """Run a pets command; exit status 2 for bad input, 1 for a failed run, 0 on success."""
    from xl_lesson3.cli import run_command

    args = build_parser().parse_args(argv)
    return run_command(args, prog="xl-lesson3 pets")
