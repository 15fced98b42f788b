"""Flow actions become exactly the ringover-streamer events, in the flow's order."""

from __future__ import annotations

import asyncio

from tests.call.harness import Call, ScriptedSTT, make_services, until

FLOW = """
name: wire_actions
start: hold
states:
  hold:
    play: "https://example.com/hold-music.mp3"
    say: "Please hold."
    digits: "0#"
    transfer: "+33123456789"
"""


def test_play_say_digits_transfer_in_order(tmp_path):
    flow = tmp_path / "wire.yaml"
    flow.write_text(FLOW)

    async def scenario() -> list[dict]:
        services = make_services(flow, ScriptedSTT(""))
        async with Call(services) as call:
            assert await until(lambda: "transfer" in call.kinds())
            sent = list(call.sent)
        services.close()
        return sent

    sent = asyncio.run(scenario())
    kinds = [e.get("event") or e.get("type") for e in sent]
    assert {"event": "play", "file": "https://example.com/hold-music.mp3"} in sent
    assert "streamAudio" in kinds
    # A state's actions run in the flow language's order (docs/flows.md): say, then play.
    assert kinds.index("streamAudio") < kinds.index("play")
    # The digits and the transfer wait until "Please hold." has been played out.
    last_audio = max(i for i, k in enumerate(kinds) if k == "streamAudio")
    assert sent[last_audio + 1:] == [{"event": "play",
                                      "file": "https://example.com/hold-music.mp3"},
                                     {"event": "digits", "data": "0#"},
                                     {"event": "transfer", "data": "+33123456789"}]
