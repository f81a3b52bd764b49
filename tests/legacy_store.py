"""A store as it was before ingestion cleaned what sources send: an article's title or outlet
rewritten, through the store's own commit, to hold what ingestion now removes or refuses (ESC
sequences, controls, bidi overrides, a date in the future), so that showing such data can be
tested."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bot.core.documents import Article


def store_uncleaned(services: Any, article_id: str, **fields: Any) -> Article:
    """Rewrite the stored article's `fields` (title=..., outlet=..., published_at=...) as they
    are given."""
    article = services.store.article(article_id)
    assert article is not None, article_id
    legacy = replace(article, **fields)
    vector = np.asarray(services.embeddings.encode([f"{legacy.title}\n{legacy.body}"]))
    services.store.commit([legacy], vector)
    services.retriever.invalidate()
    return legacy


# Run as a script (python -m tests.legacy_store DATA_DIR RECORDS FIELDS, both JSON), it
# ingests the records into the data dir the way the CLI opens it, then does the same to the
# one it stored.
if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    from bot.services import build_services
    from bot.settings import Settings

    services = build_services(Settings(data_dir=Path(sys.argv[1])))
    report = services.ingest_upload(sys.argv[2].encode(), "news.json", ingested_by="cli")
    [stored] = [a for a in services.sources() if a.ingested_by == "cli"]
    store_uncleaned(services, stored.id, **json.loads(sys.argv[3]))
    services.store.close()
