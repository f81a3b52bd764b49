"""make bench: answer quality against a naive LangChain baseline, ingestion overhead, latency at
10k and 100k chunks, cold start and peak memory. Prints its figures; asserts nothing.

Reads ../shared/data when present (the CoinDesk export, the Yahoo Finance corpus); sections
whose data is missing say so and are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import lzma
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MARKETBOT_SHARED", ROOT.parent / "shared")) / "data" / "news"
CACHE = ROOT / "bench" / ".cache"
QUESTIONS = ROOT / "bench" / "questions"
REAL_VECTORS = 2000  # chunks of the scale corpus actually encoded (the rest reuse them, see below)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 10k/100k section")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts for latency")
    parser.add_argument(
        "--only-market", action="store_true", help="run only the market-figures section"
    )
    parser.add_argument(
        "--only-generated",
        action="store_true",
        help="run only the generated-answers section (needs MARKETBOT_LLM)",
    )
    parser.add_argument(
        "--only-adversarial",
        action="store_true",
        help="run only the adversarial section (hostile files, pages, feeds and questions)",
    )
    parser.add_argument(
        "--only-quality",
        action="store_true",
        help="run only the ingestion and answer-quality sections",
    )
    parser.add_argument(
        "--only-alerts",
        action="store_true",
        help="run only the alerts section (replay over the quality corpus, simulated live)",
    )
    parser.add_argument(
        "--only-scale",
        action="store_true",
        help="run only the 10k/100k latency, cold-start and memory section",
    )
    args = parser.parse_args()
    if args.only_scale:
        from bot.core.embed import MiniLMEmbeddings

        embeddings = MiniLMEmbeddings()
        for size in (int(s) for s in args.sizes.split(",")):
            scale(embeddings, size)
        return
    if args.only_quality:
        from bot.core.embed import MiniLMEmbeddings

        embeddings = MiniLMEmbeddings()
        services, _ = quality_store(embeddings)
        if services is not None:
            quality(services, embeddings)
        return
    if args.only_alerts:
        from bench import alerts
        from bench.engine_answers import build_store
        from bot.core.embed import MiniLMEmbeddings

        corpus = quality_corpus()
        services = build_store(
            CACHE / "quality", corpus, corpus_key(ROOT, corpus), MiniLMEmbeddings()
        )
        alerts.run(services)
        return
    if args.only_market:
        market_figures()
        return
    if args.only_generated:
        generated_answers()
        return
    if args.only_adversarial:
        from bench import adversarial

        adversarial.run()
        return

    from bot.core.embed import MiniLMEmbeddings

    print("marketbot benchmarks (2-core machine; figures are measured, not asserted)\n")
    embeddings = MiniLMEmbeddings()
    services, _ = quality_store(embeddings)
    if services is not None:
        quality(services, embeddings)
        guard_check(services)
        cold_start(services.settings.data_dir, "quality corpus")
        from bench import alerts

        alerts.run(services)
    if services is not None:
        asyncio.run(discord_concurrency(services))
    market_figures()
    generated_answers_in_a_process()
    from bench import adversarial

    adversarial.run(embeddings)
    if not args.skip_scale:
        for size in (int(s) for s in args.sizes.split(",")):
            scale(embeddings, size)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this bench process (model + every store above): {rss:.0f} MB")


# -- building stores ---------------------------------------------------------------------------


def build(data_dir: Path, embeddings: Any, *, fresh: bool) -> Any:
    from bench.engine_answers import services_for

    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    return services_for(data_dir, embeddings)


def quality_store(embeddings: Any) -> tuple[Any, float]:
    """The ingestion figures (the CoinDesk export into a fresh store, every run), then the
    quality corpus: the seed, the export, the daily briefs and the BlockWire rewrites, ingested
    once and reused while they and the ingestion code are unchanged."""
    from bench.engine_answers import build_store

    export = SHARED / "coindesk-api-2025-10-05.json"
    print("== ingestion (seed article + CoinDesk export, fresh store)")
    services = build(CACHE / "ingest", embeddings, fresh=True)
    if not export.exists():
        print(f"   skipped: {export} not found")
        return None, 0.0
    # Time spent inside the encoder during this very ingestion: the rest is its overhead.
    encoding = [0.0]
    encode = embeddings.encode

    def timed_encode(texts: list[str]) -> Any:
        started = time.perf_counter()
        try:
            return encode(texts)
        finally:
            encoding[0] += time.perf_counter() - started

    embeddings.encode = timed_encode
    try:
        report = services.ingest([export], ingested_by="bench")
    finally:
        del embeddings.encode
    print(
        f"   {report.stored} articles, {report.chunks} chunks in {report.seconds:.1f} s "
        f"({report.chunks / report.seconds:.1f} chunks/s); "
        f"{sum(f.duplicates for f in report.files)} duplicates skipped\n"
        f"   of which inside the encoder: {encoding[0]:.1f} s "
        f"({report.chunks / encoding[0]:.1f} chunks/s); everything else (reading, dedupe, "
        f"splitting, Chroma writes) {(1 - encoding[0] / report.seconds) * 100:.1f}% of the time"
    )
    started = time.perf_counter()
    again = services.ingest([export], ingested_by="bench")
    print(
        f"   re-ingesting the unchanged export: {again.stored} stored, "
        f"{time.perf_counter() - started:.1f} s"
    )
    rate = report.chunks / report.seconds
    ingestion_overhead(services, embeddings, rate)
    services.close()
    corpus = quality_corpus()
    print("== quality corpus: " + ", ".join(p.name for p in corpus))
    quality = build_store(CACHE / "quality", corpus, corpus_key(ROOT, corpus), embeddings)
    print(f"   {len(quality.sources())} articles\n")
    return quality, rate


def quality_corpus() -> list[Path]:
    """The corpora the answer-quality questions are asked over (those present)."""
    names = ["coindesk-api-2025-10-05.json", "daily-briefs", "blockwire-news-dev.jsonl"]
    return [SHARED / n for n in names if (SHARED / n).exists()]


# The code that decides what an ingested article's stored text and chunks are.
INGESTION_CODE = (
    *(f"bot/core/{m}.py" for m in ("text", "splitter", "ingest", "files", "store")),
    *(f"bot/core/{m}.py" for m in ("embed", "assets", "injection")),
    "bot/core/sources",
    "knowledge/articles",
    "knowledge/assets.json",
)


def corpus_key(root: Path, corpus: list[Path]) -> str:
    """Changes when the corpus files or the ingestion code under `root` change."""
    import hashlib

    digest = hashlib.sha256()
    for path in corpus:
        for item in sorted([path, *path.rglob("*")] if path.is_dir() else [path]):
            if item.is_file():
                digest.update(f"{item.name}:{item.stat().st_size}\n".encode())
    for part in INGESTION_CODE:
        base = root / part
        for item in sorted([base, *base.rglob("*")] if base.is_dir() else [base]):
            if item.is_file() and "__pycache__" not in item.parts:
                digest.update(item.read_bytes())
    return digest.hexdigest()


def ingestion_overhead(services: Any, embeddings: Any, ours: float) -> None:
    from bot.core.ingest import embedding_text

    # Exactly what ingestion encoded: every chunk's embedding text, in batches of the same size.
    texts = [
        embedding_text(article.title, chunk.text)
        for article in services.store.article_records(with_text=True)
        for chunk in services.ingestor.split(article)
    ]
    started = time.perf_counter()
    for start in range(0, len(texts), services.settings.ingest_batch_chunks):
        embeddings.encode(texts[start : start + services.settings.ingest_batch_chunks])
    bare = len(texts) / (time.perf_counter() - started)
    overhead = (bare - ours) / bare * 100
    print(
        f"   bare encoder re-run on the same {len(texts)} chunk texts: {bare:.1f} chunks/s; "
        f"ingestion {overhead:.1f}% slower (target < 15%; run-to-run noise on this shared "
        "2-core machine is several %)\n"
    )


# -- quality -----------------------------------------------------------------------------------


def load_questions(name: str) -> list[dict[str, Any]]:
    path = QUESTIONS / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def asked_on(question: dict[str, Any]) -> date | None:
    """The day a question was written as if asked ("today" in it means that day), if given."""
    day = question.get("asked_on")
    return date.fromisoformat(day) if day else None


def expected_id(question: dict[str, Any], seed_id: str) -> str | None:
    from bot.core.text import canonical_url, short_hash

    url = question.get("source_url")
    if not url:
        return None
    return seed_id if url == "seed" else short_hash(canonical_url(url))


def score(
    question: dict[str, Any], status: str, text: str, cited: set[str], seed_id: str
) -> tuple[float, float, float]:
    """(score, fact recall, source hit): 0.7 x facts found + 0.3 x right source cited."""
    if question["expect"] == "no_sources":
        ok = float(status == "no_sources")
        return ok, ok, ok
    if status != "answered":
        return 0.0, 0.0, 0.0
    lowered = text.lower()
    groups = question["facts"]
    recall = sum(any(a.lower() in lowered for a in g) for g in groups) / max(len(groups), 1)
    hit = float(expected_id(question, seed_id) in cited)
    return 0.7 * recall + 0.3 * hit, recall, hit


def move_right(question: dict[str, Any], window: dict[str, Any] | None) -> float | None:
    """For a question about a move with price data: 1 when the window the answer describes
    covers the move's day and goes the way the prices went (whatever the question claimed)."""
    move = question.get("move")
    if not move:
        return None
    if not window:
        return 0.0
    day = move["date"]
    covers = window["start"] <= day <= window["end"]
    way = (window["pct"] < 0) == (move["direction"] == "down")
    return float(covers and way)


