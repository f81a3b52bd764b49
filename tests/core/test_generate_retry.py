"""Which model-call failures are retried: only those that got no answer, or HTTP 429/5xx."""

from __future__ import annotations

import httpx
import openai
import pytest

from bot.core.generate import BudgetSpent, _transient


class Status(Exception):
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class Coded(Exception):
    """An SDK error that carries the HTTP status as `code` (google-genai's shape)."""

    def __init__(self, code: int) -> None:
        self.code = code


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TimeoutError("the answer took over 20 s"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (openai.APIConnectionError(request=REQUEST), True),
        (openai.APITimeoutError(request=REQUEST), True),
        (httpx.ReadTimeout("read", request=REQUEST), True),
        (Status(429), True),
        (Status(503), True),
        (Status(400), False),
        (Status(401), False),
        (httpx.HTTPStatusError("bad gateway", request=REQUEST, response=httpx.Response(502)), True),
        (
            httpx.HTTPStatusError("bad request", request=REQUEST, response=httpx.Response(400)),
            False,
        ),
        (Coded(503), True),
        (Coded(404), False),
        (KeyError("choices"), False),  # a bug, or a reply of an unexpected shape
        (ValueError("bad template"), False),
        (BudgetSpent(), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_a_call_that_got_no_answer_or_a_429_or_5xx_is_retried(
    error: BaseException, retried: bool
) -> None:
    assert _transient(error) is retried
