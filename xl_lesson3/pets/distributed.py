"""Devices and PyTorch DDP under ``torchrun``: one process per GPU (NCCL), or per CPU share (gloo).

``torchrun --nproc_per_node N -m xl_lesson3.pets train ...`` sets RANK, LOCAL_RANK and WORLD_SIZE;
`start` reads them, joins the process group and picks this rank's device. Without them it is a
plain single process and nothing distributed happens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from xl_lesson3.errors import DeviceError


@dataclass(frozen=True)
class DistInfo:
    """Which process this is; the defaults describe a single, non-distributed process."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs and exports; the others only train."""
        return self.rank == 0

    def all_reduce_sum(self, values: Any, device: Any) -> Any:
        """Sum a CPU tensor over all ranks (returned on the CPU); a no-op in a single process."""
        if self.world_size == 1:
            return values
        import torch.distributed as dist

        # NCCL only reduces CUDA tensors; gloo reduces CPU tensors.
        on_device = values.to(device) if device.type == "cuda" else values.clone()
        dist.all_reduce(on_device)
        return on_device.cpu()

    def average_buffers(self, model: Any) -> None:
        """Average floating-point buffers (BatchNorm running statistics) over all ranks."""
        if self.world_size == 1:
            return
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            for buffer in model.buffers():
                if buffer.is_floating_point():
                    dist.all_reduce(buffer)
                    buffer.div_(self.world_size)

    def broadcast_float(self, value: float, device: Any) -> float:
        """Rank 0's `value` on every rank (itself in a single process)."""
        if self.world_size == 1:
            return value
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64)
        tensor = tensor.to(device) if device.type == "cuda" else tensor
        dist.broadcast(tensor, src=0)
        return float(tensor.cpu()[0])

    def barrier(self) -> None:
        """Wait for every rank (a no-op in a single process)."""
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()


def resolve_device(request: str | None, local_rank: int = 0) -> Any:
    """``auto`` (CUDA if present, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` as a torch.device."""
    import torch

    request = (request or "auto").lower()
    if request == "auto":
        request = "cuda" if torch.cuda.is_available() else "cpu"
    if request.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {request}: CUDA is not available on this machine")
        if request == "cuda":
            return torch.device("cuda", local_rank)
    try:
        return torch.device(request)
    except RuntimeError as exc:
        raise DeviceError(f"--device {request}: not a torch device ({exc})") from exc


def start(device_request: str | None) -> tuple[DistInfo, Any]:
    """Join the torchrun process group if there is one; returns (DistInfo, this rank's device)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(), resolve_device(device_request)
    import torch
    import torch.distributed as dist

    info = DistInfo(
        rank=int(os.environ["RANK"]),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        world_size=world_size,
    )
    device = resolve_device(device_request, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info, device


def stop(info: DistInfo, *, wait: bool = True) -> None:
    """Leave the process group; with `wait`, first a barrier so no rank exits while others work.

    After a failure pass ``wait=False``: the other ranks may never reach the barrier.
    """
    if info.world_size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            if wait:
                dist.barrier()
            dist.destroy_process_group()


def launch(nproc: int, child_argv: list[str]) -> int:
    """Run ``python -m xl_lesson3.pets CHILD_ARGV`` in `nproc` local processes, as torchrun does.

    Unlike torchrun, the result is our exit status: 2 when a rank refused bad input (which rank 0
    has already reported in one line), 1 for another failure, 0 on success; no launcher
    traceback.
    """
    import logging
    import sys
    import uuid

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
    )
    quiet = logging.getLogger("torch.distributed.elastic")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # the ranks report their own errors
    try:
        elastic_launch(config, sys.executable)("-m", "xl_lesson3.pets", *child_argv)
    except ChildFailedError as exc:
        codes = {failure.exitcode for failure in exc.failures.values()}
        return 2 if 2 in codes else 1
    finally:
        quiet.setLevel(level)
    return 0
