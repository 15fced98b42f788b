"""The `voicebot` command."""

from __future__ import annotations

import os

# Before any native library starts its OpenMP pool: with the default pool (one thread per
# core) idle OpenMP threads spin, and a Whisper turn burned twice its wall time in CPU
# (0.19 CPU-s for 0.10 s). One OpenMP thread halves it; CTranslate2 still uses the
# threads it is given (stt options cpu_threads). See docs/benchmarks.md.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any  # noqa: E402

from voicebot.logs import setup_logging  # noqa: E402


def _serve(args: argparse.Namespace) -> int:
    import faulthandler

    # A crash inside a native library (CTranslate2, onnxruntime, the NLU's engine, psycopg)
    # otherwise ends the server with nothing but signal 11; this writes every thread's
    # Python stack to stderr first, so the operator's log says where it happened.
    faulthandler.enable()
    from voicebot.app import create_app
    from voicebot.config import ConfigError, load_config
    from voicebot.flow.loader import FlowError
    from voicebot.plugins.registry import PluginConfigError
    from voicebot.server import serve
    from voicebot.store.resilient import StoreOpenError
    from voicebot.store.schema import SchemaError

    try:
        config = load_config(args.config)
        if args.flow:
            config.flow = args.flow
        app = create_app(config)
    except (ConfigError, FlowError, PluginConfigError, SchemaError, StoreOpenError,
            ConnectionError) as exc:
        # ConnectionError: the records database or Redis named in config is unreachable.
        print(f"voicebot: cannot start: {exc}", file=sys.stderr)
        return 2
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    print(f"voicebot: serving {config.flow} on ws://{host}:{port}{config.server.media_path}",
          flush=True)
    serve(app, app.state.services, host, port, args.log_level)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from voicebot.simulator import main

    return main(args)


def _add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the media WebSocket, webhooks and records")
    p.add_argument("--config", default="config.yaml", help="config file (default: config.yaml)")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--flow", default=None, help="serve this flow instead of config's")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--log-format", default="text", choices=["text", "json"],
                   help="json: one object per line with ts, level, logger, call_id, msg")
    p.set_defaults(func=_serve)


def _add_simulate(sub: Any) -> None:
    p = sub.add_parser("simulate", help="act as a media server (Ringover, Twilio, FreeSWITCH "
                       "mod_audio_stream) and call a bot")
    p.add_argument("--protocol", default="ringover", choices=["ringover", "twilio",
                                                             "audio-stream"],
                   help="the media server to act as (default: ringover)")
    p.add_argument("--url", default=None,
                   help="the bot's media WebSocket (default: ws://127.0.0.1:8080/media, "
                   "or /media/<protocol> for another protocol)")
    p.add_argument("--wav", help="what the caller says (any rate; sent at 8 kHz)")
    p.add_argument("--dtmf", help="keys the caller presses after speaking, e.g. 123#")
    p.add_argument("--out", help="write the bot's audio to this WAV")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--silence-before", type=float, default=1.0)
    p.add_argument("--silence-after", type=float, default=3.0)
    p.add_argument("--reorder", type=float, default=0.0, help="fraction of packets reordered")
    p.add_argument("--drop", type=float, default=0.0, help="fraction of packets dropped")
    p.add_argument("--call-id", default=None, help="send a JSON start message with this id")
    p.set_defaults(func=_simulate)


def _version() -> str:
    try:
        return metadata.version("voicebot")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"voicebot {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback when a command fails unexpectedly")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_simulate(sub)
    from voicebot.check import add_check_subcommand
    from voicebot.flow_cli import add_flow_subcommands
    from voicebot.plugins.cli import add_plugins_subcommand
    from voicebot.scaffold import add_init_subcommand
    from voicebot.store.cli import add_calls_subcommands

    add_flow_subcommands(sub)
    add_check_subcommand(sub)
    add_init_subcommand(sub)
    add_plugins_subcommand(sub)
    add_calls_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok, 1 problems found (or an unexpected failure), 2 usage (argparse)."""
    args = build_parser().parse_args(argv)
    setup_logging(getattr(args, "log_level", "info"), getattr(args, "log_format", "text"))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `voicebot plugins | head`: the reader is gone, which is not our failure. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"voicebot: error: {exc or type(exc).__name__} "
              "(run with --debug to see where)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
