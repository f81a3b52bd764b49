"""The two ways the bundled weights run: sentence-transformers on torch (the reference, and the
exporter) and the ONNX graph `make` exports from them (what a serving or asking process uses,
so it starts without importing torch). They must give the same vectors, rank a corpus the same
way, and a graph that is missing, damaged or wrong must never be used."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.core import embed
from bot.core.embed import MiniLMEmbeddings, export_onnx, onnx_path
from tests.news_files import GOOD_FILES

# Real shapes: headlines in several scripts, a question in slang, and whole fixture articles
# (longer than the model's 256 tokens, so both cut them in the same place).
TEXTS = [
    "why did ETH dump so hard today??",
    "Bitcoin slides below $90,000 as spot ETF outflows deepen",
    "La Fed maintient ses taux, le bitcoin recule de 3 %",
    "比特币跌破9万美元 以太坊下跌逾8%",
    "ビットコイン、9万ドル割れ　ETFから資金流出",
    "비트코인 9만 달러 붕괴…이더리움 8% 급락",
    "Биткоин опустился ниже $90 000 на фоне оттока из ETF",
    "🚀🚀 $PEPE +40% wen lambo",
    "",
]


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The graph make installed; exported here if this run skipped make's install step."""
    installed = onnx_path()
    if installed.is_file():
        return installed
    return export_onnx(tmp_path_factory.mktemp("onnx") / "minilm.onnx")


@pytest.fixture(scope="module")
def reference() -> MiniLMEmbeddings:
    return MiniLMEmbeddings(backend="sentence-transformers")


@pytest.fixture(scope="module")
def fast(graph: Path) -> MiniLMEmbeddings:
    return MiniLMEmbeddings(backend="onnx", graph=graph)


def articles() -> list[str]:
    texts = []
    for path in sorted(GOOD_FILES):
        if path.suffix in {".md", ".txt", ".html"}:
            texts.append(path.read_text(encoding="utf-8", errors="replace")[:6000])
    assert len(texts) >= 3
    return texts


def test_the_graph_gives_the_reference_vectors(
    fast: MiniLMEmbeddings, reference: MiniLMEmbeddings
) -> None:
    texts = TEXTS + articles()

    got, expected = fast.encode(texts), reference.encode(texts)

    assert fast.backend == "onnx" and reference.backend == "sentence-transformers"
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_both_rank_a_corpus_the_same_way(
    fast: MiniLMEmbeddings, reference: MiniLMEmbeddings
) -> None:
    corpus = articles() + TEXTS[1:8]
    questions = ["why did bitcoin fall?", "what happened to ether", "Binance delisting", "Fed"]

    for question in questions:
        by_graph = fast.encode(corpus) @ fast.encode([question])[0]
        by_reference = reference.encode(corpus) @ reference.encode([question])[0]
        assert list(np.argsort(-by_graph)) == list(np.argsort(-by_reference)), question


def test_without_a_graph_the_reference_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: MiniLMEmbeddings
) -> None:
    monkeypatch.setattr(embed, "onnx_path", lambda: tmp_path / "absent.onnx")

    encoder = MiniLMEmbeddings()

    assert encoder.backend == "sentence-transformers"
    np.testing.assert_allclose(encoder.encode(TEXTS), reference.encode(TEXTS), atol=1e-6)


@pytest.mark.parametrize("content", [b"", b"not a graph at all", b"\x08\x07" + os.urandom(4096)])
def test_a_damaged_graph_is_not_used_and_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    reference: MiniLMEmbeddings,
    content: bytes,
) -> None:
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(content)
    monkeypatch.setattr(embed, "onnx_path", lambda: damaged)

    with caplog.at_level(logging.WARNING, logger="bot.core.embed"):
        encoder = MiniLMEmbeddings()

    assert encoder.backend == "sentence-transformers"
    assert any(
        "unusable" in r.getMessage() and str(damaged) in r.getMessage() for r in caplog.records
    )
    np.testing.assert_allclose(encoder.encode(TEXTS[:3]), reference.encode(TEXTS[:3]), atol=1e-6)
    # Asked for by name, a damaged graph is an error, not a silent fallback.
    with pytest.raises(RuntimeError, match="unusable"):
        MiniLMEmbeddings(backend="onnx", graph=damaged)


def test_an_export_that_disagrees_with_the_reference_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "share" / "minilm.onnx"
    monkeypatch.setattr(embed, "EXPORT_TOLERANCE", -1.0)  # no graph can pass this check

    with pytest.raises(RuntimeError, match="differs from sentence-transformers"):
        export_onnx(target)

    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no partial file left behind either


def test_the_graph_sits_beside_the_installed_packages_named_after_its_weights() -> None:
    path = onnx_path()

    assert path.is_relative_to(Path(sys.prefix))
    assert path.suffix == ".onnx" and embed.MODEL_NAME in path.name
    assert onnx_path() == path  # the same weights, the same name
