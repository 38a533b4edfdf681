"""Pure ASGI middleware (no extra task per request): request id, access log, metrics, the JSON
answer to an unhandled error, and the body size limit."""

import re
import time
import uuid

from loguru import logger
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics
from .schemas import ErrorResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed into logs and headers: accept only short, plain tokens.
MAX_REQUEST_ID_LENGTH = 128
VALID_REQUEST_ID = re.compile("[A-Za-z0-9._:-]{1," + str(MAX_REQUEST_ID_LENGTH) + "}")


async def send_error(send: Send, status: int, detail: str, request_id: str) -> None:
    """The API's error envelope, for answers given before or outside FastAPI's handlers."""
    body = ErrorResponse(detail=detail, request_id=request_id).model_dump_json().encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:  # the rest of the body is not wanted: do not read it to keep the connection
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = sent if VALID_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with logger.contextualize(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                # Logged here, with the request id, and answered in the same envelope as every
                # other error; Starlette's own handler would answer in plain text.
                logger.exception("Unhandled error answering {} {}", scope["method"], scope["path"])
                if status:  # the answer had begun: nothing clean is left to send
                    raise
                await send_error(send_with_id, 500, "internal server error", request_id)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                # 499: the client went away before any answer (nginx's code for it).
                labels = (scope["method"], route, str(status or 499))
                self.metrics.requests.labels(*labels).inc()
                self.metrics.latency.labels(*labels).observe(elapsed)
                logger.info(
                    "{} {} {} {:.1f} ms", scope["method"], scope["path"], labels[2], elapsed * 1000
                )


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with 413 before anything parses it.

    A declared Content-Length over the limit is refused unread; a body sent without one (chunked)
    is read only up to the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def refuse(self, scope: Scope, send: Send) -> None:
        detail = f"the request body is over {self.max_bytes} bytes (MAX_BODY_BYTES)"
        await send_error(send, 413, detail, scope.get("state", {}).get("request_id", "-"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self.refuse(scope, send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)
