"""Server-rendered web app for inspectors (Chinese): inspect, print, register, statistics, law.

`install(app)` mounts it: pages under /app (none of them in the OpenAPI description), the vendored assets under
/app/static, and / redirecting to /app. Templates are in templates/, assets in static/ (see static/README.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from .pages import router

    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/app", status_code=307)
