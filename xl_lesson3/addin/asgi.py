"""The ASGI app ``xl-lesson3 addin serve`` runs: xlwings Server plus the Lesson 3 pieces.

Imported only in the server process, after `xl_lesson3.addin.server` has put the XLWINGS_*
settings into the environment. Around xlwings Server's FastAPI app it adds:

- ``GET /lesson3/jobs/{id}`` (progress of a running Solve: steps, best loss, elapsed) and
  ``POST /lesson3/jobs/{id}/cancel`` (the task pane's Cancel button);
- CORS for the add-in's own origin and Office's hosts only (xlwings Server's default is any
  origin, which would let any web page drive this local server);
- `CancelOnDisconnect`: a request whose client gives up cancels the work it started;
- on shutdown (SIGTERM, Ctrl+C) every running job is cancelled, so the worker threads end.
"""

from __future__ import annotations

import json
import os

from fastapi import APIRouter, HTTPException
from starlette.middleware.cors import CORSMiddleware
from xlwings_server.main import app as xlwings_app

from xl_lesson3.addin.jobs import JOBS, CancelOnDisconnect

# Excel on the web and Office's hosted runtimes call from these hosts.
OFFICE_ORIGINS = (
    r"https://([a-z0-9-]+\.)*(officeapps\.live\.com|office\.com|office365\.com"
    r"|microsoft365\.com|officeppe\.com|sharepoint\.com|live\.com)"
)
ORIGINS_ENV = "LESSON3_ALLOWED_ORIGINS"  # set by xl_lesson3.addin.server: a JSON list

router = APIRouter(prefix="/lesson3")


@router.get("/jobs/{job_id}")
async def job_progress(job_id: str) -> dict:
    """Progress of a job: state, step, max_steps, best loss, elapsed seconds, message."""
    job = JOBS.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"{job_id}: no such job")
    return job.snapshot()


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str) -> dict:
    """Stop a job at its next step (the task pane's Cancel button)."""
    job = JOBS.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"{job_id}: no such job")
    job.cancel("Cancel was pressed")
    return job.snapshot()


xlwings_app.include_router(router)


class CancelJobsOnShutdown:
    """ASGI wrapper: on the lifespan shutdown message, cancel every running job."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched_receive():
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                JOBS.cancel_all("the server is stopping")
            return message

        await self.app(scope, watched_receive, send)


def allowed_origins() -> list[str]:
    """The add-in's own origins, from the environment the server process was given."""
    return list(json.loads(os.environ.get(ORIGINS_ENV, "[]")))


app = CancelJobsOnShutdown(
    CancelOnDisconnect(
        CORSMiddleware(
            app=xlwings_app,
            allow_origins=allowed_origins(),
            allow_origin_regex=OFFICE_ORIGINS,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            allow_credentials=False,
        )
    )
)
