"""Register errors; the API turns each into application/problem+json with its status and type."""

from __future__ import annotations

from typing import Any


class RegisterError(Exception):
    status = 400
    title = "Bad request"
    type = "/problems/register"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(RegisterError):
    status, title, type = 422, "Invalid request", "/problems/invalid-register-input"


class Unauthorized(RegisterError):
    status, title, type = 401, "Unauthorized", "/problems/unauthorized"


class Forbidden(RegisterError):
    status, title, type = 403, "Forbidden", "/problems/forbidden"


class NotFound(RegisterError):
    status, title, type = 404, "Not found", "/problems/not-found"


class Conflict(RegisterError):
    """The request does not fit the entry's current state (or duplicates an existing entry)."""

    status, title, type = 409, "Conflict", "/problems/conflict"

    def __init__(self, detail: str, type_: str | None = None, title: str | None = None, **extra: Any):
        super().__init__(detail, **extra)
        if type_:
            self.type = type_
        if title:
            self.title = title
