"""`pets inspect`: what a model is made of, as the lesson shows with ``learn.model``.

The module tree (each layer with its parameter count), one submodule by its dotted path
(``model.get_submodule('stages.0.blocks.1.mlp.fc1')``) and its parameters: names, shapes, counts
and a few values. The target is an exported model folder or a timm architecture (random weights).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.tree import Tree

from xl_lesson3.pets.errors import UnknownSubmoduleError


@dataclass(frozen=True)
class ParamInfo:
    """One parameter tensor: dotted name, shape, element count, its first few values."""

    name: str
    shape: tuple[int, ...]
    count: int
    values: tuple[float, ...]
    trainable: bool


def load_target(target: str) -> tuple[Any, str]:
    """(model, description) for a model folder or a timm architecture name."""
    from xl_lesson3.pets.export import load_model
    from xl_lesson3.pets.model import check_arch

    path = Path(target)
    if path.is_dir():
        model, config = load_model(path)
        return model, f"{path} ({config['architecture']}, {len(config['categories'])} categories)"
    import timm

    check_arch(target, where="inspect")
    return timm.create_model(target, pretrained=False).eval(), f"{target} (random weights)"


def find_submodule(model: Any, dotted: str) -> Any:
    """``model.get_submodule(dotted)``; an unknown path raises with the closest real paths."""
    if not dotted:
        return model
    try:
        return model.get_submodule(dotted)
    except AttributeError as exc:
        # The deepest part of the path that exists, then close names below it (or anywhere).
        parts = dotted.split(".")
        found = ""
        for i in range(1, len(parts)):
            try:
                model.get_submodule(".".join(parts[:i]))
            except AttributeError:
                break
            found = ".".join(parts[:i])
        names = [name for name, _ in model.named_modules() if name]
        below = [n for n in names if n.startswith(found + ".")] if found else names
        close = difflib.get_close_matches(dotted, below, n=5, cutoff=0.6)
        close = close or difflib.get_close_matches(dotted, names, n=5, cutoff=0.6)
        children = [n for n in below if n.count(".") == (found.count(".") + 1 if found else 0)]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        if children:
            hint += f" ({found or 'the model'} has: {', '.join(children[:12])})"
        raise UnknownSubmoduleError(f"--submodule {dotted}: no such submodule{hint}") from exc


def _count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def _label(name: str, module: Any) -> str:
    count = _count(module)
    text = repr(module) if not any(True for _ in module.children()) else type(module).__name__
    return f"[bold]{escape(name)}[/bold]: {escape(text)}  [dim]{count:,} params[/dim]"


def module_tree(module: Any, name: str = "model", depth: int = 3) -> Tree:
    """A rich Tree of `module` down to `depth` levels (0: all); deeper levels are summarised.

    Walks iteratively (a deep network must not hit Python's recursion limit).
    """
    root = Tree(_label(name, module))
    stack = [(root, module, 1)]
    while stack:
        node, parent, level = stack.pop()
        children = list(parent.named_children())
        if depth and level > depth and children:
            node.add(f"[dim]... {len(children)} children[/dim]")
            continue
        for child_name, child in children:
            stack.append((node.add(_label(child_name, child)), child, level + 1))
    return root


def parameter_infos(module: Any, n_values: int = 4) -> list[ParamInfo]:
    """Every parameter of `module` with the first `n_values` values of its flattened tensor."""
    infos = []
    for name, param in module.named_parameters():
        values = param.detach().flatten()[:n_values].float().tolist()
        infos.append(
            ParamInfo(name, tuple(param.shape), param.numel(), tuple(values), param.requires_grad)
        )
    return infos
