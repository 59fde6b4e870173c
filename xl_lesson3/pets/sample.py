"""A tiny labelled image set made offline from photos that scikit-image and scikit-learn ship.

The Oxford-IIIT Pet images cannot be downloaded here, so tests and the throughput benchmark use
random crops and flips of a few real photos, saved with Pet-style names (``Chelsea_3.jpg``; the
capitalised name is the cat, as in the Pet data set). Needs scikit-image and scikit-learn (the
``test`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# name -> (package, loader); capitalised names are cats, as in Oxford-IIIT Pet.
PHOTOS = {
    "Chelsea": ("skimage", "chelsea"),
    "coffee": ("skimage", "coffee"),
    "rocket": ("skimage", "rocket"),
    "flower": ("sklearn", "flower.jpg"),
    "astronaut": ("skimage", "astronaut"),
    "china": ("sklearn", "china.jpg"),
}


def load_photo(name: str) -> Any:
    """One shipped photo as an (height, width, 3) uint8 array."""
    package, key = PHOTOS[name]
    if package == "skimage":
        from skimage import data

        return getattr(data, key)()
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    return bunch.images[[Path(f).name for f in bunch.filenames].index(key)]


def write_sample_images(
    dest: Path,
    *,
    classes: int = 4,
    per_class: int = 16,
    size: int = 96,
    seed: int = 0,
) -> list[Path]:
    """Write `per_class` random crops of each of the first `classes` photos into `dest`.

    Each crop keeps 55-95% of each side at a random place, is flipped half the time and resized
    to `size` px square. Returns the paths written (``NAME_<n>.jpg``).
    """
    import numpy as np
    from PIL import Image

    if not 2 <= classes <= len(PHOTOS):
        raise ValueError(f"classes must be between 2 and {len(PHOTOS)}")
    rng = np.random.default_rng(seed)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in list(PHOTOS)[:classes]:
        photo = Image.fromarray(load_photo(name)).convert("RGB")
        width, height = photo.size
        for i in range(per_class):
            crop_w, crop_h = (int(side * rng.uniform(0.55, 0.95)) for side in (width, height))
            left = int(rng.integers(0, width - crop_w + 1))
            top = int(rng.integers(0, height - crop_h + 1))
            crop = photo.crop((left, top, left + crop_w, top + crop_h)).resize((size, size))
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            path = dest / f"{name}_{i + 1}.jpg"
            crop.save(path, quality=90)
            written.append(path)
    return written
