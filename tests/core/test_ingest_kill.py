"""An ingestion process killed with SIGKILL in the middle of writing, then run again, ends with
exactly the articles and chunks of an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ["Bitcoin", "Ether", "Solana", "XRP", "Dogecoin", "Cardano", "BNB", "Litecoin"]
CAUSES = [
    "ETF outflows",
    "a liquidation cascade",
    "a hawkish Fed",
    "an exchange hack",
    "a token unlock",
    "whale selling",
    "a network outage",
    "record inflows",
]


def _corpus(path: Path, articles: int = 24) -> Path:
    """Distinct articles, each long enough for two chunks, as JSON Lines."""
    rng = random.Random(11)
    with path.open("w", encoding="utf-8") as out:
        for i in range(articles):
            asset, cause = ASSETS[i % len(ASSETS)], CAUSES[(i * 3) % len(CAUSES)]
            body = " ".join(
                f"Report {i}.{j}: {asset} moved {rng.randint(1, 30)}.{rng.randint(0, 9)}% as "
                f"traders weighed {cause} and {rng.randint(100, 999)} million dollars traded."
                for j in range(10)
            )
            out.write(
                json.dumps(
                    {
                        "title": f"{asset} story number {i}",
                        "body": body,
                        "url": f"https://news.example/{i}",
                        "published_at": f"2025-11-{1 + i % 28:02d}",
                        "source": "Example Wire",
                    }
                )
                + "\n"
            )
    return path


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "MARKETBOT_OFFLINE": "1",
        "MARKETBOT_INGEST_BATCH_CHUNKS": "4",
        "MARKETBOT_LOG_LEVEL": "INFO",
    }


def _ingest(data_dir: Path, corpus: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", "--json", str(corpus)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


def _contents(data_dir: Path) -> tuple[dict[str, str], set[str]]:
    """(article id -> state, chunk ids) as stored on disk."""
    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    articles = client.get_collection("marketbot_articles").get(include=["metadatas"])
    chunks = client.get_collection("marketbot_chunks").get(include=[])
    states = {
        i: str(m["state"])
        for i, m in zip(articles["ids"], articles["metadatas"] or [], strict=True)
    }
    return states, set(chunks["ids"])


def test_an_ingestion_killed_mid_write_and_run_again_matches_a_clean_run(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl")
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    _ingest(clean_dir, corpus)
    clean_articles, clean_chunks = _contents(clean_dir)

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(killed_dir), "ingest", str(corpus)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    # Kill it after a random number of committed batches of this corpus, mid-way through.
    kill_after = random.Random().randint(1, 8)
    stored = 0
    for line in process.stderr:
        if "stored" in line and "articles" in line:
            stored += 1
            if stored == kill_after + 1:  # the bundled seed article is the first batch
                time.sleep(random.random() * 0.2)
                process.kill()
                break
    process.wait(timeout=60)
    assert process.returncode != 0, "the ingestion finished before it could be killed"
    partial_articles, _ = _contents(killed_dir)
    assert 0 < sum(s == "complete" for s in partial_articles.values()) < len(clean_articles)

    _ingest(killed_dir, corpus)
    killed_articles, killed_chunks = _contents(killed_dir)
    assert killed_articles == clean_articles
    assert set(killed_articles.values()) == {"complete"}
    assert killed_chunks == clean_chunks
