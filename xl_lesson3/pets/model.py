"""timm models for the pet classifier: names, weights, freezing and discriminative learning rates.

Weights come from one of three places, checked in this order, and never by a silent download that
hangs offline: a file the user gives (``--weights``), the Hugging Face cache
(``$HF_HUB_CACHE/models--timm--NAME/snapshots/HASH/model.safetensors``), or the hub itself when it
can be reached. Without any of them ``--pretrained`` fails at once with a message naming
``--weights``.
"""

from __future__ import annotations

import difflib
import os
import pickle
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from xl_lesson3.pets.errors import ModelSizeError, UnknownArchitectureError, WeightsError

DEFAULT_ARCH = "convnext_tiny.fb_in22k"
_TRUE = {"1", "true", "yes", "on"}


def list_model_names(pattern: str = "*", *, pretrained: bool = False) -> list[str]:
    """timm's model names matching a glob (``'convnext*'``); with `pretrained`, names with tags."""
    import timm

    return list(timm.list_models(pattern or "*", pretrained=pretrained))


def check_arch(arch: str, where: str = "--arch") -> str:
    """Return `arch` if timm knows it (tag included), else raise with the closest names."""
    import timm

    base, _, tag = arch.partition(".")
    if timm.is_model(base) and (not tag or arch in timm.list_pretrained(arch)):
        return arch
    pool = list(timm.list_models()) + list(timm.list_pretrained())
    close = difflib.get_close_matches(arch, pool, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownArchitectureError(
        f"{where}: {arch!r} is not a timm model{hint} (list them with `pets models 'PATTERN'`)"
    )


def _pretrained_cfg(arch: str) -> Any:
    from timm.models import _registry, get_pretrained_cfg

    cfg = get_pretrained_cfg(arch)
    if cfg is None:  # a deprecated alias such as convnext_tiny_in22k -> convnext_tiny.fb_in22k
        current = getattr(_registry, "_deprecated_models", {}).get(arch)
        cfg = get_pretrained_cfg(current) if current else None
    return cfg


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps downloads, read from the environment now (not at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    hf_home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    )
    return Path(hf_home) / "hub"


def cached_weights(arch: str) -> Path | None:
    """The weights file of `arch` in the Hugging Face cache, or None (no network access)."""
    from huggingface_hub import try_to_load_from_cache

    cfg = _pretrained_cfg(arch)
    if cfg is None or not cfg.hf_hub_id:
        return None
    names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else []
    for filename in [*names, "model.safetensors", "pytorch_model.bin"]:
        found = try_to_load_from_cache(cfg.hf_hub_id, filename, cache_dir=hub_cache_dir())
        if isinstance(found, str):
            return Path(found)
    return None


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """False when HF_HUB_OFFLINE is set or the hub (or the proxy to it) does not answer.

    Behind HTTPS_PROXY/HTTP_PROXY (unless NO_PROXY names the hub) the proxy is what must answer.
    """
    from urllib.request import getproxies, proxy_bypass

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    proxy = getproxies().get(url.scheme)
    if proxy and not proxy_bypass(host):
        proxy_url = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = proxy_url.hostname or "", proxy_url.port or 80
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's starting weights come from: ``none``, ``file``, ``hub-cache`` or ``hub``."""

    kind: str
    path: Path | None = None  # the file, for ``file`` and ``hub-cache``
    label: str = "none"  # for messages and config.json, e.g. ``hub-cache:timm/resnet18.a1_in1k``
    where: str = "--weights"  # the name error messages give the file


def find_weights(arch: str, *, pretrained: bool, weights: Path | None = None) -> WeightsSource:
    """Decide where `arch`'s weights come from, failing at once (before any slow work).

    `weights` (a .safetensors file or a torch state dict) wins over `pretrained`; otherwise
    pretrained weights come from the Hugging Face cache, or the hub when it can be reached.
    """
    check_arch(arch)
    if weights is not None:
        if not Path(weights).is_file():
            raise WeightsError(f"--weights {weights}: no such file")
        return WeightsSource("file", Path(weights), f"file:{weights}")
    if not pretrained:
        return WeightsSource("none")
    cfg = _pretrained_cfg(arch)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise WeightsError(
            f"--pretrained: timm publishes no weights for {arch}; pass --weights FILE or "
            "--no-pretrained (see `pets models --pretrained`)"
        )
    cached = cached_weights(arch)
    if cached is not None:
        return WeightsSource(
            "hub-cache", cached, f"hub-cache:{cfg.hf_hub_id}", where="Hugging Face cache:"
        )
    if not hub_reachable():
        repo = f"models--{cfg.hf_hub_id.replace('/', '--')}" if cfg.hf_hub_id else arch
        raise WeightsError(
            f"--pretrained: no weights for {arch} in the Hugging Face cache "
            f"({hub_cache_dir() / repo}) and the hub cannot be reached (offline or "
            "HF_HUB_OFFLINE=1); pass --weights FILE (.safetensors or a state-dict .pth), run "
            "once online to download them, or use --no-pretrained"
        )
    return WeightsSource("hub", None, f"hub:{cfg.hf_hub_id or cfg.url}")


def create_model(
    arch: str,
    num_classes: int | None = None,
    *,
    pretrained: bool = False,
    weights: Path | None = None,
    source: WeightsSource | None = None,
    model_args: dict[str, Any] | None = None,
) -> tuple[Any, str]:
    """A timm model, with a new `num_classes` head if given; returns (model, weights' origin).

    Pass `source` from `find_weights`, or `pretrained`/`weights` to let this call find it.
    `model_args` go to `timm.create_model` (``img_size`` for a fixed-size model, see `plan_size`).
    """
    import timm

    kwargs = dict(model_args or {})
    source = source or find_weights(arch, pretrained=pretrained, weights=weights)
    if source.path is not None:  # a file given, or found in the Hugging Face cache
        model = _create_from_file(arch, source.path, where=source.where, **kwargs)
        if num_classes is not None:
            model.reset_classifier(num_classes)
    else:
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        model = timm.create_model(arch, pretrained=source.kind == "hub", **kwargs)
    return model, source.label


def native_input(arch: str) -> tuple[int, bool]:
    """(input size in px, whether it is fixed) from `arch`'s pretrained config.

    Fixed-size models (ViT, Swin, SwinV2, LeViT, BEiT, DeiT...) build position embeddings or
    attention windows for that one size.
    """
    cfg = _pretrained_cfg(arch)
    if cfg is None:
        import timm

        values = timm.create_model(arch, pretrained=False).pretrained_cfg
        return int(values["input_size"][-1]), bool(values.get("fixed_input_size"))
    return int(cfg.input_size[-1]), bool(cfg.fixed_input_size)


def plan_size(arch: str, size: int | None) -> tuple[int, dict[str, Any]]:
    """(image size, extra `create_model` arguments) for `arch` at `size` (None: its own size).

    A fixed-size model asked for another size is built with ``img_size`` (timm resamples its
    position embedding); `check_runs` then proves the model can run at that size.
    """
    from xl_lesson3.pets.data import check_size

    native, fixed = native_input(arch)
    if size is None or size == native:
        return native, {}
    check_size(size)
    return size, ({"img_size": size} if fixed else {})


def check_runs(model: Any, arch: str, size: int, batch_size: int = 2) -> None:
    """Run `model` once on a blank (1, 3, size, size) batch; a failure is one line on --size.

    Also refuses a batch size of 1 for models with BatchNorm, which cannot train on one image.
    """
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    if batch_size < 2 and any(isinstance(m, _BatchNorm) for m in model.modules()):
        raise ModelSizeError(
            f"--batch-size {batch_size}: {arch} has BatchNorm layers, which cannot train on "
            "one image per batch; use 2 or more"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, size, size))
    except (RuntimeError, AssertionError, ValueError, IndexError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise ModelSizeError(
            f"--size {size}: {arch} cannot run on {size} px images ({message})"
        ) from exc
    finally:
        model.train(was_training)


def build_for_size(
    arch: str, size: int | None, source: WeightsSource
) -> tuple[Any, str, int, dict[str, Any]]:
    """The model `source` gives, built for `size`; returns (model, origin, size, model_args)."""
    size, model_args = plan_size(arch, size)
    native, _ = native_input(arch)
    try:
        model, label = create_model(arch, source=source, model_args=model_args)
    except (TypeError, AssertionError, ValueError, RuntimeError) as exc:
        if not model_args:
            raise
        message = " ".join(str(exc).split())[:200]
        raise ModelSizeError(
            f"--size {size}: {arch} has a fixed input size of {native} px and timm cannot build "
            f"it for {size} px ({message}); leave out --size to use {native}"
        ) from exc
    return model, label, size, model_args


def read_state_dict(path: Path, where: str = "--weights") -> dict[str, Any]:
    """Tensors of a .safetensors file or a torch state dict (``torch.load(weights_only=True)``)."""
    import torch

    if not path.is_file():
        raise WeightsError(f"{where} {path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{where} {path}: refusing a pickled file that holds Python objects, not only "
            "tensors (save a state dict or .safetensors)"
        ) from exc
    except Exception as exc:  # safetensors and torch raise many types for a foreign file
        raise WeightsError(
            f"{where} {path}: not a safetensors file or a plain state dict ({exc})"[:400]
        ) from exc
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsError(f"{where} {path}: holds no state dict (name -> tensor)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _create_from_file(arch: str, path: Path, where: str = "--weights", **kwargs: Any) -> Any:
    """Load a weights file strictly into `arch` with the head the file has.

    timm loads the file (its checkpoint filters convert original-format weights, and resample a
    ViT's position embedding for another ``img_size``) into a model with the pretrained config's
    head, strictly: every tensor must fit, so a wrong file fails loudly. (Asking timm for
    `num_classes` directly would load non-strictly and could leave the body random.) A file whose
    head has another size (an earlier fine-tune) is loaded into a model with that head instead.
    """
    import timm

    state = read_state_dict(path, where)  # checks the file before timm sees it
    try:
        return timm.create_model(
            arch, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs
        )
    except (RuntimeError, KeyError, ValueError) as timm_exc:
        model = timm.create_model(arch, pretrained=False, **kwargs)
        rows = [
            state[f"{p}.weight"].shape[0] for p in _head_prefixes(model) if f"{p}.weight" in state
        ]
        failure: Exception = timm_exc
        if rows:
            model = timm.create_model(arch, pretrained=False, num_classes=rows[0], **kwargs)
            try:
                model.load_state_dict(state, strict=True)
                return model
            except RuntimeError as exc:
                failure = exc
        message = " ".join(str(failure).split())
        raise WeightsError(f"{where} {path}: does not fit {arch}: {message}"[:400]) from failure


def _head_prefixes(model: Any) -> tuple[str, ...]:
    names = model.pretrained_cfg.get("classifier") or ()
    return (names,) if isinstance(names, str) else tuple(names)


def _is_head(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def freeze_body(model: Any) -> None:
    """Train only the classifier (and BatchNorm layers, as fast.ai's ``train_bn`` does)."""
    from torch.nn.modules.batchnorm import _BatchNorm

    head = _head_prefixes(model)
    for name, param in model.named_parameters():
        param.requires_grad_(_is_head(name, head))
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            for param in module.parameters(recurse=False):
                param.requires_grad_(True)


def unfreeze(model: Any) -> None:
    """Make every parameter trainable."""
    for param in model.parameters():
        param.requires_grad_(True)


def layer_ids(model: Any) -> dict[str, int]:
    """Parameter name -> depth (0 = stem); the classifier gets the largest id.

    timm's coarse ``group_matcher`` (stem, then one group per stage) gives the depth; models
    without one have two layers, body and head.
    """
    from timm.models import group_parameters

    head = _head_prefixes(model)
    if hasattr(model, "group_matcher"):
        depth = group_parameters(model, model.group_matcher(coarse=True), reverse=True)
    else:
        depth = {name: 0 for name, _ in model.named_parameters()}
    top = max((d for n, d in depth.items() if not _is_head(n, head)), default=0) + 1
    return {n: (top if _is_head(n, head) else min(d, top)) for n, d in depth.items()}


def param_groups(
    model: Any, lr: float, *, lr_mult: float = 100.0, weight_decay: float = 0.01
) -> list[dict[str, Any]]:
    """Optimizer groups of trainable parameters with discriminative learning rates.

    The classifier trains at `lr`, the stem at ``lr / lr_mult``, layers between on a geometric
    scale (fast.ai's ``slice(lr / lr_mult, lr)``). Biases and norm weights get no weight decay.
    Each group's ``max_lr`` is the peak a schedule scales.
    """
    depth = layer_ids(model)
    top = max(depth.values(), default=0)
    groups: dict[tuple[int, float], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        layer = depth.get(name, top)
        peak = lr * lr_mult ** (-(top - layer) / top) if top else lr
        decay = 0.0 if param.ndim <= 1 else weight_decay
        group = groups.setdefault(
            (layer, decay), {"params": [], "lr": peak, "max_lr": peak, "weight_decay": decay}
        )
        group["params"].append(param)
    return [groups[key] for key in sorted(groups)]


def count_params(model: Any, *, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once)."""
    seen = {id(p): p for p in model.parameters() if p.requires_grad or not trainable_only}
    return sum(p.numel() for p in seen.values())
