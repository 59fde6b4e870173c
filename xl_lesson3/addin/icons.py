"""The add-in's own icons (ribbon buttons, add-in list): drawn here, committed as PNGs.

A blue rounded square with a falling loss curve and "L3": what a Solve does, readable at 16 px.
Run ``python -m xl_lesson3.addin.icons`` to redraw ``project/static/images/icons/lesson3-*.png``
after changing the drawing (Pillow needed; the server only serves the committed files).
"""

from __future__ import annotations

from pathlib import Path

from xl_lesson3.addin.server import PROJECT_DIR

ICON_DIR = PROJECT_DIR / "static" / "images" / "icons"
SIZES = (16, 32, 64, 80)
BLUE, WHITE, ORANGE = (31, 78, 161, 255), (255, 255, 255, 255), (255, 170, 40, 255)


def icon_path(size: int) -> Path:
    """Where the `size` px icon lives (served as /static/images/icons/lesson3-SIZE.png)."""
    return ICON_DIR / f"lesson3-{size}.png"


def draw(size: int):
    """The icon at `size` px, drawn 4x larger and scaled down for smooth edges."""
    from PIL import Image, ImageDraw

    big = size * 4
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=BLUE)
    # a loss curve falling from top left to a low plateau
    points = [
        (big * (0.12 + 0.76 * t / 20), big * (0.88 - 0.66 / (1 + 6 * t / 20))) for t in range(21)
    ]
    pen.line(points, fill=ORANGE, width=max(4, big // 12), joint="curve")
    if size >= 32:
        pen.text((big * 0.48, big * 0.08), "L3", fill=WHITE, font_size=big * 0.38)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(icon_path(size), optimize=True)
        print(f"wrote {icon_path(size)}")


if __name__ == "__main__":
    main()
