"""Every top-level module of voicebot sits in a layer of the import contract.

`lint-imports` (run by scripts/test) checks the layers in `.importlinter`, but a module in
no layer is free to import anything: a new package must be placed on purpose.
"""

from __future__ import annotations

import configparser
import pkgutil
import re
from pathlib import Path

import voicebot

CONTRACT = Path(__file__).resolve().parents[1] / ".importlinter"


def layered_modules() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(CONTRACT, encoding="utf-8")
    layers = parser["importlinter:contract:layers"]["layers"]
    return set(re.findall(r"voicebot\.\w+", layers))


def test_every_top_level_module_is_in_a_layer() -> None:
    modules = {f"voicebot.{m.name}" for m in pkgutil.iter_modules(voicebot.__path__)}
    missing = sorted(modules - layered_modules())
    assert not missing, f"place these in a layer of {CONTRACT.name}: {', '.join(missing)}"

