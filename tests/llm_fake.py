"""A local OpenAI-compatible chat server on 127.0.0.1 that plays scripted replies.

It speaks `POST /v1/chat/completions` as OpenAI documents it
(https://platform.openai.com/docs/api-reference/chat): a `chat.completion` object, or with
`"stream": true` server-sent events of `chat.completion.chunk` objects ending in
`data: [DONE]` (and a usage chunk when `stream_options.include_usage` asks for one); errors
as `{"error": {...}}` with their HTTP status. Each request takes the next reply of the script.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import on_loopback

MODEL = "gpt-4o-mini-2024-07-18"


PASSAGE = re.compile(r'<passage n="(\d+)" title="([^"]*)"')


def passage_numbers(prompt: str) -> dict[str, int]:
    """The number the prompt gave each passage, by its title."""
    return {title: int(n) for n, title in PASSAGE.findall(prompt)}


@dataclass
class Reply:
    """One scripted reply, or an HTTP error, possibly late. The text may be written from the
    prompt (all messages' content joined), as a model would: to cite passages by the numbers
    the prompt gave them."""

    text: str | Callable[[str], str] = ""
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    piece_delay: float = 0.0  # seconds between streamed pieces


@dataclass
class FakeLLM:
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    fallback: Reply | None = None  # served once the script is used up

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        return app

    def prompt_of(self, index: int = -1) -> str:
        """The text of every message of one request, joined: what the model was shown."""
        return "\n".join(str(m.get("content")) for m in self.requests[index]["messages"])

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self.script.pop(0) if self.script else self.fallback
        if reply is None:
            return _error(500, "the test script has no reply left", "server_error")
        await asyncio.sleep(reply.delay)
        if reply.status != 200:
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            return _error(reply.status, f"scripted {reply.status}", kind)
        text = reply.text if isinstance(reply.text, str) else reply.text(self.prompt_of(-1))
        completion_id = f"chatcmpl-{len(self.requests):08d}"
        created = int(time.time())
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": MODEL,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": text,
                                "refusal": None,
                                "annotations": [],
                            },
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "service_tier": "default",
                    "system_fingerprint": "fp_0000000000",
                }
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL,
                "system_fingerprint": "fp_0000000000",
                "choices": choices,
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

        await send(delta({"role": "assistant", "content": "", "refusal": None}))
        for piece in re.findall(r"\S+\s*|\s+", text):  # a word at a time, like tokens
            await send(delta({"content": piece}))
            await asyncio.sleep(reply.piece_delay)
        await send(delta({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error(status: int, message: str, code: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "param": None, "code": code}},
        status=status,
    )


@asynccontextmanager
async def serving(fake: FakeLLM) -> AsyncIterator[FakeLLM]:
    async with on_loopback(fake.app()) as port:
        fake.base_url = f"http://127.0.0.1:{port}/v1"
        yield fake


class InThread:
    """The fake served from a thread of its own, for tests whose client is another process."""

    def __init__(self, fake: FakeLLM) -> None:
        import threading

        self.fake = fake
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with serving(self.fake):
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        self._ready.wait(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