QUESTION_SETS = ("dev", "heldout", "briefs-dev", "briefs-heldout")
# The answer engine before the move-first rewrite, for comparison.
OLD_ENGINE = "d55ae03"


def quality(services: Any, embeddings: Any) -> None:
    from langchain_chroma import Chroma

    from bench.engine_answers import answer_all

    seed_id = next(a.id for a in services.sources() if a.ingested_by == "bundled corpus")
    baseline = Chroma(
        client=services.store.client,
        collection_name=f"{services.settings.collection_prefix}_chunks",
        embedding_function=embeddings,
    )
    services.ask("warm up")
    sets = {n: load_questions(n) for n in QUESTION_SETS if (QUESTIONS / f"{n}.jsonl").exists()}
    old = old_engine_rows(sets)
    print(
        "== answer quality (score = 0.7 x expected facts found + 0.3 x right source cited;"
        " refusal questions score 1 when declined)\n"
        "   refused: refusal questions declined; wrongly: answerable ones declined;"
        " move: the window the answer describes is the price data's move (day and direction);"
        "\n   read: characters before the figures (answered only)"
    )
    for name, questions in sets.items():
        engines = {"marketbot": answer_all(services, questions)}
        if old is not None:
            engines[f"engine@{OLD_ENGINE}"] = old[name]
        engines["naive baseline"] = naive_rows(baseline, questions)
        for label, rows in engines.items():
            print_quality(name, label, questions, rows, seed_id)
    print(
        "   (dev and briefs-dev were used for tuning; heldout and briefs-heldout never were;"
        f" engine@{OLD_ENGINE} is the engine before the move-first rewrite)\n"
    )


