"""`voicebot calls list` and `voicebot calls show ID`: the call records, in a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from voicebot.store.backends import is_postgres_url
from voicebot.store.records import CallStore
from voicebot.store.schema import SchemaError

DEFAULT_DB = "var/calls.sqlite3"
DB_HELP = f"records: a SQLite file ({DEFAULT_DB}) or a postgresql:// URL"


def add_calls_subcommands(subparsers: Any) -> None:
    calls = subparsers.add_parser("calls", help="list and show call records")
    sub = calls.add_subparsers(dest="calls_command", required=True, metavar="{list,show}")

    listing = sub.add_parser("list", help="the most recent calls, newest first")
    listing.add_argument("--db", default=DEFAULT_DB, help=DB_HELP)
    listing.add_argument("--limit", type=int, default=50, help="how many calls (50)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_calls_list)

    show = sub.add_parser("show", help="one call: metadata, events and turns")
    show.add_argument("call_id", metavar="ID")
    show.add_argument("--db", default=DEFAULT_DB, help=DB_HELP)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=cmd_calls_show)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _open(db: str, err: TextIO) -> CallStore | None:
    # Reading must not create an empty database where the user mistyped a path.
    if db != ":memory:" and not is_postgres_url(db) and not Path(db).exists():
        print(f"no call records at {db} (pass --db PATH)", file=err)
        return None
    if db != ":memory:" and not is_postgres_url(db) and not _is_sqlite(Path(db)):
        # Opening would write a schema into a file we were only asked to read.
        print(f"{db}: not a call records database (not an SQLite file)", file=err)
        return None
    try:
        return CallStore(db)
    except (SchemaError, ConnectionError) as exc:
        print(str(exc), file=err)
        return None


def cmd_calls_list(args: argparse.Namespace, out: TextIO = sys.stdout,
                   err: TextIO = sys.stderr) -> int:
    store = _open(args.db, err)
    if store is None:
        return 1
    try:
        calls = store.list_calls(limit=args.limit)
    finally:
        store.close()
    if args.json:
        json.dump(calls, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    if not calls:
        print("no calls recorded yet", file=out)
        return 0
    header = f"{'CALL ID':<24} {'STARTED (UTC)':<19} {'DURATION':>8}  {'FROM':<16} " \
             f"{'TURNS':>5}  END"
    print(header, file=out)
    for c in calls:
        meta = c["meta"]
        print(
            f"{_cut(c['call_id'], 24):<24} {_when(c['opened_at']):<19} "
            f"{_duration(c['opened_at'], c['closed_at']):>8}  "
            f"{_cut(str(meta.get('from_number', '')), 16):<16} {c['turns']:>5}  "
            f"{c['close_reason'] or 'open'}",
            file=out,
        )
    return 0


def cmd_calls_show(args: argparse.Namespace, out: TextIO = sys.stdout,
                   err: TextIO = sys.stderr) -> int:
    store = _open(args.db, err)
    if store is None:
        return 1
    try:
        record = store.get_call(args.call_id)
    finally:
        store.close()
    if record is None:
        print(f"no call {args.call_id!r} in {args.db}", file=err)
        return 1
    if args.json:
        json.dump(record, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    _print_record(record, out)
    return 0


def _print_record(record: dict[str, Any], out: TextIO) -> None:
    start = record["opened_at"]
    print(f"call {record['call_id']}", file=out)
    print(f"  started   {_when(start)} UTC", file=out)
    ended = "open" if record["closed_at"] is None else (
        f"{_when(record['closed_at'])} UTC ({record['close_reason']}, "
        f"{_duration(start, record['closed_at'])})")
    print(f"  ended     {ended}", file=out)
    if record["webhook_retries"]:
        print(f"  webhook redeliveries ignored: {record['webhook_retries']}", file=out)
    for k, v in sorted(record["meta"].items()):
        print(f"  {k:<9} {v}", file=out)
    timeline: list[tuple[float, str]] = []
    for e in record["events"]:
        data = json.dumps(e["data"], ensure_ascii=False) if e["data"] else ""
        timeline.append((e["at"], f"{e['kind']} {_cut(data, 80)}".rstrip()))
    for t in record["turns"]:
        timeline.append((t["at"], _turn_line(t)))
    if timeline:
        print("  timeline", file=out)
    for at, line in sorted(timeline, key=lambda x: x[0]):
        print(f"    +{at - start:7.2f}s  {line}", file=out)


def _turn_line(t: dict[str, Any]) -> str:
    parts = [f"turn {t['index']}"]
    if t["state"]:
        parts.append(f"[{t['state']}]")
    parts.append(repr(t["transcript"] or ""))
    if t["intent"]:
        conf = "" if t["confidence"] is None else f" {t['confidence']:.2f}"
        parts.append(f"-> {t['intent']}{conf}")
    if t["slots"]:
        parts.append(f"slots={json.dumps(t['slots'], ensure_ascii=False)}")
    if t["actions"]:
        parts.append("actions=" + ", ".join(_action(a) for a in t["actions"]))
    if t["latencies"]:
        parts.append("ms=" + ",".join(f"{k}:{v:g}" if isinstance(v, (int, float)) else
                                      f"{k}:{v}" for k, v in t["latencies"].items()))
    if t["error"]:
        parts.append(f"ERROR {t['error']}")
    return " ".join(parts)


def _action(a: Any) -> str:
    if isinstance(a, dict) and "type" in a:
        args = ", ".join(repr(v) for k, v in a.items() if k != "type")
        return f"{a['type']}({_cut(args, 40)})"
    return str(a)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(start: float, end: float | None) -> str:
    if end is None:
        return "-"
    s = max(0, round(end - start))
    return f"{s // 60}m{s % 60:02d}s"


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
