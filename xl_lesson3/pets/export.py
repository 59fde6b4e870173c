"""A trained model on disk: ``model.safetensors`` (weights) and ``config.json`` (everything else).

Never pickle: weights are safetensors, and the config is plain JSON with the architecture, the
category names in the model's output order and the image preprocessing, which is all `load_model`
needs to rebuild the model with timm and predict.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xl_lesson3.pets.config_schema import validate_config
from xl_lesson3.pets.errors import ModelDirError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "xl-lesson3-pets"
FORMAT_VERSION = 1


def make_config(
    arch: str,
    categories: tuple[str, ...] | list[str],
    image_config: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """The config.json payload: format tag, architecture, categories, preprocessing, extras."""
    import timm
    import torch

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": arch,
        "num_classes": len(categories),
        "categories": list(categories),
        **image_config,
        **extra,
        "versions": {"timm": timm.__version__, "torch": torch.__version__},
    }


def save_model(out_dir: Path, model: Any, config: dict[str, Any]) -> Path:
    """Write `model`'s weights and `config` into `out_dir` (created; files replaced atomically)."""
    from safetensors.torch import save_model as save_safetensors

    out_dir = Path(out_dir)
    text = json.dumps(config, indent=2) + "\n"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # force_contiguous: channels_last weights (CUDA training) are not contiguous.
        write_atomic(
            out_dir / WEIGHTS_NAME,
            lambda tmp: save_safetensors(
                model, str(tmp), metadata={"format": "pt"}, force_contiguous=True
            ),
        )
        write_atomic(out_dir / CONFIG_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise ModelDirError(f"--out {out_dir}: cannot write the model ({exc})") from exc
    return out_dir


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """`write(tmp)` to a temporary file beside `path`, then rename it over `path`."""
    tmp = _temp_path(path.parent, path.name)
    try:
        write(tmp)
        # mkstemp's 0600 (kept by some writers): an export is shared like any file the user makes.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _temp_path(folder: Path, name: str) -> Path:
    handle, path = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    os.close(handle)
    return Path(path)


def current_umask() -> int:
    """The process umask (reading it means setting it; put straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(path: Path, option: str = "--out", *, folder: bool = True) -> Path:
    """Fail now, not after training, if `path` (a folder, or a file) cannot be written.

    Nothing is created: the nearest existing ancestor must be a writable folder, and an existing
    `path` must be a folder (`folder`) or a regular file.
    """
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise ModelDirError(f"{option} {path}: exists and is not a folder")
        if not folder and path.is_dir():
            raise ModelDirError(f"{option} {path}: is a folder; give a file name")
        if not os.access(path, os.W_OK):
            raise ModelDirError(f"{option} {path}: not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ModelDirError(f"{option} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ModelDirError(f"{option} {path}: cannot create it ({parent} is not writable)")
    return path


def is_model_dir(path: Path) -> bool:
    """True for a folder that holds a config.json (an exported model, perhaps a broken one)."""
    return Path(path).is_dir() and (Path(path) / CONFIG_NAME).is_file()


def read_config(model_dir: Path) -> dict[str, Any]:
    """Parse and check `model_dir`/config.json."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelDirError(f"{model_dir}: no such model folder")
    config_path = model_dir / CONFIG_NAME
    if not config_path.is_file():
        raise ModelDirError(
            f"{model_dir}: no {CONFIG_NAME}; a model folder is what `pets train --out DIR` "
            f"writes ({CONFIG_NAME} + {WEIGHTS_NAME})"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{config_path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ModelDirError(f"{config_path}: nested too deeply") from exc
    return validate_config(config, config_path)


def load_model(model_dir: Path, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild an exported model (eval mode, on `device`); returns (model, config)."""
    import timm
    from safetensors import SafetensorError
    from safetensors.torch import load_model as load_safetensors

    from xl_lesson3.pets.model import check_arch

    model_dir = Path(model_dir)
    config = read_config(model_dir)
    weights_path = model_dir / WEIGHTS_NAME
    if not weights_path.is_file():
        raise ModelDirError(f"{model_dir}: no {WEIGHTS_NAME} beside {CONFIG_NAME}")
    model_args = {k: v for k, v in config["model_args"].items() if v is not None}
    check_arch(config["architecture"], where=f"{model_dir / CONFIG_NAME}: architecture")
    try:
        model = timm.create_model(
            config["architecture"],
            pretrained=False,
            num_classes=len(config["categories"]),
            **model_args,
        )
    except (RuntimeError, TypeError, AssertionError, ValueError) as exc:
        raise ModelDirError(f"{model_dir / CONFIG_NAME}: architecture: {exc}") from exc
    try:
        load_safetensors(model, str(weights_path), strict=True, device="cpu")
    except (RuntimeError, OSError, SafetensorError) as exc:
        message = " ".join(str(exc).split())
        arch = config["architecture"]
        raise ModelDirError(f"{weights_path}: does not fit {arch}: {message}"[:400]) from exc
    return model.to(device).eval(), config