def naive_rows(baseline: Any, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The naive LangChain baseline: the single nearest chunk, as is."""
    rows = []
    for q in questions:
        started = time.perf_counter()
        top = baseline.similarity_search(q["question"], k=1)
        ms = (time.perf_counter() - started) * 1000
        text = top[0].page_content if top else ""
        rows.append(
            {
                "id": q["id"],
                "status": "answered" if top else "no_sources",
                "answer": text,
                "read": len(text) if top else None,
                "cited": [str(top[0].metadata.get("article_id"))] if top else [],
                "window": None,
                "ms": ms,
            }
        )
    return rows


def print_quality(
    name: str,
    label: str,
    questions: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    seed_id: str,
) -> None:
    scored = [
        score(q, r["status"], r["answer"], set(r["cited"]), seed_id)
        for q, r in zip(questions, rows, strict=True)
    ]
    answerable = [
        (q, r, s)
        for q, r, s in zip(questions, rows, scored, strict=True)
        if q["expect"] == "answered"
    ]
    refusals = [r for q, r in zip(questions, rows, strict=True) if q["expect"] == "no_sources"]
    moves = [
        m
        for q, r in zip(questions, rows, strict=True)
        if (m := move_right(q, r["window"])) is not None
    ]
    refused = sum(r["status"] == "no_sources" for r in refusals)
    wrongly = sum(r["status"] != "answered" for _, r, _ in answerable)
    read = [float(r["read"]) for r in rows if r["read"] is not None]
    ms = [r["ms"] for r in rows]
    move = f"{statistics.mean(moves):.2f}" if moves and label != "naive baseline" else "  - "
    print(
        f"   {name:14s} {label:16s} score {statistics.mean(s[0] for s in scored):.3f}"
        f"  facts {mean_of([s for *_, s in answerable], 1):.2f}"
        f"  source {mean_of([s for *_, s in answerable], 2):.2f}"
        f"  refused {refused}/{len(refusals)}  wrongly {wrongly}/{len(answerable)}"
        f"  move {move}"
        f"  read p50 {pct(read, 50):.0f} p90 {pct(read, 90):.0f}"
        f"  latency p50 {pct(ms, 50):.0f} p95 {pct(ms, 95):.0f} ms"
        f"  ({len(questions)} q)"
    )


def old_engine_rows(
    sets: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]] | None:
    """The same questions answered by the engine at OLD_ENGINE, over the same corpus, in a
    process of its own (its code extracted from git). Kept between runs while the questions
    and the corpus are unchanged: that code never changes."""
    import hashlib

    corpus = quality_corpus()
    questions = [q for rows in sets.values() for q in rows]
    key = hashlib.sha256(
        json.dumps([OLD_ENGINE, questions, [str(p) for p in corpus]]).encode()
    ).hexdigest()[:16]
    cached = CACHE / f"old-engine-answers-{key}.json"
    if not cached.exists():
        code = CACHE / f"engine-{OLD_ENGINE}"
        if not (code / "bot").exists():
            code.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", OLD_ENGINE, "bot", "knowledge", "prompts"],
                capture_output=True,
                check=False,
            )
            if archive.returncode != 0:
                print(
                    f"   engine@{OLD_ENGINE}: skipped (git archive failed: "
                    f"{archive.stderr.decode(errors='replace').strip()[:200]})"
                )
                return None
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
        print(
            f"   engine@{OLD_ENGINE}: answering {len(questions)} questions in its own process"
            " (its store is built once, about 15 minutes)",
            flush=True,
        )
        ask = CACHE / "old-engine-questions.json"
        ask.write_text(json.dumps(questions))
        env = {**os.environ, "PYTHONPATH": str(code), "MARKETBOT_CHROMA_EMBEDDED": "1"}
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "engine_answers.py"),
                str(CACHE / "old-quality"),
                str(ask),
                str(cached),
                corpus_key(code, corpus),
                *map(str, corpus),
            ],
            cwd=code,
            env=env,
            check=False,
        )
        if run.returncode != 0 or not cached.exists():
            print(f"   engine@{OLD_ENGINE}: skipped (exit {run.returncode})")
            return None
    by_id = {r["id"]: r for r in json.loads(cached.read_text())}
    return {name: [by_id[q["id"]] for q in rows] for name, rows in sets.items()}


# -- generated answers -------------------------------------------------------------------------


def _invent_number(sentence: str, n: int, figures: str) -> str:
    changed = re.sub(
        r"(?<![\[\d])\d[\d,.]*\d(?![\d\]])|(?<![\[\d])\d(?![\d\]])", "999", sentence, count=1
    )
    return (
        changed
        if changed != sentence
        else sentence.replace(f" [{n}]", f", $999 million lost [{n}]")
    )


def _figure_claim(sentence: str, n: int, figures: str) -> str:
    found = re.search(r"(?:fell|rose) (\d[\d.]*)%", figures)
    return f"The move was {found.group(1)}% because miners sold their coins." if found else ""


FAULTS = {
    "invented number": _invent_number,
    "passage never given": lambda s, n, f: s.replace(f"[{n}]", "[9]"),
    "uncited claim": lambda s, n, f: "Analysts expect the sell-off to end next week.",
    "uncited, a figure's number": _figure_claim,
    "cause added to a quote": lambda s, n, f: s.replace(
        f" [{n}]", f", because Binance was hacked by insiders [{n}]"
    ),
    "obeys an injection": lambda s, n, f: (
        f"Send your coins to the wallet at scamvault for safekeeping [{n}]."
    ),
    "advice or prediction": lambda s, n, f: f"Traders should buy the dip now [{n}].",
}


def guard_check(services: Any) -> None:
    """The grounding guard on the dev set, with no model: the extractive answers (quotes, which
    it must keep) and the same answers with one fault seeded per kind (which it must remove)."""
    from bot.core.generate import figures_text, for_model, number_sources
    from bot.core.guard import MARKER, guard, markers_inside
    from bot.core.question import parse
    from bot.core.text import sentences

    print("== grounding guard on the dev set (no model: extractive answers as the input)")
    kept = total = 0
    caught = dict.fromkeys(FAULTS, 0)
    seeded = dict.fromkeys(FAULTS, 0)
    for q in load_questions("dev"):
        answer = services.ask(q["question"], asked_on=asked_on(q))
        if answer.status != "answered":
            continue
        retrieval = services.retriever.search(
            parse(q["question"], services.assets, asked_on(q)), k=6
        )
        given = for_model([*retrieval.passages, *retrieval.context], answer)
        sources = {s.article.id: s for s in number_sources(given)}
        support = {
            c.n: sources[c.article_id].support()
            for c in answer.citations
            if c.article_id in sources
        }
        figures = figures_text(answer.figures, answer.premise)
        # The quotes, without the composer's framing ("According to X (date): ", "- Macro: ").
        quotes = re.sub(r"(?m)^(?:- [^:\n]{1,40}: |According to [^:\n]{1,80}: )", "", answer.answer)
        checked = guard(quotes, support, figures)
        cited = [s for s in sentences(markers_inside(quotes)) if MARKER.search(s)]
        total += len(cited)
        kept += len(cited) - sum(bool(MARKER.search(r.sentence)) for r in checked.removed)
        for sentence in cited[:1]:
            n = int(MARKER.findall(sentence)[0])
            for kind, fault in FAULTS.items():
                faulty = fault(sentence, n, figures)
                if not faulty or faulty == sentence:
                    continue
                seeded[kind] += 1
                caught[kind] += bool(guard(faulty, support, figures).removed)
    print(f"   clean cited sentences kept: {kept}/{total} ({kept / max(total, 1):.0%})")
    for kind, count in caught.items():
        print(f"   seeded fault caught, {kind:26s}: {count}/{seeded[kind]}")
    print("   (a quote from beyond the part of an article the model is given counts as not kept:")
    print("   a model could not have cited it either)\n")


def generated_answers_in_a_process() -> None:
    """The LLM section in a process of its own: the other sections run offline, and offline
    mode cannot be lifted inside a process."""
    if not os.environ.get("MARKETBOT_LLM"):
        print("== generated answers: skipped (MARKETBOT_LLM is not set; see README)\n")
        return
    subprocess.run([sys.executable, "-m", "bench", "--only-generated"], check=False)


def generated_answers() -> None:
    """The dev questions through the configured model: which path each answer took, what the
    guard removed, the score against the extractive answers, and the latency."""
    from bot.settings import Settings

    print("== generated answers on the dev set")
    settings = Settings(_env_file=None)
    if not settings.llm:
        print("   skipped: MARKETBOT_LLM is not set\n")
        return
    from bot.services import build_services

    data_dir = CACHE / "quality"
    if not data_dir.exists():
        print("   skipped: run the full bench once to build the quality corpus\n")
        return
    services = build_services(
        Settings(_env_file=None, data_dir=data_dir, exchanges=[], llm_daily_calls=100_000),
        seed=False,
    )
    assert services.generator is not None
    seed_id = next(a.id for a in services.sources() if a.ingested_by == "bundled corpus")
    extractive_only = dataclasses.replace(services, generator=None)
    paths: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    generated: list[float] = []
    extractive: list[float] = []
    ms: list[float] = []
    calls = 0

    def scored(q: dict[str, Any], answer: Any) -> float:
        cited = {c.article_id for c in answer.citations}
        return score(q, answer.status, answer.answer, cited, seed_id)[0]

    for q in load_questions("dev"):
        extractive.append(scored(q, extractive_only.ask(q["question"], asked_on=asked_on(q))))
        started = time.perf_counter()
        answer = services.ask(q["question"], place="bench", asked_on=asked_on(q))
        ms.append((time.perf_counter() - started) * 1000)
        generated.append(scored(q, answer))
        paths[answer.path] += 1
        for removal in (answer.generation or {}).get("removed", ()):
            reasons[re.sub(r"\d[\d,.]*|\[\d+\]", "N", removal["reason"])] += 1
        calls += (answer.generation or {}).get("calls", 0)
    print(f"   model {settings.llm}: {calls} calls for {len(ms)} questions")
    print("   answers shown: " + ", ".join(f"{k} {v}" for k, v in sorted(paths.items())))
    print(f"   guard removals: {reasons.total()}")
    for kind, count in reasons.most_common():
        print(f"      {count:4d}  {kind}")
    print(
        f"   score generated {statistics.mean(generated):.3f}"
        f" vs extractive {statistics.mean(extractive):.3f}"
        f"; latency p50 {pct(ms, 50):.0f} ms p95 {pct(ms, 95):.0f} ms\n"
    )


def mean_of(rows: list[tuple[float, float, float]], index: int) -> float:
    return statistics.mean(r[index] for r in rows) if rows else float("nan")


def pct(values: list[float], p: int) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


# -- scale -------------------------------------------------------------------------------------


def scale_texts() -> list[dict[str, Any]]:
    """Real articles for the scale corpus: Yahoo Finance full texts, one per URL."""
    from bot.core.text import canonical_url

    records: dict[str, dict[str, Any]] = {}
    for path in sorted((SHARED / "yahoo-finance").glob("*_processed.json.xz")):
        with lzma.open(path) as stream:
            rows = json.loads(stream.read())
        for row in rows:
            if row.get("maintext") and row.get("url"):
                records.setdefault(
                    canonical_url(row["url"]),
                    {
                        "title": row.get("title"),
                        "body": row["maintext"],
                        "url": row["url"],
                        "published_at": row.get("date_publish"),
                        "source": row.get("source_domain"),
                    },
                )
    return list(records.values())


def scale_chunks(services: Any, size: int) -> Iterator[tuple[Any, list[Any], list[str]]]:
    """(article, chunks, embedding texts) until `size` chunks, in a fixed order. Past the
    corpus's end its articles come again under new URLs (?copy=N), so ids stay distinct."""
    from bot.core.ingest import embedding_text
    from bot.core.sources.records import record_to_document

    records = scale_texts()
    seen: set[str] = set()
    produced = copy = 0
    while records and produced < size:
        for record in records:
            url = f"{record['url']}?copy={copy}" if copy else record["url"]
            article = services.ingestor.to_article(
                record_to_document({**record, "url": url}, "bench"), ingested_by="bench"
            )
            if article.id in seen:  # two URLs that normalise to one
                continue
            seen.add(article.id)
            chunks = services.ingestor.split(article)[: size - produced]
            yield article, chunks, [embedding_text(article.title, c.text) for c in chunks]
            produced += len(chunks)
            if produced >= size:
                return
        copy += 1


def real_vectors(services: Any, embeddings: Any) -> np.ndarray:
    """Encodings of the scale corpus's first REAL_VECTORS chunks, cached between runs."""
    path = CACHE / f"real-vectors-{REAL_VECTORS}.npy"
    if path.exists():
        return np.load(path)
    texts = [t for _, _, ts in scale_chunks(services, REAL_VECTORS) for t in ts]
    started = time.perf_counter()
    vectors = embeddings.encode(texts)
    print(f"   encoded {len(texts):,} real chunks in {time.perf_counter() - started:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def build_scale_store(services: Any, embeddings: Any, size: int) -> int:
    """Write `size` chunks of real text. Encoding 100k chunks takes about an hour on two
    cores, so only the first REAL_VECTORS are encoded; the others reuse those encodings with
    noise. Search cost depends on the count and dimension of the vectors, not on where they
    came from; the texts, the BM25 index and every other cost are real."""
    from dataclasses import replace

    real = real_vectors(services, embeddings)
    rng = np.random.default_rng(7)
    written = 0
    batch: list[tuple[Any, list[Any], np.ndarray]] = []

    def flush() -> None:
        articles = [a for a, _, _ in batch]
        chunks = [c for _, cs, _ in batch for c in cs]
        vectors = np.vstack([v for _, _, v in batch])
        article_vectors = np.vstack([v[:1] for _, _, v in batch])
        services.store.begin(articles, article_vectors, known=set())
        services.store.write_chunks(chunks, vectors)
        services.store.commit(articles, article_vectors)
        batch.clear()

    for article, chunks, _ in scale_chunks(services, size):
        if not chunks:
            continue
        if written + len(chunks) <= len(real):
            vectors = real[written : written + len(chunks)]
        else:
            base = real[rng.integers(0, len(real), len(chunks))]
            noisy = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
            vectors = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        batch.append((replace(article, n_chunks=len(chunks)), chunks, vectors))
        written += len(chunks)
        if sum(len(cs) for _, cs, _ in batch) >= 2000:
            flush()
    if batch:
        flush()
    return written


def scale(embeddings: Any, size: int) -> None:
    print(f"== latency at {size:,} chunks")
    if not (SHARED / "yahoo-finance").exists():
        print(f"   skipped: {SHARED / 'yahoo-finance'} not found")
        return
    data_dir = CACHE / f"scale-{size}"
    marker = data_dir / "built.json"
    services = build(data_dir, embeddings, fresh=not marker.exists())
    if not marker.exists():
        started = time.perf_counter()
        written = build_scale_store(services, embeddings, size)
        marker.write_text(json.dumps({"chunks": written, "real_vectors": REAL_VECTORS}))
        print(
            f"   built in {time.perf_counter() - started:.0f} s: Yahoo Finance article texts "
            f"(repeated under new URLs once used up); the first {REAL_VECTORS:,} vectors "
            "encoded, the rest those encodings plus noise (see build_scale_store)"
        )
        services.retriever.invalidate()
    started = time.perf_counter()
    services.retriever.load()
    print(
        f"   store holds {services.store.chunk_count():,} chunks "
        f"({len(services.retriever.articles):,} articles); in-memory index load "
        f"{time.perf_counter() - started:.1f} s"
    )
    questions = [q["question"] for q in load_questions("dev") + load_questions("heldout")]
    services.ask("warm up")
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(2):
        for question in questions:
            started = time.perf_counter()
            answer = services.ask(question)
            latencies.append((time.perf_counter() - started) * 1000)
            for stage, ms in answer.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
    print(
        f"   warm per-question latency over {len(latencies)} asks: "
        f"p50 {pct(latencies, 50):.1f} ms, p95 {pct(latencies, 95):.1f} ms "
        "(target at 100k: p50 < 60, p95 < 150)"
    )
    print(
        "   of it, p50 (p95) per stage: "
        + ", ".join(
            f"{stage} {pct(ms, 50):.1f} ({pct(ms, 95):.1f})"
            for stage, ms in stages.items()
            if stage != "total"
        )
        + " ms"
    )
    after_ingest(services, questions, pct(latencies, 50))
    cold_start(data_dir, f"{size:,} chunks")


def after_ingest(services: Any, questions: list[str], warm_p50: float, tries: int = 5) -> None:
    """The first answer after ingesting 10 articles (what a feed poll does), next to a warm
    one: the lexical index is updated with the new chunks, not rebuilt. The articles are
    forgotten after each try, so the cached store keeps its size."""
    import random

    rng = random.Random(7)
    vocabulary = (
        "bitcoin ether solana miners hashrate exchange outflows inflows funding leverage "
        "stablecoin treasury custody validators upgrade liquidations futures options basis "
        "regulators approval listing delisting rally slide rebound volatility whales"
    ).split()
    firsts: list[float] = []
    for attempt in range(tries):
        for n in range(10):
            sentences = [
                " ".join(rng.choice(vocabulary) for _ in range(12)).capitalize() + "."
                for _ in range(8)
            ]
            services.ingest_text(
                f"Benchwire {attempt}-{n}: {rng.choice(vocabulary)} {rng.randint(1, 10**9)}",
                f"Report {rng.randint(1, 10**12)}. " + " ".join(sentences),
                ingested_by="bench",
            )
        started = time.perf_counter()
        services.ask(questions[attempt % len(questions)])
        firsts.append((time.perf_counter() - started) * 1000)
        for article in services.sources("Benchwire"):
            services.forget(article.id)
        services.ask("warm up")  # takes the forgetting in
    print(
        f"   first answer after ingesting 10 articles: p50 {pct(firsts, 50):.0f} ms, max "
        f"{max(firsts):.0f} ms over {tries} tries (a warm answer: p50 {warm_p50:.1f} ms)"
    )


async def discord_concurrency(services: Any, count: int = 50) -> None:
    """`count` /ask interactions at once, through discord.py's dispatch, against the local
    fake of Discord's REST API used by the tests: when each was acknowledged and answered."""
    from bot.client import make_bot
    from tests.discord_fake import GOOD_TOKEN, FakeDiscord, ask_interaction, serving

    print(f"== Discord: {count} concurrent /ask interactions (local fake of Discord's API)")
    questions = [q["question"] for q in load_questions("dev") if q["expect"] == "answered"]
    bot = make_bot(services)
    async with serving(FakeDiscord()) as fake:
        try:
            await bot.login(GOOD_TOKEN)
            started = asyncio.get_running_loop().time()
            for n in range(count):
                # DMs from distinct users: the per-user and per-server limits would otherwise
                # refuse most.
                fake.interact(
                    bot,
                    ask_interaction(
                        questions[n % len(questions)],
                        guild=False,
                        interaction_id=str(1650000000000000000 + n),
                        user_id=str(1450000000000000000 + n),
                    ),
                )
            answered = "/messages/@original"
            while len(fake.made("PATCH", answered)) < count:
                if asyncio.get_running_loop().time() - started > 300:
                    break
                await asyncio.sleep(0.05)
            acks = [r.at - started for r in fake.made("POST", "/callback")]
            answers = [r.at - started for r in fake.made("PATCH", answered)]
            within = sum(a < 3.0 for a in acks)
            print(
                f"   acknowledged within 3 s: {within}/{count}; acknowledgement p50 "
                f"{pct(acks, 50) * 1000:.0f} ms, p95 {pct(acks, 95) * 1000:.0f} ms; answered "
                f"{len(answers)}/{count}, answer p50 {pct(answers, 50):.2f} s, "
                f"p95 {pct(answers, 95):.2f} s (all dispatched at once)"
                + (f"; {len(fake.violations)} broke Discord's rules" if fake.violations else "")
                + "\n"
            )
        finally:
            await bot.close()


# The child reports its own peak RSS (VmHWM, kB): getrusage's maxrss would include the bench
# process's pages, which a forked child holds until it execs and keeps counting after.
_REPORTING_CLI = """
import runpy, sys
sys.argv = ["marketbot", *sys.argv[1:]]
try:
    runpy.run_module("bot", run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    print("MAXRSS", peak, file=sys.stderr)
"""


def market_figures(runs: int = 30) -> None:
    """What an answer's figures cost: from the snapshot only, live on a cold start (market
    lists, ticker, perpetual, candles), live with a warm cache, and live with every quote asked
    again; against the local exchange server the tests use (Binance's API on 127.0.0.1)."""
    from datetime import date

    from bot.core.assets import AssetTable
    from bot.core.question import parse
    from bot.services import build_market
    from bot.settings import Settings
    from tests.exchange_fake import FakeExchange

    print("== market figures for one answer (local Binance-API server on 127.0.0.1)")
    assets = AssetTable.load(ROOT / "knowledge" / "assets.json")
    question = parse("why did ETH fall 14%?", assets)
    cited = [date(2025, 11, 5)]

    def timed(market: Any) -> float:
        started = time.perf_counter()
        figures, premise = market.for_answer(question, cited, None, 1.5)
        assert premise is not None and figures
        return (time.perf_counter() - started) * 1000

    def settings(**values: Any) -> Any:
        return Settings(_env_file=None, data_dir=CACHE / "market", offline=True, **values)

    with FakeExchange("binance") as exchange:
        live = {"exchanges": ["binance"], "exchange_urls": {"binance": exchange.base_url}}
        rows: list[tuple[str, list[float], int]] = []
        snapshot = build_market(settings(exchanges=[]), assets)
        rows.append(("snapshot only (no exchange)", [timed(snapshot) for _ in range(runs)], 0))
        cold: list[float] = []
        asked = len(exchange.requests)
        for _ in range(runs // 3):
            market = build_market(settings(**live), assets)
            cold.append(timed(market))
            market.live.close()
        rows.append(("live, cold (new process state)", cold, len(exchange.requests) - asked))
        warm_market = build_market(settings(**live, quote_ttl=3600), assets)
        timed(warm_market)
        asked = len(exchange.requests)
        rows.append(
            (
                "live, warm cache (within TTL)",
                [timed(warm_market) for _ in range(runs)],
                len(exchange.requests) - asked,
            )
        )
        warm_market.live.close()
        fresh_market = build_market(settings(**live, quote_ttl=0), assets)
        timed(fresh_market)
        asked = len(exchange.requests)
        rows.append(
            (
                "live, markets loaded, quote asked again",
                [timed(fresh_market) for _ in range(runs)],
                len(exchange.requests) - asked,
            )
        )
        fresh_market.live.close()
    for label, values, requests in rows:
        print(
            f"   {label:42s} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms"
            f"  ({len(values)} runs, {requests} exchange requests)"
        )
    print("   (a question waits for live data at most MARKETBOT_LIVE_TIMEOUT = 1.5 s in all)")


def cold_start(data_dir: Path, label: str) -> None:
    """A new `marketbot ask` process: load the model and the store, answer, exit."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _REPORTING_CLI,
            "--data-dir",
            str(data_dir),
            "ask",
            "--json",
            "why did ETH fall 14%?",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MARKETBOT_OFFLINE": "1"},
        check=False,
    )
    seconds = time.perf_counter() - started
    status = json.loads(result.stdout)["status"] if result.returncode == 0 else result.stderr[-200:]
    peak = next(
        (
            int(line.split()[1]) / 1024
            for line in result.stderr.splitlines()
            if line.startswith("MAXRSS")
        ),
        float("nan"),
    )
    print(
        f"   cold start to first answer ({label}): {seconds:.1f} s [{status}]; "
        f"that process's peak RSS {peak:.0f} MB\n"
    )


if __name__ == "__main__":
    main()
