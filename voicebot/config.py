"""config.yaml: the schema, loading, and environment overrides.

Every section is a pydantic model with extra="forbid", so a misspelt key fails at
start-up with its path, not mid-call. Plugin options are validated later by the
plugin registry against each plugin's own Options model.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from voicebot.flow import targets as transfer_targets
from voicebot.flow.http_client import HttpLimits
from voicebot.flow.yamlsource import SourceMap, parse_yaml, read_yaml_text


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
    executor_workers: int = Field(
        default=2, ge=1, description="Threads for STT, and as many for NLU apart: a caller "
        "whose turn has ended comes before other calls' speculative transcriptions, and the "
        "NLU never waits for a transcription (docs/speech.md).",
    )
    stt_priority: bool = Field(
        default=True, description="Schedule STT by urgency (call/stt_scheduler.py); false "
        "is one first-come queue where every guess is filed (the old way, kept to compare).",
    )
    speculative_idle_workers: int = Field(
        default=0, ge=0, description="If above 0, a speculative transcription is filed only "
        "while this many STT threads are free (at most executor_workers); 0 files every "
        "guess, ordered behind turns that ended first (docs/speech.md).",
    )
    tts_workers: int = Field(
        default=2, ge=1, description="Threads for TTS, apart from STT so a reply's synthesis "
        "never queues behind other calls' transcriptions; two, so one hung synthesis "
        "(a thread cannot be killed) does not silence every call.",
    )
    shutdown_grace_s: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long active calls may finish."
    )
    # Limits on what a peer can hold open (docs/operations.md, voicebot/web/limits.py).
    max_connections: int = Field(
        default=1000, ge=2, description="Open TCP connections; beyond, the oldest one still "
        "in its handshake is dropped, or the new one refused (503). Lowered to fit ulimit -n.",
    )
    max_calls: int = Field(
        default=200, ge=1, description="Media WebSockets at once; beyond, closed with 1013.")
    handshake_timeout_s: float = Field(
        default=10.0, gt=0, description="A connection must send its request head within this.")
    idle_timeout_s: float = Field(
        default=15.0, gt=0, description="A media WebSocket silent this long is closed (1008).")


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
    hangover_ms: int = Field(
        default=400, ge=60,
        description="Silence that ends a turn (with end_of_turn: transcript, a turn whose "
        "speculative transcript looks finished).")
    end_of_turn: Literal["transcript", "fixed"] = Field(
        default="transcript",
        description="transcript: the pause's speculative transcript decides how long a "
        "silence ends the turn (hangover_ms if it looks finished, unfinished_hangover_ms if "
        "it ends on 'and', 'the', 'um'...); fixed: hangover_ms always. Needs speculative.")
    unfinished_hangover_ms: int = Field(
        default=900, ge=60,
        description="Silence that ends a turn whose transcript looks unfinished, or has not "
        "come yet (end_of_turn: transcript); never less than hangover_ms.")
    preroll_ms: int = Field(default=200, ge=0, description="Audio kept from before the onset.")
    max_utterance_s: float = Field(default=15.0, gt=1)
    speculative: bool = Field(default=True, description="Start STT before the hangover ends.")
    energy_gate_db: float | None = Field(
        default=-40.0, le=0,
        description="Frames this far below the caller's speech peak are silence whatever the "
        "VAD says (trims its ~100 ms hangover); null disables.",
    )
    noise_gate_db: float | None = Field(
        default=6.0, ge=0,
        description="Frames within this many dB of the line's noise floor are silence "
        "whatever the VAD says (trims its hangover on a noisy line, where energy_gate_db "
        "cannot); null disables.",
    )
    speculative_after_ms: int = Field(default=200, ge=20)
    join_window_ms: int = Field(
        default=1200, ge=0,
        description="Speech starting this soon after a turn's last speech continues that "
        "turn: its reply is withdrawn and the joined audio answered once (a caller who "
        "paused in mid-sentence); 0 disables.",
    )
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
    url: str | None = Field(
        default=None, pattern=r"^postgres(ql)?://",
        description="postgresql://user@host/db: the records in PostgreSQL, shared by every "
        "worker of a scaled deployment (docs/scaling.md); when set, `path` is not used.",
    )


class ClusterConfig(_Section):
    """Several workers behind one address (docs/scaling.md). Without `redis_url` the
    process is alone: calls and their webhooks meet in memory."""

    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    worker_id: str | None = Field(
        default=None, description="This worker's name in the call directory; default "
        "host-pid-random, unique per process.")
    key_prefix: str = Field(default="voicebot:", description="Keys in Redis start with this.")
    heartbeat_s: float = Field(default=1.0, gt=0, description="How often a worker says alive.")
    worker_ttl_s: float = Field(
        default=5.0, gt=0, description="A worker silent this long is dead: its calls are "
        "closed as failed by the others (within worker_ttl_s + sweep_s).")
    sweep_s: float = Field(default=1.0, gt=0, description="How often workers look for dead ones.")

    @model_validator(mode="after")
    def _ttl_outlives_heartbeats(self) -> ClusterConfig:
        if self.worker_ttl_s < 2 * self.heartbeat_s:
            raise ValueError("worker_ttl_s must be at least twice heartbeat_s, or a busy "
                             "worker that is only late would be declared dead")
        return self


class WebhooksConfig(_Section):
    key: str | None = None
    allow_unsigned: bool = False


class RecordsConfig(_Section):
    token: str | None = None


class RecordingConfig(_Section):
    enabled: bool = Field(
        default=False, description="Record calls (stereo WAV: caller left, bot right). Tell "
        "callers: recording usually needs their consent (docs/recording.md)."
    )
    path: str = Field(default="var/recordings", description="Folder for the WAV files.")
    retention_days: float = Field(
        default=30, gt=0, description="Recordings older than this are deleted (checked hourly)."
    )
    sample_rate: Literal[8000, 16000] = Field(
        default=8000, description="8000 is the telephone's own bandwidth; 16000 doubles the size."
    )


class ConsoleConfig(_Section):
    enabled: bool = Field(
        default=True, description="Serve /console and /console/phone (behind records.token; "
        "without a token, to this machine's own browser only)."
    )


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
    cluster: ClusterConfig = ClusterConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    records: RecordsConfig = RecordsConfig()
    recording: RecordingConfig = RecordingConfig()
    console: ConsoleConfig = ConsoleConfig()
    ringover: RingoverConfig = RingoverConfig()
    twilio: TwilioConfig = TwilioConfig()
    # Where a flow's `transfer: sales` goes: {sales: "+33123456789"} (docs/flows.md).
    targets: dict[str, str] = Field(default_factory=dict)
    # What a flow's http steps may reach, and how much (voicebot/flow/http_client.py).
    http: HttpLimits = HttpLimits()
    # Where relative paths in this file are resolved from.
    base_dir: Path = Path(".")

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic says what is wrong with it
        for name, number in value.items():
            if not transfer_targets.is_name(str(name)):
                raise ValueError(f"'{name}' is not a target name (letters, digits, '_' and "
                                 "'-', starting with a letter)")
            if not isinstance(number, str):
                raise ValueError(f"{name}: write the number in quotes (\"+33123456789\"): "
                                 "unquoted, YAML reads it as an integer and drops its '+'")
            if not transfer_targets.is_number(number):
                raise ValueError(f"{name}: '{number}' is not a number to dial "
                                 "(+33123456789, or sip:...)")
        return value

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
    """The configuration, or ConfigError naming `file:line:col` of every wrong key, with a
    "did you mean" for a misspelt one."""
    data: dict[str, Any] = {}
    base = Path(".")
    source: SourceMap | None = None
    if path is not None:
        p = Path(path)
        text, problem = read_yaml_text(p)
        if text is None:
            assert problem is not None
            raise ConfigError(f"{p}:{problem.mark.line}:{problem.mark.column}: {problem.message}")
        parsed, source, problems = parse_yaml(text, str(p))
        if problems:
            raise ConfigError("\n".join(f"{p}:{x.mark.line}:{x.mark.column}: {x.message}"
                                         for x in problems))
        data = parsed or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{p}:1:1: the top level must be a mapping")
        base = p.resolve().parent
    _apply_env(data, dict(os.environ if environ is None else environ))
    data.setdefault("base_dir", str(base))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path or 'config'}: invalid configuration:"]
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(x) for x in loc)
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'" + _did_you_mean(str(loc[-1]),
                                                                      _fields_at(loc[:-1]))
            if source is not None:
                mark = source.locate(loc, prefer_value=err["type"] != "extra_forbidden")
                lines.append(f"{source.file}:{mark.line}:{mark.column}: {where}: {message}")
            else:
                lines.append(f"  {where}: {message}")
        raise ConfigError("\n".join(lines)) from exc


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the config schema allows at `loc` (for "did you mean")."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
