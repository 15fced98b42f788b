"""The three ways to find a plugin, and the errors that stop start-up by name."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.plugins.base import NLUResult
from voicebot.plugins.nlu_examples import ExamplesNLU
from voicebot.plugins.registry import PluginConfigError, PluginRegistry, health

PLUGIN_SOURCE = '''
from typing import ClassVar
from pydantic import BaseModel, ConfigDict
from voicebot.plugins.base import NLUResult


class EchoNLU:
    """Answers with a fixed intent; enough to see which class was found."""
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "{name}"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        intent: str = "echo"
        weight: int = 1

    def __init__(self, options):
        self.options = options

    def load(self):
        pass

    def parse(self, text, expectation):
        return NLUResult(text, self.options.intent, 1.0)


class NotAPlugin:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "broken"


class SomeTTS:
    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "some"
    sample_rate = 8000
    class Options(BaseModel):
        pass
    def __init__(self, options): pass
    def load(self): pass
    def synthesize(self, text): return None
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder with its own `myplugins` package, as `plugins/` is for the repo."""
    pkg = tmp_path / "myplugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "echo.py").write_text(PLUGIN_SOURCE.replace("{name}", "echo"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for mod in [m for m in list(sys.modules) if m.startswith("myplugins")]:
        del sys.modules[mod]


def test_builtin_by_name() -> None:
    registry = PluginRegistry()
    assert registry.resolve("nlu", "examples") is ExamplesNLU
    plugin = registry.create("nlu", "examples", {"threshold": 0.8})
    assert isinstance(plugin, ExamplesNLU) and plugin.options.threshold == 0.8
    info = {(i.kind, i.name): i for i in registry.infos()}[("nlu", "examples")]
    assert info.origin == "builtin"
    assert info.target == "voicebot.plugins.nlu_examples:ExamplesNLU"
    assert {"name": "threshold", "type": "float", "required": False, "default": 0.72,
            "description": info.options[0]["description"]} == info.options[0]


def test_config_plugins_list_registers_by_name(project: Path) -> None:
    registry = PluginRegistry(["myplugins.echo:EchoNLU"], root=project)
    plugin = registry.create("nlu", "echo", {"intent": "hello"})
    assert plugin.parse("x", None) == NLUResult("x", "hello", 1.0)
    info = {(i.kind, i.name): i for i in registry.infos()}[("nlu", "echo")]
    assert (info.origin, info.target) == ("config", "myplugins.echo:EchoNLU")
    assert "echo" in registry.names("nlu")


def test_use_may_be_an_import_path(project: Path) -> None:
    registry = PluginRegistry(root=project)
    plugin = registry.create("nlu", "myplugins.echo:EchoNLU", {})
    assert plugin.parse("x", None).intent == "echo"


def test_entry_point_from_an_installed_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real (if tiny) installed distribution: a dist-info folder on sys.path with an
    # entry_points.txt, found by importlib.metadata exactly as pip's installs are.
    site = tmp_path / "site"
    (site / "voicebot_echo").mkdir(parents=True)
    (site / "voicebot_echo" / "__init__.py").write_text(PLUGIN_SOURCE.replace("{name}", "ep"))
    dist = site / "voicebot_echo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: voicebot-echo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""
        [voicebot.plugins]
        nlu.ep = voicebot_echo:EchoNLU
        some_tts = voicebot_echo:SomeTTS
        broken = voicebot_echo:Vanished
    """))
    monkeypatch.syspath_prepend(str(site))
    try:
        registry = PluginRegistry()
        plugin = registry.create("nlu", "ep", {"intent": "from_ep"})
        assert plugin.parse("x", None).intent == "from_ep"
        infos = {(i.kind, i.name): i for i in registry.infos()}
        assert infos[("nlu", "ep")].origin == "entry point voicebot-echo"
        # An entry point named without its kind is imported to learn the kind.
        assert infos[("tts", "some")].target == "voicebot_echo:SomeTTS"
        # A broken third-party entry point is listed with its error; start-up goes on.
        broken = [i for i in registry.infos() if i.name == "broken"]
        assert broken and "Vanished" in (broken[0].error or "")
    finally:
        sys.modules.pop("voicebot_echo", None)


def test_bad_option_fails_by_plugin_and_option_name() -> None:
    registry = PluginRegistry()
    with pytest.raises(PluginConfigError) as err:
        registry.create("nlu", "examples", {"threshold": "high"})
    assert str(err.value).startswith("nlu plugin 'examples': option 'threshold': ")
    with pytest.raises(PluginConfigError, match="nlu plugin 'examples': option 'treshold': "
                                                "unknown option"):
        registry.create("nlu", "examples", {"treshold": 0.5})
    with pytest.raises(PluginConfigError, match="option 'threshold': Input should be less"):
        registry.validate("nlu", "examples", {"threshold": 3})


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(PluginConfigError) as err:
        PluginRegistry().resolve("nlu", "exampels")
    message = str(err.value)
    assert "nlu plugin 'exampels' is not known" in message
    assert "embeddings, examples, llm" in message


def test_unknown_kind_and_bad_import_paths(project: Path) -> None:
    registry = PluginRegistry(root=project)
    with pytest.raises(PluginConfigError, match="unknown plugin kind 'asr'"):
        registry.resolve("asr", "whisper")
    with pytest.raises(PluginConfigError, match="cannot import 'nowhere.mod'"):
        registry.resolve("nlu", "nowhere.mod:Thing")
    with pytest.raises(PluginConfigError, match="has no 'Missing'"):
        registry.resolve("nlu", "myplugins.echo:Missing")
    with pytest.raises(PluginConfigError, match="is a 'nlu' plugin, not 'stt'"):
        registry.resolve("stt", "myplugins.echo:EchoNLU")
    with pytest.raises(PluginConfigError, match="NotAPlugin lacks Options, load, parse"):
        registry.resolve("nlu", "myplugins.echo:NotAPlugin")
    with pytest.raises(PluginConfigError, match="cannot import 'nowhere'"):
        PluginRegistry(["nowhere:Thing"], root=project)


def test_health_defaults_to_ok_and_reports_failures() -> None:
    class Quiet:
        pass

    class Failing:
        def health(self) -> dict[str, object]:
            raise RuntimeError("model file vanished")

    class Says:
        def health(self) -> bool:
            return False

    assert health(Quiet()) == {"ok": True}
    assert health(Failing()) == {"ok": False, "error": "RuntimeError: model file vanished"}
    assert health(Says()) == {"ok": False}
    assert health(ExamplesNLU()) == {"ok": True}


def test_warm_up_loads_each_plugin_once_and_names_a_failure() -> None:
    import asyncio

    from voicebot.plugins.registry import warm_up

    class Counting:
        kind, name = "nlu", "counting"

        def __init__(self) -> None:
            self.loads = 0

        def load(self) -> None:
            self.loads += 1

    class AsyncLoad(Counting):
        async def load(self) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            self.loads += 1

    class Broken:
        kind, name = "tts", "broken"

        def load(self) -> None:
            raise OSError("voice file missing")

    sync_plugin, async_plugin = Counting(), AsyncLoad()
    seconds = asyncio.run(warm_up({"nlu": sync_plugin, "stt": async_plugin}))
    assert set(seconds) == {"nlu", "stt"} and (sync_plugin.loads, async_plugin.loads) == (1, 1)
    with pytest.raises(PluginConfigError,
                       match="tts plugin 'broken' failed to load: OSError: voice file missing"):
        asyncio.run(warm_up({"tts": Broken()}))
