"""Errors of the pet-breed commands; all are bad input (exit status 2).

They subclass `xl_lesson3.errors.BadInputError`, so the CLI prints one line and exits with 2. Each
message starts with what it is about: the option (``--arch``), the folder or the file.
"""

from __future__ import annotations

from xl_lesson3.errors import BadInputError


class PetsDataError(BadInputError):
    """An image folder that is missing, empty, unlabelled or in no layout we know."""


class UnknownArchitectureError(BadInputError):
    """A model name timm does not know; the message suggests close names."""


class WeightsError(BadInputError):
    """Pretrained weights that cannot be found or do not fit the architecture."""


class ModelDirError(BadInputError):
    """An exported model folder that lacks config.json or model.safetensors, or holds bad ones."""


class ImageError(BadInputError):
    """An image given on the command line that cannot be read."""


class UnknownSubmoduleError(BadInputError):
    """A dotted submodule path that the model does not have; the message suggests close ones."""


class ModelSizeError(BadInputError):
    """An image size (or batch size) the chosen model cannot run at."""
