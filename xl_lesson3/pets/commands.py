"""The pets commands behind the parser of `xl_lesson3.pets.cli`: each takes the parsed arguments,
does its work through the library modules, prints, and returns an exit status.
"""

from __future__ import annotations

import argparse
import sys

from xl_lesson3.errors import BadInputError


def _at_least(value: int | None, minimum: int, option: str) -> None:
    if value is not None and value < minimum:
        raise BadInputError(f"{option}: must be at least {minimum}")


def _threads(args: argparse.Namespace) -> None:
    from xl_lesson3.pets.train import set_threads

    _at_least(args.threads, 1, "--threads")
    set_threads(args.threads)


def _options(args: argparse.Namespace, **fields: object):  # -> TrainOptions
    from xl_lesson3.pets.train import TrainOptions

    common = {
        "data": args.data,
        "arch": args.arch,
        "size": args.size,
        "valid_pct": args.valid_pct,
        "seed": args.seed,
        "label": args.label,
    }
    return TrainOptions(**common, **fields)


def models(args: argparse.Namespace) -> int:
    """`pets models GLOB`: timm's names."""
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


def train(args: argparse.Namespace) -> int:
    """`pets train`: fine-tune and export (in N processes with --nproc-per-node N)."""
    import os

    from xl_lesson3.cli._common import console, err_console, print_json
    from xl_lesson3.pets.train import train as run_train

    _at_least(args.nproc_per_node, 1, "--nproc-per-node")
    if args.nproc_per_node > 1 and "RANK" not in os.environ:
        from xl_lesson3.pets.distributed import launch

        argv = args.child_argv(args)
        if getattr(args, "debug", False):
            argv.insert(0, "--debug")
        return launch(args.nproc_per_node, argv)

    options = _options(
        args,
        out=args.out,
        epochs=args.epochs,
        freeze_epochs=args.freeze_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_mult=args.lr_mult,
        pretrained=args.pretrained or args.weights is not None,
        weights=args.weights,
        device=args.device,
        workers=args.workers,
        schedule=args.schedule,
        threads=args.threads,
        resume=args.resume,
    )
    result = run_train(options, console=err_console if args.json else console)
    if args.json and result.is_main:
        print_json(
            {
                "out": str(args.out),
                "categories": result.config["categories"],
                "lr": result.lr,
                "history": result.history,
            }
        )
    return 0


def lr_find(args: argparse.Namespace) -> int:
    """`pets lr-find`: the sweep, its plot, the valley suggestion."""
    from rich.console import Console

    from xl_lesson3.cli._common import console, err_console, print_json
    from xl_lesson3.pets import distributed
    from xl_lesson3.pets.export import check_writable
    from xl_lesson3.pets.learner import Learner
    from xl_lesson3.pets.lr_find import lr_find as sweep
    from xl_lesson3.pets.lr_find import plot_lr_find
    from xl_lesson3.pets.model import freeze_body
    from xl_lesson3.pets.train import check_options, prepare

    _at_least(args.num_it, 2, "--num-it")
    if not 0 < args.start_lr < args.end_lr:
        raise BadInputError("--start-lr, --end-lr: need 0 < start < end")
    if args.out is not None:
        check_writable(args.out, "--out", folder=False)
        if args.out.suffix.lower() not in (".png", ".svg"):
            raise BadInputError(f"--out {args.out}: use a file name ending in .png or .svg")
    options = _options(
        args,
        batch_size=args.batch_size,
        pretrained=args.pretrained or args.weights is not None,
        weights=args.weights,
        device=args.device,
        workers=args.workers,
        threads=args.threads,
    )
    check_options(options)
    _threads(args)
    dist, device = distributed.DistInfo(), distributed.resolve_device(args.device)
    say = err_console if args.json else console
    ready = prepare(options, dist, device, say if not args.json else Console(quiet=True))
    learn = Learner(
        ready.model, ready.train_loader, ready.valid_loader, device=device, seed=args.seed
    )
    freeze_body(ready.model)  # as `fine_tune` starts: the new head alone
    result = sweep(learn, start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it)
    if args.out is not None:
        plot_lr_find(result, args.out, f"lr_find: {args.arch} at {ready.size} px")
    if args.json:
        print_json(result.to_json())
    else:
        console.print(f"valley: {result.suggestion:.3g} ({len(result.lrs)} mini-batches)")
        if args.out is not None:
            console.print(f"wrote {args.out}")
    return 0


def show_batch(args: argparse.Namespace) -> int:
    """`pets show-batch`: layout, counts, skipped files, a grid of augmented images."""
    from rich.table import Table

    from xl_lesson3.cli._common import console
    from xl_lesson3.pets.export import check_writable
    from xl_lesson3.pets.show_batch import show_batch as view

    _at_least(args.n, 1, "--n")
    if args.out is not None:
        check_writable(args.out, "--out", folder=False)
        if args.out.suffix.lower() != ".png":
            raise BadInputError(f"--out {args.out}: use a file name ending in .png")
    found = view(
        args.data,
        arch=args.arch,
        size=args.size,
        label=args.label,
        valid_pct=args.valid_pct,
        seed=args.seed,
        n=args.n,
        out=args.out,
    )
    images = found.images
    split = "the layout's own" if images.has_split else f"random, seed {args.seed}"
    console.print(
        f"layout: {images.layout} ({images.root}); {len(images)} images, "
        f"{found.n_train} train / {found.n_valid} valid ({split} split)",
        soft_wrap=True,
    )
    table = Table(title="images per category", title_justify="left")
    table.add_column("category")
    table.add_column("images", justify="right")
    for name, count in images.counts().items():
        table.add_row(name, str(count))
    console.print(table)
    for path in images.skipped:
        console.print(f"skipped (unreadable): {path}", soft_wrap=True, highlight=False)
    if images.unlabelled:
        console.print(f"ignored {images.unlabelled} file(s) without a label")
    if args.out is not None:
        console.print(f"wrote {args.out}")
    return 0


