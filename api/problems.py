"""Errors as RFC 9457 problem+json, naming the field, what was expected and the nearest valid names."""

from __future__ import annotations

from fastapi import FastAPI, Request
from pydantic import BaseModel
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hazard_kb.engine.backend_durable import EngineFailure
from hazard_kb.engine.inspection import InspectionError
from hazard_kb.engine.worker import EngineBusy, EngineTimeout

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str | None = None
    expected: str | None = None
    suggestions: list[str] = []


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {400: "Malformed request", 404: "Not found", 413: "Payload too large", 422: "Invalid input, naming each field",
                 500: "Internal error (no stack trace)", 503: "Rule engine failure or busy", 504: "Determination timed out"}
# documented on every operation, so the OpenAPI description matches what is really returned
PROBLEM_RESPONSES = {code: {"description": text, "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
                     for code, text in _DESCRIPTIONS.items()}


def document(app: FastAPI) -> None:
    """Put the ProblemDetails schema the responses refer to into the generated OpenAPI components."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        model = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(model.pop("$defs", {}))
        components["ProblemDetails"] = model
        return schema

    app.openapi = openapi


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    document(app)
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            if e.get("type") == "json_invalid":
                return problem(422, "Malformed JSON", f"the request body is not valid JSON: {e.get('msg')}",
                               "/problems/malformed-json", errors=[{"field": "body", "message": e.get("msg"),
                                                                    "expected": "a JSON object"}])
            errors.append({"field": _field(e.get("loc", ())), "message": e.get("msg"), "expected": _expected(e),
                           "suggestions": []})
        title = "Invalid inspection" if request.url.path.endswith("/determinations") else "Invalid request"
        return problem(422, title, f"{len(errors)} field(s) are invalid", "/problems/invalid-input", errors=errors)

    @app.exception_handler(InspectionError)
    async def _inspection(request: Request, exc: InspectionError):
        errors = [{"field": _field(p.loc), "message": p.msg, "expected": p.expected, "suggestions": list(p.suggestions)}
                  for p in exc.problems]
        return problem(422, "Invalid inspection", f"{len(errors)} observation(s) do not fit the ontology",
                       "/problems/invalid-observation", errors=errors)

    @app.exception_handler(EngineBusy)
    async def _busy(request: Request, exc: EngineBusy):
        response = problem(503, "Rule engine busy", str(exc), "/problems/engine-busy")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(EngineTimeout)
    async def _timeout(request: Request, exc: EngineTimeout):
        return problem(504, "Determination timed out", str(exc), "/problems/engine-timeout")

    @app.exception_handler(EngineFailure)
    async def _engine(request: Request, exc: EngineFailure):
        return problem(503, "Rule engine failure", "the rule engine did not complete this determination; no partial "
                       "result is returned. Retry; if it persists, report the request.", "/problems/engine-failure")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        response = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
        for name, value in (exc.headers or {}).items():  # e.g. Allow on 405, WWW-Authenticate on 401
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", "/problems/internal")


def _title(status: int) -> str:
    return {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
            409: "Conflict", 413: "Payload too large", 415: "Unsupported media type"}.get(status, "Error")


def _expected(e: dict) -> str | None:
    t = e.get("type", "")
    ctx = e.get("ctx") or {}
    if t == "missing":
        return "this field is required"
    if t == "extra_forbidden":
        return "no such field"
    if t.startswith("too_short") or t.startswith("too_long"):
        return f"length between {ctx.get('min_length', 0)} and {ctx.get('max_length', '∞')}"
    if "expected" in ctx:
        return str(ctx["expected"])
    return t.replace("_", " ") or None
