"""config.yaml: the schema, loading, and environment overrides.

Every section is a pydantic model with extra="forbid", so a misspelt key fails at
start-up with its path, not mid-call. Plugin options are validated later by the
plugin registry against each plugin's own Options model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginSpec(_Section):
    use: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `stt: whisper` is accepted as `stt: {use: whisper}`.
        return {"use": value} if isinstance(value, str) else value


class ServerConfig(_Section):
    host: str = "0.0.0.0"
    port: int = 8080
    media_path: str = "/media"
    media_protocol: Literal["ringover", "twilio", "audio-stream"] = Field(
        default="ringover",
        description="What the media path speaks; each protocol is also served at "
        "<media_path>/<protocol> (docs/protocol.md).",
    )
    media_token: str | None = Field(
        default=None, description="If set, media servers must send it (header or ?token=)."
    )
    executor_workers: int = Field(default=2, ge=1, description="Threads for STT work.")
    tts_workers: int = Field(
        default=2, ge=1, description="Threads for TTS, apart from STT so a reply's synthesis "
        "never queues behind other calls' transcriptions; two, so one hung synthesis "
        "(a thread cannot be killed) does not silence every call.",
    )
    shutdown_grace_s: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long active calls may finish."
    )


class InboundConfig(_Section):
    default_encoding: Literal["pcmu", "pcma", "l16", "l16le", "l16be"] = "pcmu"
    default_sample_rate: Literal[8000, 16000, 24000] = 8000
    dtmf_payload_type: int = Field(default=101, ge=96, le=127)
    max_frame_bytes: int = Field(default=16384, ge=64, description="Larger frames are dropped.")
    max_messages_per_s: float = Field(
        default=200, gt=0, description="Frames beyond this rate (burst of 2 s) are dropped."
    )
    max_call_s: float = Field(default=3600, gt=0, description="A call is ended after this long.")


class ListenConfig(_Section):
    min_speech_ms: int = Field(default=120, ge=20, description="Speech shorter than this is noise.")
    hangover_ms: int = Field(default=400, ge=60, description="Silence that ends a turn.")
    preroll_ms: int = Field(default=200, ge=0, description="Audio kept from before the onset.")
    max_utterance_s: float = Field(default=15.0, gt=1)
    speculative: bool = Field(default=True, description="Start STT before the hangover ends.")
    energy_gate_db: float | None = Field(
        default=-40.0, le=0,
        description="Frames this far below the caller's speech peak are silence whatever the "
        "VAD says (trims its ~100 ms hangover); null disables.",
    )
    speculative_after_ms: int = Field(default=200, ge=20)
    stt_timeout_s: float = Field(default=10.0, gt=0, description="A turn's STT gives up after.")
    tts_timeout_s: float = Field(
        default=10.0, gt=0, description="Synthesis of one sentence gives up after this."
    )


class SpeakConfig(_Section):
    sample_rate: Literal[8000, 16000, 24000] = 8000
    audio_data_type: Literal["raw", "wav"] = "raw"
    chunk_ms: int = Field(default=100, ge=20, le=2000)
    lead_ms: int = Field(default=200, ge=0, le=2000)


class BargeInConfig(_Section):
    enabled: bool = True
    min_speech_ms: int = Field(default=100, ge=20, description="Sustained speech that breaks.")
    # A short interjection ("mhm") while the flow expects nothing is not a turn.
    backchannel_max_ms: int = Field(default=900, ge=0)
    echo_guard: bool = Field(default=True, description="Ignore inbound speech that is our echo.")
    echo_ratio: float = Field(
        default=0.3, ge=0, le=4,
        description="While speaking, inbound speech quieter than this times our output is echo.",
    )


class StoreConfig(_Section):
    path: str = "var/calls.sqlite3"


class WebhooksConfig(_Section):
    key: str | None = None
    allow_unsigned: bool = False


class RecordsConfig(_Section):
    token: str | None = None


class RingoverConfig(_Section):
    api_key: str | None = None
    region: Literal["eu", "us"] = "eu"


class TwilioConfig(_Section):
    auth_token: str | None = Field(
        default=None, description="If set, Twilio's requests to /twilio/* must carry a valid "
        "X-Twilio-Signature made with it.",
    )
    public_url: str | None = Field(
        default=None, description="The https:// address Twilio reaches voicebot at; by "
        "default the address Twilio's request came to.",
    )


class Config(_Section):
    flow: str = "flows/support_router.yaml"
    plugins: list[str] = Field(default_factory=list)
    stt: PluginSpec = PluginSpec(use="whisper")
    nlu: PluginSpec = PluginSpec(use="examples")
    tts: PluginSpec = PluginSpec(use="pyttsx3")
    vad: PluginSpec = PluginSpec(use="webrtc")
    server: ServerConfig = ServerConfig()
    inbound: InboundConfig = InboundConfig()
    listen: ListenConfig = ListenConfig()
    speak: SpeakConfig = SpeakConfig()
    barge_in: BargeInConfig = BargeInConfig()
    store: StoreConfig = StoreConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    records: RecordsConfig = RecordsConfig()
    ringover: RingoverConfig = RingoverConfig()
    twilio: TwilioConfig = TwilioConfig()
    # Where relative paths in this file are resolved from.
    base_dir: Path = Path(".")

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p


class ConfigError(Exception):
    pass


# VOICEBOT_SERVER__PORT=9000 sets server.port; values are parsed as YAML scalars.
ENV_PREFIX = "VOICEBOT_"


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {'.'.join(path)} does not name a config section")
        node[path[-1]] = yaml.safe_load(raw)


def load_config(path: str | Path | None, environ: dict[str, str] | None = None) -> Config:
    data: dict[str, Any] = {}
    base = Path(".")
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read config: {exc.strerror}") from exc
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a mapping")
        base = p.resolve().parent
    _apply_env(data, dict(os.environ if environ is None else environ))
    data.setdefault("base_dir", str(base))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path or 'config'}: invalid configuration:"]
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"])
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc
