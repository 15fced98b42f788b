"""`voicebot plugins`: every plugin voicebot can find, where it came from, and its options.

It reads config.yaml with plain YAML (only `plugins:` and the four `use:`/`options:`
pairs), so it works even when the rest of the file would not validate, and it also
checks the configured plugins' options: the same error start-up would stop on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from voicebot.plugins.registry import KINDS, PluginConfigError, PluginInfo, PluginRegistry


def read_plugin_config(path: Path) -> tuple[list[str], dict[str, tuple[str, dict[str, Any]]]]:
    """The `plugins:` list and {kind: (use, options)} from a config file (if it exists)."""
    if not path.is_file():
        return [], {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise PluginConfigError(f"{path}: the top level must be a mapping")
    extra = data.get("plugins") or []
    if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
        raise PluginConfigError(f"{path}: 'plugins' must be a list of 'module:Class' strings")
    chosen: dict[str, Any] = {}
    for kind in KINDS:
        spec = data.get(kind)
        if isinstance(spec, str):
            chosen[kind] = (spec, {})
        elif isinstance(spec, dict) and "use" in spec:
            chosen[kind] = (str(spec["use"]), dict(spec.get("options") or {}))
    return extra, chosen


def _default(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value) if isinstance(value, str | bool | list | dict) else str(value)


def format_infos(infos: list[PluginInfo], in_use: dict[str, str]) -> str:
    lines = []
    for info in infos:
        mark = "  (in use)" if in_use.get(info.kind) == info.name else ""
        lines.append(f"{info.kind:<4} {info.name:<12} {info.origin:<24} {info.target}{mark}")
        if info.error:
            lines.append(f"       unavailable: {info.error}")
        for opt in info.options:
            default = "required" if opt["required"] else f"= {_default(opt['default'])}"
            lines.append(f"       {opt['name']}: {opt['type']} {default}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = Path(args.config or "config.yaml")
    if args.config is not None and not config.is_file():
        # Named on the command line, so it was meant to be read: silence would hide a typo.
        print(f"error: {config}: no such config file", file=sys.stderr)
        return 1
    try:
        extra, chosen = read_plugin_config(config)
        registry = PluginRegistry(extra, root=config.resolve().parent)
    except (PluginConfigError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    infos = [i for i in registry.infos() if args.kind in (None, i.kind)]
    if args.json:
        print(json.dumps([vars(i) for i in infos], indent=2, default=str))
    else:
        print(format_infos(infos, {k: use for k, (use, _) in chosen.items()}))
    problems = []
    for kind, (use, options) in chosen.items():
        try:
            registry.validate(kind, use, options)
        except PluginConfigError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(f"error: {config}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def add_plugins_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plugins", help="list plugins (built-in, entry points, config) and their options"
    )
    p.add_argument("--config", default=None,
                   help="config file (default: ./config.yaml when there is one)")
    p.add_argument("--kind", choices=list(KINDS), default=None, help="only this kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
