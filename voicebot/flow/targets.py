"""Transfer targets: a flow may name where a call goes (`transfer: sales`), and config.yaml
says which number that is (`targets: {sales: "+33123456789"}`), so flows hold no numbers.

A `transfer:` value is a number (`+33123456789`, `0123456789`, `1001`), a target name
(`sales`, `billing-fr`), or a template that renders to either. Names are resolved where the
call session executes the transfer, from the configuration it runs with; `voicebot check`
refuses a flow that names a target the configuration lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from voicebot.flow.model import Flow
from voicebot.flow.yamlsource import Path

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# What a transfer may dial: digits with an optional leading +, or a SIP address.
NUMBER = re.compile(r"^(\+?[0-9][0-9 .()-]*[0-9]|[0-9]|sips?:\S+)$")


def is_name(value: str) -> bool:
    return bool(NAME.match(value.strip())) and not value.strip().lower().startswith("sip:")


def is_number(value: str) -> bool:
    return bool(NUMBER.match(value.strip()))


def resolve(value: str, targets: dict[str, str]) -> str | None:
    """The number to dial for a rendered `transfer:` value, or None for an unknown name."""
    value = value.strip()
    if is_name(value):
        return targets.get(value)
    return value


def transfers(flow: Flow) -> Iterator[tuple[str, str, Path]]:
    """Every literal `transfer:` of the flow: (value, file, yaml path). Templates are left
    out: what they name is only known on the call."""
    found: list[tuple[str | None, str, Path]] = []
    ending = flow.defaults.on_max_turns.transfer
    found.append((ending, flow.root_file, ("defaults", "on_max_turns", "transfer")))
    for name, state in flow.states.items():
        file, base = flow.state_files[name], ("states", name)
        found.append((state.transfer, file, base + ("transfer",)))
        for kind in ("on", "branch"):
            for index, t in enumerate(getattr(state, kind)):
                found.append((t.transfer, file, base + (kind, index, "transfer")))
                if t.on_error is not None:
                    found.append((t.on_error.transfer, file,
                                  base + (kind, index, "on_error", "transfer")))
        if state.on_error is not None:
            found.append((state.on_error.transfer, file, base + ("on_error", "transfer")))
    per_file: dict[str, int] = {}
    for file, t in zip(flow.global_files, flow.global_transitions, strict=True):
        index = per_file.get(file, 0)
        per_file[file] = index + 1
        found.append((t.transfer, file, ("global", index, "transfer")))
        if t.on_error is not None:
            found.append((t.on_error.transfer, file, ("global", index, "on_error", "transfer")))
    for value, file, path in found:
        if value is not None and "{{" not in value:
            yield value, file, path
