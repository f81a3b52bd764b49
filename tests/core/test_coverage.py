"""What a declined question says the corpus covers: its span and its latest titles."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.conftest import MakeServices
from tests.legacy_store import store_uncleaned


def test_a_future_dated_article_does_not_stay_latest_and_its_title_is_bounded(
    make_services: MakeServices,
) -> None:
    services = make_services()
    services.ingest_text(
        "Claim your ETH airdrop",
        "Ether fell 14% as leveraged long positions were liquidated across exchanges.",
        ingested_by="cli",
    )
    [hostile] = services.sources()
    # As stored before ingestion refused future dates: dated 2098, with a 3,000-character title.
    store_uncleaned(
        services,
        hostile.id,
        title="Claim your ETH airdrop " + "now " * 750,
        published_at=datetime(2098, 11, 4, 12, tzinfo=UTC),
    )
    time.sleep(1.1)  # stored times are whole seconds: the next article is stored later
    services.ingest_text(
        "Bitcoin steadies after the sell-off",
        "Bitcoin steadied on Wednesday after a sell-off that liquidated leveraged positions.",
        ingested_by="cli",
    )

    coverage = services.retriever.coverage()

    latest = coverage["recent_titles"]
    assert latest.startswith("Latest: \u201cBitcoin steadies after the sell-off\u201d; ")
    assert "Claim your ETH airdrop" in latest and len(latest) < 250
    # The day it was stored, not 2098 (asked around midnight UTC, either side of it).
    stored = {f"{a.ingested_at:%-d %b %Y}" for a in services.sources()}
    assert coverage["last_date"] in stored
