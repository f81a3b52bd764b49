"""Answers to the bench's question sets from one version of the engine, as JSON rows.

Imported by the bench for the current engine, and run as a script with an older checkout first
on sys.path to answer the same questions with that engine (`python -m bench` compares them).
Uses only what every version since the first answer engine has: `build_services`, `Settings`,
`Services.ingest` and `Services.ask`, and `render.explanation`.

    python bench/engine_answers.py DATA_DIR QUESTIONS_JSON OUT_JSON KEY CORPUS_PATH...
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any


def answer_all(services: Any, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per question: status, text, what a user reads before the figures, the cited
    article ids, the window the answer describes and the time it took."""
    from bot.render import explanation

    accepts = inspect.signature(services.ask).parameters
    rows = []
    for q in questions:
        kwargs: dict[str, Any] = {}
        if q.get("asked_on") and "asked_on" in accepts:
            kwargs["asked_on"] = date.fromisoformat(q["asked_on"])
        if q.get("follow_up_to"):
            kwargs["follow_up_to"] = q["follow_up_to"]
        started = time.perf_counter()
        answer = services.ask(q["question"], **kwargs)
        ms = (time.perf_counter() - started) * 1000
        window = getattr(answer, "window", None)
        old = isinstance(answer.premise, dict)  # engines before typed premises gave dicts
        if window is None and old and answer.premise and answer.premise.get("windows"):
            window = answer.premise["windows"][0]  # engines before the lead: the first window
        rows.append(
            {
                "id": q["id"],
                "status": answer.status,
                "answer": answer.answer,
                "lead": getattr(answer, "lead", None),
                "read": len(explanation(answer)) if answer.status == "answered" else None,
                "cited": [c.article_id for c in answer.citations],
                "window": window,
                "ms": ms,
            }
        )
    return rows


def services_for(data_dir: Path, embeddings: Any = None) -> Any:
    """Services on `data_dir`: never the developer's .env, and never the network (the bench
    reads local files only)."""
    from bot.services import build_services
    from bot.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir, offline=True, llm=None)
    if embeddings is None:  # (an older engine's build_services may not take one)
        return build_services(settings)
    return build_services(settings, embeddings=embeddings)


def build_store(data_dir: Path, corpus: list[Path], key: str, embeddings: Any = None) -> Any:
    """The services over `corpus` in `data_dir`, ingested once: reused while `key` (what
    was ingested, and by which code) is unchanged."""
    stamp = data_dir / "bench-corpus-key"
    fresh = not (stamp.exists() and stamp.read_text() == key)
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    services = services_for(data_dir, embeddings)
    if fresh:
        for path in corpus:
            started = time.perf_counter()
            report = services.ingest([path], ingested_by="bench")
            print(
                f"   {path.name}: {report.stored} articles, {report.chunks} chunks"
                f" in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        stamp.write_text(key)
    return services


def main() -> None:
    data_dir, questions_path, out = (Path(a) for a in sys.argv[1:4])
    corpus = [Path(a) for a in sys.argv[5:]]
    key = sys.argv[4]
    services = build_store(data_dir, corpus, key)
    questions = json.loads(questions_path.read_text())
    services.ask("warm up")
    out.write_text(json.dumps(answer_all(services, questions)))
    if hasattr(services, "close"):
        services.close()


if __name__ == "__main__":
    main()
