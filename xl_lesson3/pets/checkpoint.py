"""Checkpoints during `pets train`: the best epoch as a model folder, the last one for ``--resume``.

After every epoch rank 0 writes ``MODEL_DIR/checkpoints/last.safetensors`` (model and AdamW state,
tensors only: no pickle) and ``last.json`` (where training stands, the history, and the options
that must match to resume). When the validation loss improves, ``checkpoints/best/`` becomes a
complete model folder (config.json + model.safetensors) that predict and interpret accept. A run
that finishes removes ``last.*``: there is nothing left to resume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xl_lesson3.pets.errors import ModelDirError
from xl_lesson3.pets.learner import Callback, Learner

FOLDER = "checkpoints"
LAST_WEIGHTS = "last.safetensors"
LAST_STATE = "last.json"
BEST = "best"


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run starts: the phase, epochs already done in it, and saved state."""

    phase: str
    epoch: int  # epochs of `phase` already done
    epochs_done: int  # over all phases (seeds the shuffle)
    history: list[dict[str, Any]]
    model_state: dict[str, Any]
    opt_state: dict[str, Any] | None


class Checkpoints(Callback):
    """Rank 0 saves the last epoch (model + optimiser) and the best one (a model folder).

    `make_config(history)` builds the config.json of the best folder; `fingerprint` holds the
    options a resumed run must share.
    """

    order = 15  # after Recorder (10) has written the epoch's row

    def __init__(self, out: Path, fingerprint: dict[str, Any], make_config: Any) -> None:
        self.folder = Path(out) / FOLDER
        self.fingerprint = fingerprint
        self.make_config = make_config
        self.best_loss = float("inf")

    def after_epoch(self, learn: Learner) -> None:
        if not learn.dist.is_main:
            return
        from safetensors.torch import save_file

        from xl_lesson3.pets.export import save_model, write_atomic

        row = learn.history[-1]
        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu() for k, v in learn.model.state_dict().items()}
        opt = learn.opt.state_dict()
        for index, state in opt["state"].items():
            for name, value in state.items():
                tensors[f"opt.{index}.{name}"] = value.detach().cpu().reshape(-1).clone()
        write_atomic(
            self.folder / LAST_WEIGHTS,
            lambda tmp: save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp)),
        )
        state = {
            "phase": learn.phase,
            "epoch": learn.epoch + 1,
            "epochs_done": learn.epochs_done + 1,
            "history": learn.history,
            "param_groups": opt["param_groups"],
            "shapes": {
                f"opt.{i}.{name}": list(value.shape)
                for i, values in opt["state"].items()
                for name, value in values.items()
            },
            "fingerprint": self.fingerprint,
        }
        text = json.dumps(state, indent=1)
        write_atomic(self.folder / LAST_STATE, lambda tmp: Path(tmp).write_text(text))
        if row["valid_loss"] < self.best_loss:
            self.best_loss = row["valid_loss"]
            config = self.make_config(list(learn.history))
            config["checkpoint"] = {"phase": learn.phase, "epoch": learn.epoch + 1, **row}
            save_model(self.folder / BEST, learn.model, config)

    def finish(self) -> None:
        """After a run that completed: the resume files are no longer needed."""
        for name in (LAST_WEIGHTS, LAST_STATE):
            (self.folder / name).unlink(missing_ok=True)


def load_resume_point(out: Path, fingerprint: dict[str, Any]) -> ResumePoint:
    """Read ``checkpoints/last.*``; the saved options must equal `fingerprint`."""
    from safetensors.torch import load_file

    folder = Path(out) / FOLDER
    state_path, weights_path = folder / LAST_STATE, folder / LAST_WEIGHTS
    if not state_path.is_file() or not weights_path.is_file():
        raise ModelDirError(f"--resume: no checkpoint to resume in {folder}")
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        tensors = load_file(str(weights_path))
        saved = state["fingerprint"]
        keys = set(saved) | set(fingerprint)
        differ = sorted(k for k in keys if saved.get(k) != fingerprint.get(k))
        if differ:
            shown = ", ".join(f"{k} was {saved.get(k)!r}" for k in differ)
            raise ModelDirError(f"--resume {folder}: options differ from the run saved ({shown})")
        opt_state: dict[str, Any] = {"state": {}, "param_groups": state["param_groups"]}
        for key, shape in state["shapes"].items():
            _, index, name = key.split(".", 2)
            value = tensors[key].reshape(shape)
            opt_state["state"].setdefault(int(index), {})[name] = value
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        return ResumePoint(
            phase=str(state["phase"]),
            epoch=int(state["epoch"]),
            epochs_done=int(state["epochs_done"]),
            history=list(state["history"]),
            model_state=model_state,
            opt_state=opt_state,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelDirError(f"--resume {folder}: unreadable checkpoint ({exc})") from exc
