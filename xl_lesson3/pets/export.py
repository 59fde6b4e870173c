"""A trained model on disk: ``model.safetensors`` (weights) and ``config.json`` (everything else).

Never pickle: weights are safetensors, and the config is plain JSON with the architecture, the
category names in the model's output order and the image preprocessing, which is all `load_model`
needs to rebuild the model with timm and predict.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from xl_lesson3.pets.errors import ModelDirError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "xl-lesson3-pets"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("architecture", "categories", "image_size", "mean", "std")


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
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        weights_tmp = _temp_path(out_dir, WEIGHTS_NAME)
        # force_contiguous: channels_last weights (CUDA training) are not contiguous.
        save_safetensors(model, str(weights_tmp), metadata={"format": "pt"}, force_contiguous=True)
        os.replace(weights_tmp, out_dir / WEIGHTS_NAME)
        config_tmp = _temp_path(out_dir, CONFIG_NAME)
        config_tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        os.replace(config_tmp, out_dir / CONFIG_NAME)
    except OSError as exc:
        raise ModelDirError(f"--out {out_dir}: cannot write the model ({exc})") from exc
    return out_dir


def _temp_path(folder: Path, name: str) -> Path:
    handle, path = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    os.close(handle)
    return Path(path)


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
    if not isinstance(config, dict):
        raise ModelDirError(f"{config_path}: not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise ModelDirError(f"{config_path}: missing {', '.join(missing)}")
    return config


def load_model(model_dir: Path, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild an exported model (eval mode, on `device`); returns (model, config)."""
    import timm
    from safetensors import SafetensorError
    from safetensors.torch import load_model as load_safetensors

    model_dir = Path(model_dir)
    config = read_config(model_dir)
    weights_path = model_dir / WEIGHTS_NAME
    if not weights_path.is_file():
        raise ModelDirError(f"{model_dir}: no {WEIGHTS_NAME} beside {CONFIG_NAME}")
    try:
        model = timm.create_model(
            config["architecture"], pretrained=False, num_classes=len(config["categories"])
        )
    except RuntimeError as exc:
        raise ModelDirError(f"{model_dir / CONFIG_NAME}: architecture: {exc}") from exc
    try:
        load_safetensors(model, str(weights_path), strict=True, device="cpu")
    except (RuntimeError, OSError, SafetensorError) as exc:
        message = " ".join(str(exc).split())
        arch = config["architecture"]
        raise ModelDirError(f"{weights_path}: does not fit {arch}: {message}"[:400]) from exc
    return model.to(device).eval(), config