def predict(args: argparse.Namespace) -> int:
    """`pets predict`: files or folders, streamed in batches, optional TTA."""
    from rich.table import Table

    from xl_lesson3.cli._common import console, print_json
    from xl_lesson3.pets.predict import predict_dir

    _at_least(args.top, 1, "--top")
    _at_least(args.tta, 0, "--tta")
    _at_least(args.batch_size, 1, "--batch-size")
    _threads(args)
    predictions = predict_dir(
        args.model_dir, args.images, device=args.device, batch_size=args.batch_size, tta=args.tta
    )
    if args.json:
        print_json([p.to_json(args.top) for p in predictions])
        return 0
    for p in predictions:
        # The heading on its own line: a table title would wrap inside long file names.
        console.print(f"{p.image}: {p.category}", soft_wrap=True, highlight=False, markup=False)
        table = Table()
        table.add_column("category")
        table.add_column("probability", justify="right")
        for category, probability in p.top(args.top):
            table.add_row(category, f"{probability:.4f}")
        console.print(table)
    return 0


def interpret(args: argparse.Namespace) -> int:
    """`pets interpret`: the validation split rebuilt, confusion matrix, top losses."""
    from xl_lesson3.cli._common import console
    from xl_lesson3.pets.distributed import resolve_device
    from xl_lesson3.pets.export import check_writable, load_model
    from xl_lesson3.pets.interpret import interpret as analyse
    from xl_lesson3.pets.interpret import valid_paths, write_reports

    _at_least(args.top_losses, 1, "--top-losses")
    _at_least(args.batch_size, 1, "--batch-size")
    out = args.out or args.model_dir / "interpret"
    check_writable(out, "--out")
    _threads(args)
    model, config = load_model(args.model_dir, resolve_device(args.device))
    paths, labels = valid_paths(config, args.data)
    result = analyse(model, config, paths, labels, batch_size=args.batch_size, k=args.top_losses)
    written = write_reports(result, out)
    console.print(
        f"{len(paths)} validation images: valid_loss {result.valid_loss:.4f}, "
        f"error_rate {result.error_rate:.4f}"
    )
    for actual, predicted, count in result.most_confused()[:10]:
        console.print(f"  {actual} -> {predicted}: {count}", highlight=False, markup=False)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)
    return 0


def inspect(args: argparse.Namespace) -> int:
    """`pets inspect`: module tree, submodule, parameters."""
    from rich.table import Table

    from xl_lesson3.cli._common import console
    from xl_lesson3.pets.inspect import find_submodule, load_target, module_tree, parameter_infos

    model, description = load_target(args.target)
    module = find_submodule(model, args.submodule)
    name = args.submodule or "model"
    console.print(f"{description}: {name} is {type(module).__name__}", soft_wrap=True)
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


def compare(args: argparse.Namespace) -> int:
    """`pets compare`: measured or published speed against ImageNet top-1, chart and CSV."""
    from rich.table import Table

    from xl_lesson3.cli._common import console, err_console
    from xl_lesson3.pets import compare as comparing
    from xl_lesson3.pets.charts import FORMATS, write_chart
    from xl_lesson3.pets.export import check_writable

    csv_path = args.csv or (args.out.with_suffix(".csv") if args.out else None)
    if args.out is not None:
        if args.out.suffix.lower() not in FORMATS:
            raise BadInputError(f"--out {args.out}: use a file name ending in {', '.join(FORMATS)}")
        check_writable(args.out, "--out", folder=False)
    if csv_path is not None:
        check_writable(csv_path, "--csv", folder=False)
    if args.published:
        name = args.benchmark or comparing.DEFAULT_BENCHMARK
        rows = comparing.published_speeds(name, args.models)
        title = f"timm's published benchmark ({name})"
    else:
        if not args.models:
            raise BadInputError(
                "compare: name the models (e.g. resnet18 'convnext_*'), or use --published"
            )
        _at_least(args.batch_size, 1, "--batch-size")
        _at_least(args.repeats, 1, "--repeats")
        _threads(args)
        from xl_lesson3.pets.distributed import resolve_device

        device = resolve_device(args.device)
        rows = comparing.compare_models(
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
    for column in ("model", "px", "family", "s/image", "images/s", "top-1 %", "params M"):
        table.add_column(column, justify="left" if column in ("model", "family") else "right")
    for r in rows[:60]:
        table.add_row(
            r.model,
            str(r.img_size),
            r.family,
            f"{r.seconds_per_image:.3g}",
            f"{r.images_per_second:,.1f}",
            "" if r.top1 is None else f"{r.top1:.2f}",
            "" if r.param_count_m is None else f"{r.param_count_m:g}",
        )
    console.print(table)
    if len(rows) > 60:
        console.print(f"... {len(rows) - 60} more rows in the CSV")
    if args.out:
        write_chart(rows, args.out, title)
        console.print(f"wrote {args.out}")
    if csv_path:
        try:
            comparing.write_csv(rows, csv_path)
        except OSError as exc:
            raise BadInputError(f"--csv {csv_path}: cannot write ({exc})") from exc
        console.print(f"wrote {csv_path}")
    return 0
