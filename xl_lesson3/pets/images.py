"""Opening image files safely: one clear line for a file that is unreadable or absurdly large.

An image header can claim 40000 x 40000 pixels in a few hundred bytes; decoding it would take
gigabytes. Pillow raises `DecompressionBombError` past twice its pixel limit and only warns below
that, so the header's size is checked here against `MAX_PIXELS` before anything is decoded.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from xl_lesson3.pets.errors import ImageError

MAX_PIXELS = 89_478_485  # Pillow's own MAX_IMAGE_PIXELS: ~9459 x 9459, a 256 MB RGB bitmap
READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


def _open(path: Path) -> Any:
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refusing an image this large ({exc})") from exc
    except READ_ERRORS as exc:
        raise ImageError(f"{path}: cannot read this image ({exc})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageError(
            f"{path}: refusing an image of {width} x {height} pixels "
            f"(more than {MAX_PIXELS:,}; a decompression bomb?)"
        )
    return image


def check_image(path: Path, *, decode: bool = False) -> tuple[int, int]:
    """(width, height) of an image file, read from its header; `decode` reads every byte too.

    A JPEG is decoded at 1/8 scale (`draft`), which still finds a truncated file.
    """
    image = _open(path)
    with image:
        if decode:
            try:
                image.draft("RGB", (64, 64))
                image.load()
            except READ_ERRORS as exc:
                raise ImageError(f"{path}: cannot read this image ({exc})") from exc
        return image.size


def load_rgb(path: Path) -> Any:
    """Open an image as an RGB PIL image (CMYK, palette and grey files are converted)."""
    image = _open(path)
    with image:
        try:
            return image.convert("RGB")
        except READ_ERRORS as exc:
            raise ImageError(f"{path}: cannot read this image ({exc})") from exc
