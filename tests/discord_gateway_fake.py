"""A local stand-in for Discord's gateway (the websocket) on 127.0.0.1, next to the REST fake.

It speaks the gateway protocol of Discord's documentation
(https://discord.com/developers/docs/events/gateway): HELLO on connect, HEARTBEAT_ACK for every
HEARTBEAT, and it records each IDENTIFY. After an IDENTIFY it closes the socket with
`identify_close_code` (4014, "Disallowed intent(s)", unless a test sets another, or None to keep
the session open). Frames are compressed as the client asks in the URL's `compress` parameter:
`zstd-stream` (discord.py's choice when zstandard is importable), `zlib-stream` (each message
ending in the Z_SYNC_FLUSH suffix), or none (text frames).

discord.py is pointed at it through `DiscordWebSocket.DEFAULT_GATEWAY` (the URL it connects to
unless `GET /gateway/bot` is asked, which only an AutoShardedClient without a shard count does)
and `Route.BASE` for the REST calls, so every frame goes through discord.py's own gateway code.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket

from tests.discord_fake import FakeDiscord, _json, serving

HELLO = {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}
HEARTBEAT_ACK = {"op": 11}
CLOSE_REASONS = {4014: b"Disallowed intent(s).", 4004: b"Authentication failed."}


@dataclass
class Connection:
    """One websocket a client opened: its URL query, what it sent, how the fake closed it."""

    query: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    closed_with: int | None = None

    @property
    def ops(self) -> list[int]:
        return [payload.get("op") for payload in self.received]

    @property
    def identify(self) -> dict[str, Any] | None:
        """The `d` of the IDENTIFY (op 2) sent on this connection, if any."""
        return next((p["d"] for p in self.received if p.get("op") == 2), None)


@dataclass
class FakeGateway(FakeDiscord):
    """The REST fake plus a gateway at `gateway_url` (ws://127.0.0.1:PORT/)."""

    gateway_url: str = ""
    identify_close_code: int | None = 4014
    recommended_shards: int = 1
    connections: list[Connection] = field(default_factory=list)
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    @property
    def identifies(self) -> list[dict[str, Any]]:
        return [c.identify for c in self.connections if c.identify is not None]

    async def wait_for_identifies(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.identifies) < count:
                await asyncio.sleep(0.02)
        return self.identifies

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_get("/", self._gateway)
        app.on_shutdown.append(self._close_sockets)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        # The REST fake records the request and checks the token; it answers 404 for this
        # route only, so a 404 here means an authorised GET /gateway/bot.
        response = await super()._handle(request)
        if (
            response.status == 404
            and request.method == "GET"
            and request.match_info["tail"] == "gateway/bot"
        ):
            return _json(  # exactly application/json: discord.py compares the header as is
                {
                    "url": self.gateway_url,
                    "shards": self.recommended_shards,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 14400000,
                        "max_concurrency": 1,
                    },
                }
            )
        return response

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        if query.get("encoding", "json") != "json":  # this fake does not speak ETF
            return web.Response(status=400, text="only encoding=json is supported")
        try:
            encode = _encoder(query.get("compress"))
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        connection = Connection(query)
        self.connections.append(connection)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await _send(ws, encode, HELLO)
            async for message in ws:
                if message.type is not WSMsgType.TEXT:  # discord.py sends JSON text frames
                    connection.closed_with = 4002  # "Decode error" in Discord's close codes
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                payload = json.loads(message.data)
                connection.received.append(payload)
                if payload.get("op") == 1:
                    await _send(ws, encode, HEARTBEAT_ACK)
                elif payload.get("op") == 2 and self.identify_close_code is not None:
                    code = self.identify_close_code
                    connection.closed_with = code
                    await ws.close(code=code, message=CLOSE_REASONS.get(code, b""))
                    break
        finally:
            self._sockets.discard(ws)
        return ws

    async def _close_sockets(self, _app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"Server shutting down.")


Encoder = Callable[[bytes], bytes | None]


def _encoder(compress: str | None) -> Encoder:
    """One per connection: the compression context spans the whole connection, as Discord's."""
    if compress is None:
        return lambda raw: None  # send as a text frame
    if compress == "zlib-stream":
        zlib_context = zlib.compressobj()
        return lambda raw: zlib_context.compress(raw) + zlib_context.flush(zlib.Z_SYNC_FLUSH)
    if compress == "zstd-stream":
        try:
            import zstandard
        except ImportError:
            from compression.zstd import ZstdCompressor  # type: ignore[import-not-found]

            stdlib_context = ZstdCompressor()
            return lambda raw: stdlib_context.compress(raw, mode=ZstdCompressor.FLUSH_BLOCK)
        zstd_context = zstandard.ZstdCompressor().compressobj()
        return lambda raw: (
            zstd_context.compress(raw) + zstd_context.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        )
    raise ValueError(f"unknown compress={compress!r}")


async def _send(ws: web.WebSocketResponse, encode: Encoder, payload: dict[str, Any]) -> None:
    raw = json.dumps(payload).encode()
    frame = encode(raw)
    if frame is None:
        await ws.send_str(raw.decode())
    else:
        await ws.send_bytes(frame)


@asynccontextmanager
async def running(fake: FakeGateway) -> AsyncIterator[FakeGateway]:
    """Serve FAKE on 127.0.0.1 and point discord.py's REST and gateway URLs at it."""
    async with serving(fake):
        fake.gateway_url = fake.base.replace("http://", "ws://").removesuffix("api/v10")
        saved, DiscordWebSocket.DEFAULT_GATEWAY = (
            DiscordWebSocket.DEFAULT_GATEWAY,
            yarl.URL(fake.gateway_url),
        )
        try:
            yield fake
        finally:
            DiscordWebSocket.DEFAULT_GATEWAY = saved
