"""What a user sees while training: rich progress bars and fast.ai's per-epoch table.

The table prints one row as each epoch ends (``epoch train_loss valid_loss error_rate time``), so
a log file shows progress too; the bars are transient and drawn only on a terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from xl_lesson3.pets.learner import Callback, Learner

COLUMNS = ("epoch", "train_loss", "valid_loss", "error_rate", "time")


def format_seconds(seconds: float) -> str:
    """fast.ai's mm:ss (h:mm:ss past an hour)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


def epoch_cells(row: dict[str, Any]) -> list[str]:
    """A history row as the table's cells."""
    return [
        str(row["epoch"]),
        f"{row['train_loss']:.6f}",
        f"{row['valid_loss']:.6f}",
        f"{row['error_rate']:.6f}",
        format_seconds(row["seconds"]),
    ]


class ProgressTable(Callback):
    """Progress bars for training and validation batches, and a table row per epoch."""

    order = 20  # after Recorder, which writes the row

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.task: Any = None

    def before_fit(self, learn: Learner) -> None:
        if learn.phase:
            self.console.print(f"[bold]{learn.phase}[/bold]")
        self.console.print("  ".join(f"{name:<10}" for name in COLUMNS).rstrip(), style="bold")
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()

    def before_train(self, learn: Learner) -> None:
        self.task = self._new_task(f"epoch {learn.epoch + 1}/{learn.n_epochs} train", learn.n_iter)

    def after_batch(self, learn: Learner) -> None:
        self._advance()

    def before_validate(self, learn: Learner) -> None:
        self._remove()
        self.task = self._new_task(
            f"epoch {learn.epoch + 1}/{learn.n_epochs} valid", len(learn.valid_loader)
        )

    def after_valid_batch(self, learn: Learner) -> None:
        self._advance()

    def after_epoch(self, learn: Learner) -> None:
        self._remove()
        cells = epoch_cells(learn.history[-1])
        self.console.print("  ".join(f"{cell:<10}" for cell in cells).rstrip())

    def after_fit(self, learn: Learner) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _new_task(self, description: str, total: int) -> Any:
        if self.progress is None:
            return None
        return self.progress.add_task(description, total=total)

    def _advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)

    def _remove(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
