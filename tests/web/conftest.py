"""The local news site every web test fetches from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.site import LocalSite


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as running:
        yield running
