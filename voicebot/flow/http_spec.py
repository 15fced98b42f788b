"""The `http:` step of a state: the request a flow makes, and how its answer is read.

    lookup:
      say: "Let me look that up."
      http:
        method: GET
        url: "https://orders.example.com/api/orders/{{ slots.order }}"
        headers: {Authorization: "Bearer {{ env.ORDERS_TOKEN }}"}
        timeout: 3
        retries: 1
        save: {status: "order.status", eta: "order.deliveries[0].eta"}
      goto: tell                       # (or branch:) once the answer is in
      on_error: {say: "I can't reach our order system.", goto: agent}

The engine only describes the request (an `HttpCall` action) and reads the answer (an
`HttpResult` event); whoever runs the flow (`voicebot serve`, `chat`, `test`) sends it, with
the safety rules of voicebot/flow/http_client.py. `{{ env.NAME }}` is left for that
executor to fill from the environment, so a secret never sits in the flow, the call state
or the call record.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicebot.flow.actions import HttpCall
from voicebot.flow.templates import render

# order.status, items[0].eta, items.0.eta: names and list indexes, nothing else.
_PATH = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*$")
_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")
ENV = re.compile(r"\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class HttpSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    headers: dict[str, str] = {}
    json_: Any = Field(default=None, alias="json")
    timeout: float = Field(default=5.0, gt=0, le=30)
    retries: int = Field(default=0, ge=0, le=3)
    save: dict[str, str] = {}
    # Said while the caller waits, if the answer takes longer than `filler_after` seconds.
    filler: str | None = "One moment, please."
    filler_after: float = Field(default=1.5, ge=0)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        # A url may start with a template (a base url in vars); the executor checks the
        # scheme of what it renders to.
        if not re.match(r"^(https?://|\{\{)", value.strip(), re.IGNORECASE):
            raise ValueError("the url must start with http:// or https://")
        return value.strip()

    @field_validator("save")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not _PATH.match(path):
                raise ValueError(f"save {name}: bad path '{path}' (write e.g. "
                                 "'order.status' or 'items[0].name')")
        return value


def read_path(data: Any, path: str) -> Any:
    """The value at `path` in a JSON answer, or None where it is missing."""
    value = data
    for match in _STEP.finditer(path):
        name, index = match.groups()
        if index is not None or (isinstance(value, list) and name is not None
                                 and name.isdigit()):
            position = int(index if index is not None else name)
            value = value[position] if isinstance(value, list) and position < len(value) \
                else None
        else:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _fill(text: str, scope: dict[str, Any]) -> str:
    """Render a template, keeping `{{ env.NAME }}` for the executor."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    rendered = render(ENV.sub(keep, text), scope)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], rendered)


def _fill_json(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, scope)  # no env in a body: it may be echoed back or logged
    if isinstance(value, list):
        return [_fill_json(item, scope) for item in value]
    if isinstance(value, dict):
        return {key: _fill_json(item, scope) for key, item in value.items()}
    return value


def request(spec: HttpSpec, scope: dict[str, Any]) -> HttpCall:
    """The HttpCall action for `spec`, its templates filled from the call's scope."""
    return HttpCall(
        method=spec.method, url=_fill(spec.url, scope),
        headers={name: _fill(value, scope) for name, value in spec.headers.items()},
        json=_fill_json(spec.json_, scope), timeout=spec.timeout, retries=spec.retries,
        filler=render(spec.filler, scope) if spec.filler else None,
        filler_after=spec.filler_after,
    )
