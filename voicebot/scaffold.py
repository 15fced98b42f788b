"""`voicebot init [DIR]`: a project of one's own that works before it is changed.

It writes config.yaml, a flow with its conversation tests, an example plugin with its
conformance test, and a README of three commands; `voicebot validate`, `voicebot test`
and `python -m pytest` pass in it at once. It never overwrites a file.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TextIO

TEMPLATE = "templates/project"


def project_name(directory: Path) -> str:
    """A name for the flow from the folder's: lower case, words joined by '_'."""
    name = re.sub(r"[^a-z0-9]+", "_", directory.resolve().name.lower()).strip("_")
    return name or "bot"


def _files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for item in sorted(root.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__":
            continue
        rel = f"{prefix}{item.name}"
        if item.is_dir():
            found.extend(_files(item, rel + "/"))
        else:
            found.append((rel, item))
    return found


def init_main(directory: str, name: str | None = None, out: TextIO = sys.stdout,
              err: TextIO = sys.stderr) -> int:
    target = Path(directory)
    if target.exists() and not target.is_dir():
        print(f"voicebot init: {target} exists and is not a folder", file=err)
        return 1
    name = name or project_name(target)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        print(f"voicebot init: name {name!r} must be letters, digits and '_'", file=err)
        return 2
    files = _files(resources.files("voicebot").joinpath(TEMPLATE))
    clashes = [rel for rel, _ in files if (target / rel).exists()]
    if clashes:
        print(f"voicebot init: {target} already has {', '.join(clashes)}; nothing written "
              "(choose an empty or new folder)", file=err)
        return 1
    for rel, source in files:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.read_text(encoding="utf-8").replace("{name}", name),
                        encoding="utf-8")
    print(f"created {target}/ ({len(files)} files) for the bot '{name}'. Next:\n"
          f"  cd {target}\n  voicebot test\n  voicebot serve", file=out)
    return 0


def add_init_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser("init", help="start a project: config, flow, tests, a plugin")
    p.add_argument("directory", nargs="?", default=".", help="folder to create (default: .)")
    p.add_argument("--name", default=None, help="the bot's name (default: the folder's)")
    p.set_defaults(func=lambda args: init_main(args.directory, args.name))
