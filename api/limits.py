"""Request body limit that answers in problem+json.

FastAPI's own `max_body_size` answers 413 in plain text before any exception handler runs, and every
error of this API is problem+json, so the limit is enforced here instead."""

from __future__ import annotations

import json

MAX_BODY_BYTES = 1_048_576  # an inspection of 2,000 objects with a dozen values each fits in well under 1 MiB


class BodySizeLimit:
    """ASGI middleware: counts the body's bytes as they arrive (Content-Length can be absent or wrong)."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        refused = False

        async def limited_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    # answer now and tell the app the client has gone: it stops reading and sends nothing
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send):
        body = json.dumps({"type": "/problems/payload-too-large", "title": "Payload too large", "status": 413,
                           "detail": f"the request body is larger than {self.max_bytes} bytes"}).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
