"""A serving bot never builds the lexical index from every chunk on a question's path: with no
saved index (a new machine, a deleted or damaged file) it is built in the background while
questions are answered by meaning alone, then put in place and saved."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.core.question import parse
from bot.core.retrieval import HybridRetriever, LexicalIndex
from tests.conftest import MakeServices


def test_a_missing_index_is_built_off_the_question_s_path(make_services: MakeServices) -> None:
    services = make_services("data", seed=True)
    saved = Path(services.settings.data_dir) / "lexical-index.npz"
    saved.unlink(missing_ok=True)
    retriever = HybridRetriever(
        services.store, services.embeddings, services.assets, cache_dir=saved.parent
    )
    retriever.background = True
    release = threading.Event()
    build = retriever._build

    def slow_build(articles: dict) -> LexicalIndex:  # type: ignore[type-arg]
        release.wait(120)  # a 100k-chunk store takes seconds: here, until the test says
        return build(articles)

    retriever._build = slow_build  # type: ignore[method-assign]
    question = parse("why did ETH fall 14%?", services.assets)

    while_building = retriever.search(question)

    assert retriever.building()  # answered while the build still waits
    assert while_building.relevant and while_building.passages
    assert all(p.lexical_score in (None, 0.0) for p in while_building.passages)
    # With no index to ask, unknown names are judged by the passages found: still declined.
    made_up = retriever.search(parse("why did FOOBARCOIN crash?", services.assets))
    assert not made_up.relevant and "FOOBARCOIN" in made_up.reason
    nonsense = retriever.search(parse("why did zorblax crash the market?", services.assets))
    assert not nonsense.relevant and "zorblax" in nonsense.reason

    release.set()
    assert retriever._builder is not None
    retriever._builder.join(120)
    after = retriever.search(question)

    assert not retriever.building()
    assert any(p.lexical_score for p in after.passages)  # both sides rank again
    assert [p.chunk.id for p in after.passages][:1] == [
        p.chunk.id for p in services.retriever.search(question).passages
    ][:1]  # the same best passage as a retriever that built its index in the foreground


def test_without_serving_a_missing_index_is_built_before_the_first_answer(
    make_services: MakeServices,
) -> None:
    services = make_services("data", seed=True)  # a one-shot `marketbot ask`
    saved = Path(services.settings.data_dir) / "lexical-index.npz"
    saved.unlink(missing_ok=True)
    retriever = HybridRetriever(
        services.store, services.embeddings, services.assets, cache_dir=saved.parent
    )

    answer = retriever.search(parse("why did ETH fall 14%?", services.assets))

    assert not retriever.building() and any(p.lexical_score for p in answer.passages)
    assert saved.exists()
