"""FastAPI application: thin routes over the engine. The engine (ontology + rules compiled, durable-rules
host warmed) is built once at start-up, never per request."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from hazard_kb import __version__
from hazard_kb.engine.service import Engine, default_engine
from hazard_kb.engine.worker import EngineWorker

from . import problems
from .limits import BodySizeLimit
from .routes import catalogue, determinations, quizzes
from .routes import register as register_routes
from .routes import matches
from . import web

KB_VERSION_HEADER = "X-Hazard-KB-Version"


def create_app(engine: Engine | None = None, isolate: bool = False, timeout: float = 10.0) -> FastAPI:
    """engine: determine in this process (tests, single-user use); isolate: determine in a child process
    that a crash or a hang cannot take down with it (what `hazard-kb serve` runs)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.worker = None
        if isolate:
            # the catalogue only needs the compiled KB; the durable engine lives in the child
            app.state.engine = engine or Engine.load(backend="reference")
            app.state.worker = EngineWorker(timeout=timeout)
        else:
            app.state.engine = engine or default_engine()
        try:
            yield
        finally:
            if app.state.worker is not None:
                app.state.worker.close()

    app = FastAPI(
        title="hazard-kb",
        version=__version__,
        summary="重大事故隐患判定知识库：观察事实 → 是否构成重大事故隐患，附逐项法律依据",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    problems.install(app)
    app.add_middleware(BodySizeLimit)

    @app.middleware("http")
    async def kb_version_header(request: Request, call_next):
        response = await call_next(request)
        eng = getattr(request.app.state, "engine", None)
        if eng is not None:
            response.headers[KB_VERSION_HEADER] = eng.kb.version
        return response

    app.include_router(determinations.router)
    app.include_router(catalogue.router)
    app.include_router(quizzes.router)
    app.include_router(matches.router)
    register_routes.install(app, open_at_startup=isolate)  # the served app migrates its database at start-up
    try:  # the audit route is optional until the audit module lands
        from .audit_routes import audit_router
    except ImportError:
        pass
    else:
        app.include_router(audit_router)
    web.install(app)  # the inspectors' web app under /app (not in the OpenAPI description)

    @app.get("/healthz", tags=["ops"], summary="liveness; also the ceiling in benchmarks")
    def healthz() -> dict:
        return {"status": "ok"}

    return app
