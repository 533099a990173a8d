"""ASGI entry point: `uvicorn hazard_kb.api.main:app`."""

from .app import create_app

app = create_app(isolate=True)
