"""Where plugins come from, and how a `use:` + `options:` pair becomes a plugin object.

Three sources, in this order of precedence for a name: import paths listed in
config.yaml's `plugins:` (the user's own, so they may shadow anything), entry points in
the `voicebot.plugins` group (installed packages), then the built-ins. Everything is
named by import path and imported only when asked for, so listing plugins or starting
with `nlu: examples` never imports Whisper or a TTS engine.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib
import importlib.metadata
import inspect
import os
import sys
import time
import typing
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from voicebot.plugins.base import NLU, STT, TTS, VAD, Plugin

ENTRY_POINT_GROUP = "voicebot.plugins"

KINDS: dict[str, tuple[type, str]] = {
    "stt": (STT, "transcribe"),
    "nlu": (NLU, "parse"),
    "tts": (TTS, "synthesize"),
    "vad": (VAD, "speech_probability"),
}

BUILTINS: dict[tuple[str, str], str] = {
    ("stt", "whisper"): "voicebot.plugins.stt_whisper:WhisperSTT",
    ("tts", "pyttsx3"): "voicebot.plugins.tts_pyttsx3:Pyttsx3TTS",
    ("tts", "espeak"): "voicebot.plugins.tts_espeak:EspeakTTS",
    ("tts", "piper"): "voicebot.plugins.tts_piper:PiperTTS",
    ("vad", "webrtc"): "voicebot.plugins.vad_webrtc:WebrtcVAD",
    ("vad", "silero"): "voicebot.plugins.vad_silero:SileroVAD",
    ("nlu", "examples"): "voicebot.plugins.nlu_examples:ExamplesNLU",
    ("nlu", "embeddings"): "voicebot.plugins.nlu_embeddings:EmbeddingsNLU",
    ("nlu", "llm"): "voicebot.plugins.nlu_llm:LLMNLU",
}


class PluginConfigError(Exception):
    """A plugin cannot be found, imported, or configured; the message says which and why."""


@dataclass
class PluginInfo:
    kind: str
    name: str
    origin: str  # "builtin" | "entry point <dist>" | "config"
    target: str  # "module:Class"
    options: list[dict[str, Any]] = field(default_factory=list)  # name, type, default, ...
    error: str | None = None  # set when the class could not be imported to describe it


def import_target(target: str) -> Any:
    """Import "package.module:Attr" (or "package.module.Attr")."""
    if ":" in target:
        module_name, _, attr = target.partition(":")
    else:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise PluginConfigError(f"{target!r} is not an import path of the form 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginConfigError(f"cannot import {module_name!r} (from {target!r}): {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginConfigError(
                f"module {module_name!r} has no {attr!r} (from {target!r})"
            ) from None
    return obj


class PluginClass(Protocol):
    """A plugin class as the registry uses it, once checked: its name, its Options model,
    and a constructor taking validated options."""

    __name__: str
    __qualname__: str
    Options: type[BaseModel]

    def __call__(self, options: BaseModel) -> Plugin: ...


def check_plugin_class(cls: Any, kind: str, label: str) -> PluginClass:
    """Refuse a class that is not a plugin of `kind`, saying what is missing."""
    if kind not in KINDS:
        raise PluginConfigError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")
    if not inspect.isclass(cls):
        raise PluginConfigError(f"{kind} plugin {label}: {cls!r} is not a class")
    declared = getattr(cls, "kind", None)
    if declared != kind:
        raise PluginConfigError(
            f"{kind} plugin {label}: {cls.__qualname__} is a {declared!r} plugin, not {kind!r}"
        )
    method = KINDS[kind][1]
    missing = [a for a in ("name", "Options", "load", method) if not hasattr(cls, a)]
    if missing:
        raise PluginConfigError(
            f"{kind} plugin {label}: {cls.__qualname__} lacks {', '.join(missing)} "
            f"(see voicebot.plugins.base.{KINDS[kind][0].__name__})"
        )
    checked: Any = cls  # a class, of unknown shape until the checks here pass
    options = checked.Options
    if not (inspect.isclass(options) and issubclass(options, BaseModel)):
        raise PluginConfigError(f"{kind} plugin {label}: Options must be a pydantic BaseModel")
    plugin_class: PluginClass = checked
    return plugin_class


def options_schema(options: type[BaseModel]) -> list[dict[str, Any]]:
    """One row per option: name, type, default (or required), description."""
    rows = []
    for name, info in options.model_fields.items():
        annotation = info.annotation
        plain = isinstance(annotation, type) and not typing.get_args(annotation)
        type_name = (annotation.__name__ if plain and annotation is not None
                     else str(annotation).replace("typing.", ""))
        rows.append({
            "name": name,
            "type": type_name,
            "required": info.is_required(),
            "default": None if info.is_required() else info.get_default(call_default_factory=True),
            "description": info.description or "",
        })
    return rows


def _validation_message(kind: str, name: str, exc: ValidationError,
                        known: list[str]) -> str:
    parts = []
    for err in exc.errors():
        option = ".".join(str(x) for x in err["loc"]) or "(options)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1, cutoff=0.6)
            message = "unknown option" + (f" (did you mean {close[0]!r}?)" if close else "")
        parts.append(f"option {option!r}: {message}")
    return f"{kind} plugin {name!r}: " + "; ".join(parts)


class PluginRegistry:
    def __init__(self, extra: list[str] | tuple[str, ...] = (), root: str | Path | None = None):
        """`extra`: import paths from config.yaml's `plugins:` list.

        `root` (default: the working directory) is put on sys.path first, so that
        `plugins.regex_nlu:RegexNLU` imports from the project folder even when voicebot
        runs as an installed console script (whose sys.path does not hold the cwd).
        """
        self.root = Path(root) if root is not None else Path(os.getcwd())
        # (kind, name) -> (target, origin); later sources overwrite earlier ones.
        self._entries: dict[tuple[str, str], tuple[str, str]] = {}
        self._errors: list[PluginInfo] = []
        for key, target in BUILTINS.items():
            self._entries[key] = (target, "builtin")
        self._discover_entry_points()
        for target in extra:
            self._add_config_path(target)

    def _discover_entry_points(self) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "?"
            origin = f"entry point {dist}"
            # The entry point's name is "<kind>.<name>" (or just "<name>": then the class
            # says its kind, which means importing it now).
            kind, _, name = ep.name.partition(".")
            if name and kind in KINDS:
                self._entries[(kind, name)] = (ep.value, origin)
                continue
            try:
                cls = ep.load()
                self._entries[(cls.kind, cls.name)] = (ep.value, origin)
            except Exception as exc:  # noqa: BLE001 - a broken third-party package must not stop start-up
                self._errors.append(PluginInfo("?", ep.name, origin, ep.value, error=str(exc)))

    def _add_config_path(self, target: str) -> None:
        self._ensure_root_on_path()
        cls = import_target(target)
        kind = getattr(cls, "kind", None)
        name = getattr(cls, "name", None)
        if kind not in KINDS or not isinstance(name, str):
            raise PluginConfigError(
                f"plugins: {target!r} is not a plugin class (needs ClassVars kind in "
                f"{sorted(KINDS)} and name)"
            )
        check_plugin_class(cls, kind, repr(name))
        self._entries[(kind, name)] = (target, "config")

    def _ensure_root_on_path(self) -> None:
        root = str(self.root.resolve())
        if root not in sys.path:
            sys.path.insert(0, root)

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self._entries if k == kind)

    def resolve(self, kind: str, use: str) -> PluginClass:
        """The plugin class for `use`: a registered name or an import path "mod:Class"."""
        if kind not in KINDS:
            raise PluginConfigError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")
        if (kind, use) in self._entries:
            target, _ = self._entries[(kind, use)]
            return check_plugin_class(import_target(target), kind, repr(use))
        if ":" in use:
            self._ensure_root_on_path()
            return check_plugin_class(import_target(use), kind, repr(use))
        known = ", ".join(self.names(kind)) or "none"
        close = difflib.get_close_matches(use, self.names(kind), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PluginConfigError(
            f"{kind} plugin {use!r} is not known{hint}; known {kind} plugins: {known} "
            "(or give an import path 'package.module:Class')"
        )

    def validate(self, kind: str, use: str, options: dict[str, Any] | None = None) -> BaseModel:
        """`options` checked by the plugin's Options model, without constructing the plugin."""
        cls = self.resolve(kind, use)
        try:
            return cls.Options.model_validate(options or {})
        except ValidationError as exc:
            raise PluginConfigError(
                _validation_message(kind, use, exc, list(cls.Options.model_fields))
            ) from None

    def create(self, kind: str, use: str, options: dict[str, Any] | None = None,
               language: str | None = None) -> Plugin:
        """Resolve, validate `options` with the plugin's Options model, and construct.

        `language` is the flow's: a plugin class with a `for_language(options, language)`
        classmethod fills in what that language needs (Whisper's language and a
        multilingual model, a French voice) where the user's options leave it open.
        """
        if language is not None:
            options = self.options_for_language(kind, use, options, language)
        return self.resolve(kind, use)(self.validate(kind, use, options))

    def options_for_language(self, kind: str, use: str, options: dict[str, Any] | None,
                             language: str) -> dict[str, Any]:
        hook = getattr(self.resolve(kind, use), "for_language", None)
        if hook is None:
            return dict(options or {})
        try:
            return dict(hook(dict(options or {}), language))
        except ValueError as exc:
            raise PluginConfigError(f"{kind} plugin {use!r}: {exc}") from None

    def infos(self) -> list[PluginInfo]:
        """Every known plugin, with its options; importing each class to describe it."""
        out: list[PluginInfo] = []
        for (kind, name), (target, origin) in sorted(self._entries.items()):
            info = PluginInfo(kind, name, origin, target)
            try:
                cls = check_plugin_class(import_target(target), kind, repr(name))
                info.options = options_schema(cls.Options)
            except PluginConfigError as exc:
                info.error = str(exc)
            out.append(info)
        return out + list(self._errors)


async def warm_up(
    plugins: dict[str, Any], executor: Executor | None = None
) -> dict[str, float]:
    """Call each plugin's `load()` once, in the executor, at server start.

    Returns the seconds each took (for the start-up log). Loading is sequential on
    purpose: two model loads at once on a small machine are slower than one after the
    other, and a failure names the plugin that failed.
    """
    seconds: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    for role, plugin in plugins.items():
        start = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(plugin.load):
                await plugin.load()
            else:
                await loop.run_in_executor(executor, plugin.load)
        except Exception as exc:
            label = f"{getattr(plugin, 'kind', role)} plugin {getattr(plugin, 'name', role)!r}"
            raise PluginConfigError(f"{label} failed to load: {type(exc).__name__}: {exc}") from exc
        seconds[role] = time.perf_counter() - start
    return seconds


def health(plugin: Any) -> dict[str, Any]:
    """The plugin's own health report if it has one, else {"ok": True}."""
    check = getattr(plugin, "health", None)
    if check is None:
        return {"ok": True}
    try:
        report = check()
    except Exception as exc:  # noqa: BLE001 - a failing check is a report, not a crash
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if isinstance(report, bool):
        return {"ok": report}
    return dict(report)
