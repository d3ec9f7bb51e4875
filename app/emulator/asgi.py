"""The ASGI plumbing the realistic wire stands on: read a request, call the inner app, answer, trickle a body."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def gzipped(scope: Scope) -> bool:
    """The connector gzips its request bodies (Content-Encoding: gzip)."""
    return any(k.lower() == b"content-encoding" and v.lower() == b"gzip" for k, v in scope.get("headers", []))


def unzip(body: bytes, scope: Scope) -> bytes:
    """The request body, gunzipped when the request says it is gzip."""
    return gzip.decompress(body) if gzipped(scope) else body


async def call_app(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the inner app on a request body; returns its whole answer."""
    done = asyncio.Event()
    delivered = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # nothing more to read: a listener for disconnects waits until the answer is out
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    scope = dict(scope)
    scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    scope["headers"].append((b"content-length", str(len(body)).encode()))
    await app(scope, receive, send)
    done.set()
    return status, headers, b"".join(chunks)


async def respond(send: Send, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a whole answer, its Content-Length set to the body's."""
    out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def json_body(payload: dict[str, Any]) -> bytes:
    """A payload as the compact JSON body of an answer."""
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


JSON_HEADERS = [(b"content-type", b"application/json")]


def error_payload(message: str, code: str = "000603", sql_state: str = "XX000") -> dict[str, Any]:
    """A failed query as Snowflake answers one: the connector raises ProgrammingError with this message."""
    return {"data": {"errorCode": code, "sqlState": sql_state}, "code": code, "message": message, "success": False}


async def send_trickled(receive: Receive, send: Send, body: bytes, byte_every: float) -> None:
    """`body` one byte at a time, `byte_every` seconds apart, until it is sent or the client disconnects."""
    await receive()  # the GET's (empty) request body; the next message is the disconnect
    gone = asyncio.ensure_future(receive())
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode())]
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i in range(len(body)):
            await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": i + 1 < len(body)})
            await asyncio.wait([gone], timeout=byte_every)
            if gone.done():
                return
    finally:
        gone.cancel()


def replay(body: bytes) -> Receive:
    """A `receive` that hands the inner app an already read body once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def base_url_of(scope: Scope) -> str:
    """The base URL the client reached this server at, for chunk URLs on the same server."""
    scheme = scope.get("scheme", "http")
    for k, v in scope.get("headers", []):
        if k.lower() == b"host":
            return f"{scheme}://{v.decode('latin-1')}"
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"{scheme}://{host}:{port}"
