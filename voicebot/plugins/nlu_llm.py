"""NLU by a language model behind an OpenAI-compatible chat-completions endpoint.

The model is shown only the intents the current state accepts and the slot it is
collecting, and asked for JSON that a schema constrains to exactly those (llama.cpp's
server, vLLM, Ollama and OpenAI all honour `response_format`). Its answer is still
validated here: a model may ignore the schema, and an unknown intent must be no-match,
not a crash.

Latency budget: the model has `timeout` seconds (default 1.5) for a turn. On these
2-core machines no small model that ships in a package understands callers better than
the embeddings NLU (a 0.5B model scored 3 of 8 at 0.3-2.5 s a turn), so this plugin is for
people with a model server, and it never costs a turn: on time-out, an HTTP error or an
answer that is not the JSON asked for, the `fallback` NLU (the embeddings matcher by
default) answers the same turn. See docs/plugins.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from voicebot.nlu.entities import extract
from voicebot.nlu.normalize import words
from voicebot.plugins.base import Expectation, NLUResult, SlotSpec
from voicebot.plugins.nlu_embeddings import EmbeddingsNLU
from voicebot.plugins.nlu_examples import ExamplesNLU

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are the language understanding step of a telephone voicebot. Classify what the "
    "caller said into one of the allowed intents, or null when none fits. If a slot is "
    "being collected and the caller gave its value, return it in 'slot' (digits as a string "
    "of 0-9, numbers as numbers, yes/no as true/false, a choice as one of the choices). "
    "'confidence' is your probability (0 to 1) that the intent is right. Answer with JSON only."
)


class LLMError(RuntimeError):
    """The endpoint failed or answered something that is not the JSON asked for."""


def _slot_schema(slot: SlotSpec | None) -> dict[str, Any]:
    if slot is None:
        return {"type": "null"}
    kinds: dict[str, dict[str, Any]] = {
        "digits": {"type": ["string", "null"], "pattern": "^[0-9]*$"},
        "number": {"type": ["number", "null"]},
        "yes_no": {"type": ["boolean", "null"]},
        "choice": {"enum": [*slot.choices, None]},
        "text": {"type": ["string", "null"]},
    }
    return kinds.get(slot.type, {"type": ["string", "null"]})


def answer_schema(expectation: Expectation) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "intent": {"enum": [*(i.name for i in expectation.intents), None]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "slot": _slot_schema(expectation.slot),
        },
        "required": ["intent", "confidence", "slot"],
        "additionalProperties": False,
    }


def describe(expectation: Expectation, max_examples: int) -> str:
    lines = ["Allowed intents:"]
    for intent in expectation.intents:
        examples = "; ".join(intent.examples[:max_examples])
        lines.append(f"- {intent.name}" + (f" (e.g. {examples})" if examples else ""))
    slot = expectation.slot
    if slot is None:
        lines.append("No slot is being collected: 'slot' must be null.")
    else:
        extra = f" from {slot.choices}" if slot.choices else ""
        lines.append(f"Slot being collected: '{slot.name}' of type {slot.type}{extra}.")
    return "\n".join(lines)


def _valid_slot(slot: SlotSpec, value: Any) -> Any:
    """The slot value if it has the slot's type, else None (a model may answer anything)."""
    if value is None:
        return None
    if slot.type == "digits":
        digits = str(value).replace(" ", "")
        return digits if digits.isdigit() else None
    if slot.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if slot.type == "yes_no":
        return value if isinstance(value, bool) else None
    if slot.type == "choice":
        return value if value in slot.choices else None
    return value if isinstance(value, str) and value.strip() else None


class LLMNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "llm"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        base_url: str = Field(
            default="http://127.0.0.1:8080/v1", description="OpenAI-compatible API root."
        )
        model: str = Field(default="local", description="Model name sent in the request.")
        api_key_env: str | None = Field(
            default="OPENAI_API_KEY",
            description="Environment variable holding the bearer token (null: none sent).",
        )
        timeout: float = Field(
            default=1.5, gt=0,
            description="Seconds the model has for one turn (the request and any retry); "
            "after it the fallback NLU answers.",
        )
        fallback: Literal["embeddings", "examples"] | None = Field(
            default="embeddings",
            description="NLU that answers the turn when the model times out or fails; null "
            "to let the error end the turn (the flow's error prompt).",
        )
        response_format: Literal["json_schema", "json_object"] = Field(
            default="json_schema",
            description="json_schema constrains decoding; json_object for servers without it.",
        )
        threshold: float = Field(default=0.5, ge=0, le=1, description="No-match below this.")
        max_examples: int = Field(default=4, ge=0, description="Examples shown per intent.")
        temperature: float = Field(default=0.0, ge=0, le=2)

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()
        self._client_pair: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        self._format = self.options.response_format
        self._last_error: str | None = None
        self._fallback: EmbeddingsNLU | ExamplesNLU | None = None
        if self.options.fallback == "embeddings":
            self._fallback = EmbeddingsNLU()
        elif self.options.fallback == "examples":
            self._fallback = ExamplesNLU()
        self.fallbacks = 0  # turns the fallback answered
        self._ssl: ssl.SSLContext | bool = True

    def load(self) -> None:
        # The endpoint is checked by health(), not at start-up, so a model server that
        # starts after voicebot is not fatal; the fallback loads now, not on a call.
        if self._fallback is not None:
            self._fallback.load()
        # A first AsyncClient reads the CA bundle and imports its transport (0.2-1.3 s on
        # a loaded 2-core machine): pay that here, not inside a call's event loop.
        self._ssl = httpx.create_ssl_context()
        httpx.AsyncClient(verify=self._ssl)

    def prepare(self, expectations: Iterable[Expectation]) -> int:
        """The embeddings fallback readies every state at start-up: a turn that falls
        back has already waited for the model server."""
        prepare = getattr(self._fallback, "prepare", None)
        return int(prepare(expectations)) if callable(prepare) else 0

    def health(self) -> dict[str, object]:
        return {"ok": self._last_error is None, "endpoint": self.options.base_url,
                "last_error": self._last_error, "fallback": self.options.fallback,
                "fallbacks": self.fallbacks}

    def _client(self) -> httpx.AsyncClient:
        # An AsyncClient's pool belongs to one event loop; a bench or test may run several.
        # The loop itself is kept (not its id) so a new loop at a reused address is seen.
        loop = asyncio.get_running_loop()
        if self._client_pair is None or self._client_pair[0] is not loop:
            headers = {}
            key = os.environ.get(self.options.api_key_env) if self.options.api_key_env else None
            if key:
                headers["Authorization"] = f"Bearer {key}"
            client = httpx.AsyncClient(
                base_url=self.options.base_url.rstrip("/") + "/",
                timeout=self.options.timeout, headers=headers, verify=self._ssl,
            )
            self._client_pair = (loop, client)
        return self._client_pair[1]

    def _request(self, text: str, expectation: Expectation) -> dict[str, Any]:
        if self._format == "json_schema":
            fmt: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": "nlu", "strict": True,
                                "schema": answer_schema(expectation)},
            }
        else:
            fmt = {"type": "json_object"}
        return {
            "model": self.options.model,
            "temperature": self.options.temperature,
            "response_format": fmt,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT + "\n\n"
                 + describe(expectation, self.options.max_examples)},
                {"role": "user", "content": text.strip()},
            ],
        }

    async def _complete(self, text: str, expectation: Expectation) -> str:
        client = self._client()
        try:
            response = await client.post("chat/completions", json=self._request(text, expectation))
            if response.status_code == 400 and self._format == "json_schema":
                # Older servers reject json_schema; fall back once and remember.
                self._format = "json_object"
                response = await client.post(
                    "chat/completions", json=self._request(text, expectation)
                )
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"])
        except httpx.TimeoutException as exc:
            self._last_error = f"timed out after {self.options.timeout}s"
            raise LLMError(f"llm NLU: {self.options.base_url} {self._last_error}") from exc
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            raise LLMError(f"llm NLU: bad answer from {self.options.base_url}: {exc}") from exc

    async def parse(self, text: str, expectation: Expectation) -> NLUResult:
        try:
            return await asyncio.wait_for(self._ask(text, expectation), self.options.timeout)
        except (LLMError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                self._last_error = f"timed out after {self.options.timeout}s"
                exc = LLMError(f"llm NLU: {self.options.base_url} {self._last_error}")
            if self._fallback is None:
                raise exc from None
            self.fallbacks += 1
            log.warning("%s; the %s NLU answers this turn", exc, self.options.fallback)
            # The fallback is CPU work (an embedding): off the event loop.
            return await asyncio.to_thread(self._fallback.parse, text, expectation)

    async def _ask(self, text: str, expectation: Expectation) -> NLUResult:
        tokens = words(text, language=expectation.language)
        # Local extraction is exact for spoken digits and cheap; the model adds meaning.
        entities = extract(tokens, expectation.slot, expectation.language)
        if not tokens:
            return NLUResult(text, None, 0.0, entities)
        content = await self._complete(text, expectation)
        try:
            answer = json.loads(content)
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")  # noqa: TRY004 - handled just below
        except ValueError as exc:
            self._last_error = f"invalid JSON: {content[:80]!r}"
            raise LLMError(f"llm NLU: the model did not answer JSON: {content[:200]!r}") from exc
        self._last_error = None
        allowed = {i.name for i in expectation.intents}
        intent = answer.get("intent")
        try:
            confidence = min(max(float(answer.get("confidence", 0.0)), 0.0), 1.0)
        except (TypeError, ValueError):
            confidence = 0.0
        slot = expectation.slot
        if slot is not None:
            value = _valid_slot(slot, answer.get("slot"))
            if value is not None and slot.name not in entities:
                entities[slot.name] = value
                if slot.type == "choice":
                    entities["choice"] = value
        if intent not in allowed or confidence < self.options.threshold:
            filled = slot is not None and slot.name in entities
            return NLUResult(text, None, 1.0 if filled else confidence, entities)
        return NLUResult(text, intent, round(confidence, 3), entities)

    async def aclose(self) -> None:
        if self._client_pair is not None and self._client_pair[0] is asyncio.get_running_loop():
            await self._client_pair[1].aclose()
        self._client_pair = None
