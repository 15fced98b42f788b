"""`voicebot check [config.yaml]`: everything `voicebot serve` would refuse, without serving.

It loads the config (errors at file:line:col), the flow it names (validated as
`voicebot validate` does), and every configured plugin: options checked by the plugin's
own model, then `load()`, so a missing model or a wrong path shows now, not at the first
call. Exit 0 when all is well, 1 when anything is wrong.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

from voicebot.config import Config, ConfigError, load_config
from voicebot.flow import targets
from voicebot.flow.http_spec import ENV, HttpSpec
from voicebot.flow.loader import load_flow, validate_paths
from voicebot.flow.model import Flow
from voicebot.plugins.registry import KINDS, PluginConfigError, PluginRegistry


def check_main(config_path: str, *, load: bool = True, out: TextIO = sys.stdout,
               err: TextIO = sys.stderr) -> int:
    path = Path(config_path)
    if not path.is_file():
        print(f"{path}: no such config file", file=err)
        return 1
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=err)
        return 1
    problems, language = _check_flow(config, out, err)
    problems += _check_plugins(config, language, load, out, err)
    if problems:
        print(f"{path}: {problems} problem(s)", file=err)
        return 1
    print(f"ok: {path}", file=out)
    return 0


def _check_flow(config: Config, out: TextIO, err: TextIO) -> tuple[int, str | None]:
    """Problems found, and the flow's language (None when the flow does not load)."""
    flow = config.resolve(config.flow)
    errors, warnings = validate_paths([flow])
    for problem in [*errors, *warnings]:
        print(problem, file=err if problem in errors else out)
    if errors:
        return len(errors), None
    loaded = load_flow(flow)
    unknown = [(value, file, path) for value, file, path in targets.transfers(loaded)
               if targets.is_name(value) and value not in config.targets]
    for value, file, path in unknown:
        mark = loaded.where(file, path, prefer_value=True)
        known = ", ".join(sorted(config.targets)) or "none"
        print(f"{file}:{mark.line}:{mark.column}: transfer target '{value}' is not in "
              f"the config's 'targets' (targets: {known})", file=err)
    problems = len(unknown) + _check_env(config, loaded, err)
    if problems:
        return problems, loaded.language
    print(f"  flow {config.flow}: ok ({len(warnings)} warning(s))", file=out)
    return 0, loaded.language


def _check_env(config: Config, flow: Flow, err: TextIO) -> int:
    """`{{ env.NAME }}` in an http step needs NAME listed in http.env and set now."""
    steps: list[tuple[HttpSpec, str, tuple[str | int, ...]]] = []
    for name, state in flow.states.items():
        file, base = flow.state_files[name], ("states", name)
        steps += [(state.http, file, base)] if state.http else []
        steps += [(t.http, file, base + ("on", i)) for i, t in enumerate(state.on) if t.http]
    per_file: dict[str, int] = {}  # a global's yaml path counts within its own file
    for file, t in zip(flow.global_files, flow.global_transitions, strict=True):
        index = per_file[file] = per_file.get(file, -1) + 1
        steps += [(t.http, file, ("global", index))] if t.http else []
    problems = 0
    for spec, file, path in steps:
        texts = [spec.url, *spec.headers.values()]
        for env in sorted({m.group(1) for text in texts for m in ENV.finditer(text)}):
            why = ("is not listed in config http.env" if env not in config.http.env
                   else "is not set in the environment" if env not in os.environ else "")
            if why:
                mark = flow.where(file, path + ("http",))
                print(f"{file}:{mark.line}:{mark.column}: env.{env} {why}", file=err)
                problems += 1
    return problems


def _check_plugins(config: Config, language: str | None, load: bool, out: TextIO,
                   err: TextIO) -> int:
    try:
        registry = PluginRegistry(config.plugins, root=config.base_dir)
    except PluginConfigError as exc:
        print(f"plugins: {exc}", file=err)
        return 1
    problems = 0
    for kind in KINDS:
        spec = getattr(config, kind)
        try:
            plugin: Any = registry.create(kind, spec.use, spec.options, language)
            if load:
                plugin.load()
        except PluginConfigError as exc:
            print(f"{kind}: {exc}", file=err)
            problems += 1
            continue
        except Exception as exc:  # a plugin's own load failure, whatever it raises
            print(f"{kind}: plugin {spec.use!r} failed to load: {exc!r}", file=err)
            problems += 1
            continue
        print(f"  {kind} {spec.use}: ok{' (loaded)' if load else ''}", file=out)
    return problems


def add_check_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="check a config.yaml, its flow and its plugins")
    p.add_argument("config", nargs="?", default="config.yaml",
                   help="config file (default: config.yaml)")
    p.add_argument("--no-load", action="store_true",
                   help="check plugin options without loading models")
    p.set_defaults(func=lambda args: check_main(args.config, load=not args.no_load))


__all__ = ["add_check_subcommand", "check_main"]
