"""Ringover webhooks on the wire: the envelope, its aliases, and the JWT signature.

Ringover posts `{event, resource, timestamp, attempt, data}`. Integration guides also
show a flatter, older vocabulary (`incoming_call`, `caller_number`, ...); both are
normalised here to one shape, so nothing past this module knows there were two.

The signature is a JWT (HS512, the webhook key) in `X-Ringover-Webhook-Signature`.
What Ringover puts in it, as far as public integrations show: `url` (where the webhook
was sent) and `payload` (the event itself), sometimes `iat` / `exp`. See docs/webhooks.md
for exactly what is checked and why.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SIGNATURE_HEADER = "X-Ringover-Webhook-Signature"

CALL_EVENTS = frozenset(
    {"ringing", "answered", "hangup", "missed", "voicemail", "ivr_response_code"}
)
AFTERCALL_EVENTS = frozenset(
    {"record_available", "voicemail_available", "transcription_available", "summary_available"}
)
# After one of these Ringover has nothing more to say about the live call.
TERMINAL_EVENTS = frozenset({"hangup", "missed", "voicemail"})

# Illustrative names from integration guides -> Ringover's canonical (resource, event).
EVENT_ALIASES: dict[str, tuple[str, str]] = {
    "incoming_call": ("call", "ringing"),
    "answered_call": ("call", "answered"),
    "missed_call": ("call", "missed"),
    "voicemail_message": ("call", "voicemail"),
    "call_ended": ("call", "hangup"),
}
FIELD_ALIASES: dict[str, str] = {
    "caller_number": "from_number",
    "receiver_number": "to_number",
}
_ENVELOPE_KEYS = frozenset({"event", "resource", "timestamp", "attempt", "data"})
# JWT claims about the token itself, not part of the event it signs.
_TOKEN_CLAIMS = frozenset({"iat", "exp", "nbf", "url", "jti", "iss", "aud", "sub"})


class WebhookFormatError(ValueError):
    """The body is not a webhook envelope we can read (HTTP 400)."""


class SignatureError(Exception):
    """Missing, invalid or expired signature (HTTP 401). `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _as_str(value: Any) -> Any:
    # Ringover sends ids and phone numbers as JSON numbers (33600000000); a number is
    # an identifier here, never arithmetic, and str keeps big ids exact.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


class CallData(BaseModel):
    """The `data` of a call webhook. Unknown fields are kept, typed ones are checked."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    call_id: str | None = None
    channel_id: str | None = None
    start_time: float | str | None = None
    answered_time: float | str | None = None
    hangup_time: float | str | None = None
    duration_in_seconds: float | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    user_id: str | None = None
    is_internal: bool | None = None
    is_anonymous: bool | None = None
    is_ivr: bool | None = None
    ivr_data: Any = None
    status: str | None = None
    reason: str | None = None

    @field_validator(
        "id", "call_id", "channel_id", "from_number", "to_number", "user_id", mode="before"
    )
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return _as_str(value)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    event: str = Field(min_length=1)
    resource: str | None = None
    timestamp: float | str | None = None
    # Bounded so a hostile value is a 400, not an SQLite overflow (and endless redelivery).
    attempt: int = Field(1, ge=0, le=2**31 - 1)
    data: dict[str, Any] = Field(default_factory=dict)


@dataclass(slots=True)
class WebhookEvent:
    """One webhook, normalised: canonical names, canonical field names."""

    name: str  # canonical event name, e.g. "hangup"
    resource: str  # "call", "aftercall", or whatever Ringover sent
    call_id: str | None
    data: dict[str, Any]
    timestamp: float | str | None = None
    attempt: int = 1
    alias: str | None = None  # the name as received, when it was an alias
    delivery_key: str = ""
    known: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


def delivery_key(body: dict[str, Any]) -> str:
    """Same delivery, same key: a hash of the body without `attempt`.

    A retry differs from the first delivery only by `attempt`; hashing everything else
    also keeps apart two real events that share a name, call and second (two IVR codes).
    """
    stable = {k: v for k, v in body.items() if k != "attempt"}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_webhook(body: Any) -> WebhookEvent:
    if not isinstance(body, dict):
        raise WebhookFormatError("webhook body must be a JSON object")
    raw_data = body.get("data")
    if raw_data is None:
        # The flat alias style carries the call fields beside `event`.
        raw_data = {k: v for k, v in body.items() if k not in _ENVELOPE_KEYS}
    if not isinstance(raw_data, dict):
        raise WebhookFormatError("webhook `data` must be an object")
    try:
        env = Envelope.model_validate({**body, "data": raw_data})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookFormatError(f"webhook {where}: {first['msg']}") from None

    name, resource, alias = env.event, env.resource, None
    if name in EVENT_ALIASES:
        alias = name
        alias_resource, name = EVENT_ALIASES[name]
        resource = resource or alias_resource
    data = {FIELD_ALIASES.get(k, k): v for k, v in env.data.items()}
    if resource is None:
        resource = "aftercall" if name in AFTERCALL_EVENTS else "call"
    known = name in CALL_EVENTS or name in AFTERCALL_EVENTS
    if resource in ("call", "aftercall") or "call_id" in data:
        try:
            data = CallData.model_validate(data).model_dump(exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise WebhookFormatError(f"webhook data.{where}: {first['msg']}") from None
    call_id = data.get("call_id") or _as_str(data.get("id"))
    return WebhookEvent(
        name=name,
        resource=resource,
        call_id=str(call_id) if call_id is not None else None,
        data=data,
        timestamp=env.timestamp,
        attempt=env.attempt,
        alias=alias,
        delivery_key=delivery_key(body),
        known=known,
        raw=body,
    )


def _signed_body(claims: dict[str, Any]) -> Any:
    payload = claims.get("payload")
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            raise SignatureError("signed payload is not JSON") from None
    return payload


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except RecursionError:  # nested past what == can walk: not a body we would take
        return False


def verify_signature(
    token: str | None,
    key: str,
    *,
    body: Any,
    path: str,
    leeway_s: float = 30.0,
) -> dict[str, Any]:
    """Check the JWT and that it signs *this* request; return the event to trust.

    - HS512 only (no `none`, no algorithm confusion), signed with `key`;
    - `exp` / `nbf` / `iat` checked when present, with `leeway_s` for clock skew;
    - a signed `payload` must equal the body (so a valid token cannot carry another
      body); a signed `url` must point at this path (so a token for another endpoint
      cannot be replayed here). The host is not compared: proxies rewrite it.
    """
    if not token:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        with warnings.catch_warnings():
            # The key is Ringover's, not ours to lengthen: a short one is not news per request.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS512"],
                leeway=leeway_s,
                options={"verify_aud": False, "verify_iss": False},
            )
    except jwt.ExpiredSignatureError:
        raise SignatureError("signature expired") from None
    except jwt.ImmatureSignatureError:
        raise SignatureError("signature not yet valid") from None
    except jwt.InvalidTokenError as exc:
        raise SignatureError(f"invalid signature: {type(exc).__name__}") from None
    if not isinstance(claims, dict):
        raise SignatureError("signature claims are not an object")

    url = claims.get("url")
    if url is not None:
        signed_path = urlsplit(str(url)).path.rstrip("/") or "/"
        here = path.rstrip("/") or "/"
        # A proxy may mount us under a prefix (/voicebot/webhooks/ringover -> here).
        if not (signed_path == here or signed_path.endswith(here)):
            raise SignatureError("signature was issued for another URL")
    if "payload" in claims:
        signed = _signed_body(claims)
        if body is not None and not _same(signed, body):
            raise SignatureError("signed payload does not match the body")
        return signed if isinstance(signed, dict) else body
    if "event" in claims and ("data" in claims or "resource" in claims):
        # Flat form: the envelope itself is the claim set. The body must be exactly the
        # signed envelope: one extra key (a `nonce`) used to pass, and changed the
        # de-duplication key, so one captured token was applied once per variant.
        envelope = {k: v for k, v in claims.items() if k not in _TOKEN_CLAIMS}
        if body is not None and not _same(body, envelope):
            raise SignatureError("signed envelope does not match the body")
        return envelope
    plain: dict[str, Any] = body
    return plain
