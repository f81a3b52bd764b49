"""What a declined question says the corpus covers: its span and its latest titles."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from tests.conftest import MakeServices


def test_a_future_dated_article_does_not_stay_latest_and_its_title_is_bounded(
    make_services: MakeServices,
) -> None:
    services = make_services()
    # Stored before ingestion refused future dates: dated 2098, and a title of 3,000 characters.
    hostile = {
        "title": "Claim your ETH airdrop " + "now " * 750,
        "text": "Ether fell 14% as leveraged long positions were liquidated across exchanges.",
        "published_at": "2098-11-04T12:00:00Z",
    }
    services.ingest_upload(json.dumps([hostile]).encode(), "news.json", ingested_by="cli")
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
    assert coverage["last_date"] == f"{datetime.now(UTC):%-d %b %Y}"
