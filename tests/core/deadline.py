"""A time bound for tests of hostile input: a regression fails the test instead of hanging it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class TookTooLong(BaseException):
    """Not an Exception: code under test that turns any Exception into a problem line must
    not swallow the expired bound."""


@contextmanager
def finishes_within(seconds: float, what: str) -> Iterator[None]:
    """Fail if the block runs longer than `seconds`. A timer signal interrupts a regex match,
    a blocking open() of a FIFO or a read() alike (main thread only, which is where pytest
    runs tests)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TookTooLong(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
