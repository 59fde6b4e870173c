"""Long work off the server's event loop: a worker pool, cancellable jobs, and their progress.

xlwings Server calls custom functions and scripts on its asyncio event loop; a solve run there
blocks every other request (a RELU waited 28 s behind a TORCH_SOLVE). So every call runs in a
thread of one worker pool (`offload`), and the event loop only waits. Threads rather than
processes: the book object, the model and the torch tensors stay in memory, and torch releases
the GIL inside its kernels, so a small call gets its turn within milliseconds.

A thread cannot be killed, so long work stops cooperatively: each call gets a `Job` (a cancel
flag, a deadline, a progress record) that the solver loop checks after every step. A job is
cancelled when the user presses Cancel (``POST /lesson3/jobs/{id}/cancel``), when the client
that asked for it disconnects (`CancelOnDisconnect`), when its time limit passes, or when the
server shuts down. The task pane reads ``GET /lesson3/jobs/{id}`` for steps, best loss and
elapsed time.

No xlwings here: plain Python, so it is testable without a server.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from xl_lesson3.errors import XlLesson3Error

DEFAULT_TIME_LIMIT = 300.0  # seconds; a solve without a Solver "Max Time" stops after this
WORKERS = max(2, min(4, os.cpu_count() or 2))
KEEP_FINISHED = 64  # finished jobs kept for the task pane to read their last progress
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class JobCancelled(XlLesson3Error):
    """The user pressed Cancel, the client went away, or the server is stopping."""


@dataclass
class Job:
    """One call's cancel flag, deadline and progress (thread-safe: simple attribute writes)."""

    job_id: str
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    deadline: float | None = None
    step: int = 0
    max_steps: int = 0
    best: float | None = None
    state: str = "running"  # running, done, failed, cancelled
    message: str = ""

    def cancel(self, reason: str) -> None:
        """Ask the work to stop at its next check; the first reason given is kept."""
        if not self.cancelled.is_set():
            self.reason = reason
            self.cancelled.set()

    def set_time_limit(self, seconds: float | None) -> None:
        """Stop after `seconds` from the start of the job (None: no limit)."""
        self.deadline = None if seconds is None else self.started + seconds

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def timed_out(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def check(self) -> None:
        """Raise `JobCancelled` when the job was cancelled (not on a time-out: see `timed_out`)."""
        if self.cancelled.is_set():
            raise JobCancelled(f"cancelled ({self.reason}) after {self.elapsed:.1f} s")

    def report(self, step: int, max_steps: int, best: float) -> None:
        """Record progress after a solver step."""
        self.step, self.max_steps, self.best = step, max_steps, best

    def snapshot(self) -> dict[str, Any]:
        """What the task pane shows: state, steps, best loss, elapsed seconds, message."""
        return {
            "id": self.job_id,
            "state": self.state,
            "step": self.step,
            "max_steps": self.max_steps,
            "best": self.best,
            "elapsed": round(self.elapsed, 2),
            "message": self.message,
        }


class JobRegistry:
    """Jobs by id: the running ones and the last `KEEP_FINISHED` finished ones."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, job_id: str | None = None) -> Job:
        """A new job; `job_id` comes from the client (the task pane polls it) or is made up."""
        if job_id is None or not _JOB_ID.match(job_id):
            job_id = f"job-{time.monotonic_ns()}-{threading.get_ident()}"
        job = Job(job_id)
        with self._lock:
            self._jobs[job_id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old.job_id]
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel_all(self, reason: str) -> None:
        """Cancel every running job (server shutdown)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.cancel(reason)


JOBS = JobRegistry()
_current: contextvars.ContextVar[Job | None] = contextvars.ContextVar("lesson3_job", default=None)


class RequestJobs:
    """The jobs one HTTP request started; `CancelOnDisconnect` cancels them if it goes away."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.gone = False

    def add(self, job: Job) -> None:
        self.jobs.append(job)
        if self.gone:
            job.cancel("the client disconnected")

    def disconnected(self) -> None:
        self.gone = True
        for job in self.jobs:
            job.cancel("the client disconnected")


# Set per request by `CancelOnDisconnect`.
request_jobs: contextvars.ContextVar[RequestJobs | None] = contextvars.ContextVar(
    "lesson3_request_jobs", default=None
)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def current_job() -> Job | None:
    """The job of the call running in this thread, if it runs through `offload`."""
    return _current.get()


def pool() -> ThreadPoolExecutor:
    """The shared worker pool (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="lesson3-worker")
        return _pool


async def offload(func: Callable[..., Any], *args: Any, job_id: str | None = None) -> Any:
    """Run ``func(*args)`` in the worker pool as a `Job`; the event loop stays free.

    The job is cancelled when the request's client disconnects (see `CancelOnDisconnect`).
    """
    job = JOBS.start(job_id)
    scope = request_jobs.get()
    if scope is not None:
        scope.add(job)
    context = contextvars.copy_context()
    context.run(_current.set, job)
    try:
        call = functools.partial(context.run, func, *args)
        result = await asyncio.get_running_loop().run_in_executor(pool(), call)
    except BaseException as exc:
        job.state = "cancelled" if job.cancelled.is_set() else "failed"
        job.message = str(exc)
        raise
    job.state = "done"
    return result


class CancelOnDisconnect:
    """ASGI middleware: cancel the jobs of a request whose client disconnects.

    After the request body has been read, the next ``receive()`` returns only when the client
    goes away (``http.disconnect``); a task waits for it while the app works.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        jobs = RequestJobs()
        request_jobs.set(jobs)
        body_done = asyncio.Event()
        watcher: asyncio.Task | None = None
        pending: asyncio.Future = asyncio.get_running_loop().create_future()

        async def watch() -> None:
            message = await receive()
            if message["type"] == "http.disconnect":
                jobs.disconnected()
            if not pending.done():
                pending.set_result(message)

        async def wrapped_receive():
            nonlocal watcher
            if body_done.is_set():
                return await pending
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_done.set()
                watcher = asyncio.create_task(watch())
            elif message["type"] == "http.disconnect":
                jobs.disconnected()
            return message

        try:
            await self.app(scope, wrapped_receive, send)
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()
