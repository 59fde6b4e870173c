"""The schema of an exported model's config.json, checked before any model is built.

A config.json is user input like any other file: a string where a number belongs, or an
``image_size`` of 30000 (gigabytes of activations), must become one line naming the key, not a
traceback minutes later. pydantic checks types and ranges; keys we do not know are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from xl_lesson3.pets.data import MAX_SIZE, MIN_SIZE
from xl_lesson3.pets.errors import ModelDirError

MAX_CATEGORIES = 100_000
Number = StrictFloat | StrictInt
Interpolation = Literal["bicubic", "bilinear", "nearest", "lanczos", "box", "hamming"]


class ModelArgs(BaseModel):
    """Extra arguments `timm.create_model` was given, e.g. a fixed-size model built at 192 px."""

    model_config = ConfigDict(extra="forbid")

    img_size: Annotated[StrictInt, Field(ge=MIN_SIZE, le=MAX_SIZE)] | None = None


class PetsConfig(BaseModel):
    """The keys `load_model` and `predict` read; other keys (training record) pass through."""

    model_config = ConfigDict(extra="allow")

    architecture: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    categories: Annotated[
        list[Annotated[StrictStr, Field(max_length=500)]],
        Field(min_length=1, max_length=MAX_CATEGORIES),
    ]
    image_size: Annotated[StrictInt, Field(ge=MIN_SIZE, le=MAX_SIZE)]
    mean: Annotated[list[Number], Field(min_length=3, max_length=3)]
    std: Annotated[list[Annotated[Number, Field(gt=0)]], Field(min_length=3, max_length=3)]
    interpolation: Interpolation = "bicubic"
    crop_pct: Annotated[Number, Field(gt=0.05, le=1.0)] = 0.875
    model_args: ModelArgs = ModelArgs()


def validate_config(config: Any, where: Path) -> dict[str, Any]:
    """`config` as a checked dict; the first problem becomes one line naming the key."""
    if not isinstance(config, dict):
        raise ModelDirError(f"{where}: not a JSON object")
    try:
        checked = PetsConfig.model_validate(config)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        got = repr(first.get("input"))
        got = got if len(got) <= 60 else got[:57] + "..."
        raise ModelDirError(f"{where}: {key}: {first['msg']} (got {got})") from exc
    if len(set(checked.categories)) != len(checked.categories):
        raise ModelDirError(f"{where}: categories: names repeat")
    num_classes = config.get("num_classes", len(checked.categories))
    if num_classes != len(checked.categories):
        raise ModelDirError(
            f"{where}: num_classes is {num_classes!r} but there are "
            f"{len(checked.categories)} categories"
        )
    return {**config, **checked.model_dump(include=set(PetsConfig.model_fields))}
