"""`voicebot validate | chat | test | graph` on the command line.

`chat` and `test` understand the caller with the NLU plugin that config.yaml names, with
its options and the plugins registered there: the same object `voicebot serve` builds.
So a conversation test that passes here passes against the server. `--config` picks the
file (default: ./config.yaml when it exists, else the built-in defaults); `--nlu NAME`
tries another registered plugin (with the configured options when it is the same one).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from pathlib import Path
from typing import Any

from voicebot.config import Config, ConfigError, load_config
from voicebot.flow.tools import Explainer, chat_main, graph_main, test_main, validate_main
from voicebot.plugins.base import NLU
from voicebot.plugins.nlu_explain import explain
from voicebot.plugins.registry import PluginConfigError, PluginRegistry
from voicebot.types import Expectation, NLUFunction, NLUResult

DEFAULT_CONFIG = "config.yaml"


def read_config(path: str | None) -> Config:
    """The named config, or ./config.yaml when present, or the built-in defaults."""
    if path is None:
        path = DEFAULT_CONFIG if Path(DEFAULT_CONFIG).is_file() else None
    return load_config(path)


def configured_nlu(config: Config, name: str | None = None) -> NLU:
    """The NLU plugin `voicebot serve` would build from `config` (or plugin `name`), loaded."""
    registry = PluginRegistry(config.plugins, root=config.base_dir)
    use = name or config.nlu.use
    options = config.nlu.options if use == config.nlu.use else {}
    plugin = registry.create("nlu", use, options)
    try:
        plugin.load()
    except Exception as exc:  # a missing model is a message, as at server start
        raise PluginConfigError(
            f"nlu plugin {use!r} failed to load: {type(exc).__name__}: {exc}") from exc
    return plugin  # type: ignore[return-value]


def as_function(plugin: NLU) -> NLUFunction:
    """The plugin's `parse` as a plain call. An async one runs to completion each time, on
    one event loop kept for the session (its HTTP client's connections belong to it)."""
    parse: Any = plugin.parse
    if not inspect.iscoroutinefunction(parse):
        return plugin.parse
    loop = asyncio.new_event_loop()

    def run(text: str, expectation: Expectation) -> NLUResult:
        result: NLUResult = loop.run_until_complete(parse(text, expectation))
        return result

    return run


def _with_nlu(args: argparse.Namespace) -> tuple[Config, NLU] | int:
    try:
        config = read_config(args.config)
        return config, configured_nlu(config, args.nlu)
    except (ConfigError, PluginConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def explainer(plugin: NLU) -> Explainer:
    def lines(text: str, expectation: Expectation) -> list[str]:
        reasons = explain(plugin, text, expectation)
        if not reasons:
            return [f"(the {plugin.name} NLU does not explain itself)"]
        return [f"{r.intent:<16} {r.score:.3f}  {r.why}" for r in reasons]

    return lines


def chat_command(args: argparse.Namespace) -> int:
    found = _with_nlu(args)
    if isinstance(found, int):
        return found
    config, plugin = found
    flow = args.flow or config.resolve(config.flow)
    return chat_main(flow, as_function(plugin),
                     explainer=explainer(plugin) if args.explain else None, now=args.now,
                     http=config.http)


def test_command(args: argparse.Namespace) -> int:
    found = _with_nlu(args)
    if isinstance(found, int):
        return found
    config, plugin = found
    return test_main(args.paths, as_function(plugin), http=config.http)


def add_flow_subcommands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register validate/chat/test/graph; each parser's `func(args)` returns the exit code."""
    p = subparsers.add_parser("validate", help="check flow files (file:line:col errors)")
    p.add_argument("paths", nargs="+", help="flow files or directories of *.yaml")
    p.set_defaults(func=lambda args: validate_main(args.paths))

    config_help = "config file whose NLU and plugins to use (default: ./config.yaml if present)"
    nlu_help = "use this registered NLU plugin instead of the configured one"
    p = subparsers.add_parser("chat", help="talk to a flow in the terminal")
    p.add_argument("flow", nargs="?", default=None, help="flow file (default: the config's)")
    p.add_argument("--config", default=None, help=config_help)
    p.add_argument("--nlu", default=None, help=nlu_help)
    p.add_argument("--explain", action="store_true",
                   help="show the top intents, their scores and the example or rule behind each")
    p.add_argument("--now", default=None, metavar="TIME",
                   help="fix the flow's clock, e.g. 2026-12-24T18:30 (in the flow's time zone)")
    p.set_defaults(func=chat_command)

    p = subparsers.add_parser("test", help="run conversation tests")
    p.add_argument("paths", nargs="*", default=["flows/tests"],
                   help="test files or directories of *.yaml (default: flows/tests)")
    p.add_argument("--config", default=None, help=config_help)
    p.add_argument("--nlu", default=None, help=nlu_help)
    p.set_defaults(func=test_command)

    p = subparsers.add_parser("graph", help="draw a flow as Mermaid or Graphviz DOT")
    p.add_argument("flow", help="flow file")
    p.add_argument("--format", dest="fmt", choices=("mermaid", "dot"), default="mermaid")
    p.add_argument("-o", "--out", default=None, help="output file (default: stdout)")
    p.set_defaults(func=lambda args: graph_main(args.flow, args.fmt, args.out))
