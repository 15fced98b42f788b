"""The browser phone and the console in a real browser (Debian's chromium, headless,
driven by Playwright), against the real `voicebot serve`.

Chromium's fake microphone plays a WAV: a caller who waits a moment, then says "I'd like
to speak to an agent" over the greeting. The page must capture it with its AudioWorklet,
send 8 kHz PCMU RTP over the media WebSocket, play the bot, stop on the break, and show
the transfer; then the console must show that call with its transcript, its recording
and its path on the flow's graph. Each page is kept as a screenshot (the path is printed).
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from voicebot.telephony.resample import resample
from voicebot.testing.callers import piper_8k
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLOW = ROOT / "flows" / "support_router.yaml"
TOKEN = "browser-test-token"
AGENT = "+33123456789"
ARTEFACTS = ROOT / "var" / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3.5 s of silence (the greeting starts), the request, then silence: 48 kHz mono."""
    speech = resample(piper_8k("I'd like to speak to an agent."), 8000, 48000)
    pcm = np.concatenate([np.zeros(int(3.5 * 48000), np.int16), speech,
                          np.zeros(30 * 48000, np.int16)])
    path = tmp_path_factory.mktemp("mic") / "caller.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    recordings = tmp_path_factory.mktemp("recordings")
    with running_server(FLOW, records={"token": TOKEN},
                        recording={"enabled": True, "path": str(recordings)}) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(microphone: Path) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup --test installs Debian's chromium")
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={microphone}%noloop"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


def _shot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _sign_in(page: Page, http: str, then: str) -> None:
    page.goto(f"{http}{then}")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.fill("input[name=token]", TOKEN)
    page.click("form button")
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))


def test_call_from_the_browser_then_read_it_in_the_console(server: dict, browser: Browser) -> None:
    http = server["http"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, http, "/console/phone")
    expect(page.locator("#status")).to_have_text("ready", timeout=10_000)
    expect(page.locator("#flow")).to_have_value("support_router")

    # A console opened before the call: the call must appear there by itself (live feed).
    watcher = context.new_page()
    watcher.goto(f"{http}/console")
    expect(watcher.locator("table.calls")).to_be_visible()

    page.click("#call")
    outcome = page.locator("#outcome")
    expect(outcome).to_be_visible(timeout=90_000)
    expect(outcome).to_have_text(f"Transferred to {AGENT}")
    call_id = page.locator("#call-id").inner_text()
    # The bot's voice went through the WebRTC loopback the browser's echo canceller hears.
    assert page.evaluate("document.body.dataset.playback") == "webrtc-loopback"
    # The caller spoke over the greeting: the bot broke off, and the page stopped playing.
    expect(page.locator("#log .log.break")).to_have_count(1)
    # The transcript reached the page live, from the call's feed.
    expect(page.locator("#log .log.you").first).to_contain_text(
        re.compile("agent", re.IGNORECASE), timeout=15_000)
    expect(page.locator("#status")).to_contain_text("ended", timeout=15_000)
    _shot(page, "phone.png")
    live_row = watcher.locator(f'tr[data-call="{call_id}"]')
    expect(live_row).to_contain_text("transfer", timeout=15_000)  # no reload: the feed did it
    watcher.close()

    page.goto(f"{http}/console")
    row = page.locator(f'tr[data-call="{call_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("transfer")
    _shot(page, "console-calls.png")
    # Search: this call ended in a transfer, not a hang-up.
    page.select_option("select[name=outcome]", "hangup")
    page.click("form.search button")
    expect(page.locator(f'tr[data-call="{call_id}"]')).to_have_count(0)
    page.select_option("select[name=outcome]", "transfer")
    page.click("form.search button")
    expect(page.locator(f'tr[data-call="{call_id}"]')).to_have_count(1)

    page.goto(f"{http}/console#call/{call_id}")
    said = page.locator(".turn .said").first
    expect(said).to_contain_text(re.compile("agent", re.IGNORECASE), timeout=15_000)
    expect(page.locator(".turn .nlu").first).to_contain_text("agent")
    expect(page.locator(".turn .latency").first).to_contain_text("ms")
    expect(page.locator("audio#player")).to_have_count(1)
    duration = page.eval_on_selector(
        "audio#player", "a => new Promise(r => a.readyState >= 1 ? r(a.duration) : "
        "a.addEventListener('loadedmetadata', () => r(a.duration)))")
    assert duration > 3, f"the recording holds the call ({duration} s)"
    # The turn's button plays the recording from where the caller started speaking.
    jump = page.locator(".turn button.jump").first
    offset = float(re.sub(r"[^0-9.]", "", jump.inner_text()))
    jump.click()
    position = page.eval_on_selector("audio#player", "a => a.currentTime")
    assert offset - 1.0 <= position <= offset + 1.0, (offset, position)
    # The path on the graph: from the start into the greeting, and out to the transfer.
    expect(page.locator(".flow-graph .node.visited[data-node=greeting]")).to_have_count(1)
    expect(page.locator(".flow-graph .edge.taken[data-to^=transfer]")).not_to_have_count(0)
    _shot(page, "console-call.png")
    assert not errors, errors
    context.close()
    _check_recording(http, call_id)


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def _check_recording(http: str, call_id: str) -> None:
    """The browser call's recording: the caller on the left where the record says they
    spoke, the greeting on the right, cut soon after the caller started talking over it
    (and silent until the reply: the rest of the greeting was never heard)."""
    record = json.loads(_get(f"{http}/console/api/calls/{call_id}"))
    with wave.open(io.BytesIO(_get(f"{http}/console/api/calls/{call_id}/recording"))) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
    assert data.shape[1] == 2
    onset = next(e["data"]["onset_s"] for e in record["events"] if e["kind"] == "utterance")
    block = rate // 50  # 20 ms
    right = [_rms(data[i:i + block, 1]) for i in range(0, data.shape[0] - block, block)]

    def seconds(a: float, b: float, channel: int) -> np.ndarray:
        return data[int(a * rate):int(b * rate), channel]

    assert _rms(seconds(onset, onset + 1.0, 0)) > 300, "the caller, left, when they spoke"
    assert _rms(seconds(max(0.0, onset - 1.0), onset, 1)) > 300, "the greeting, right, playing"
    # The first 300 ms of silence on the right after the caller began: where the break cut.
    cut = next(i for i in range(int(onset * 50), len(right) - 15)
               if max(right[i:i + 15]) < 100) / 50
    # Barge-in needs barge_in.min_speech_ms of speech, then the break; a second is generous.
    assert onset < cut < onset + 1.0, (onset, cut)


def test_choose_a_flow_and_key_in_digits(server: dict, browser: Browser) -> None:
    """Another flow from the served one's folder, and the keypad: six digits and # as
    RFC 4733 telephone-events reach the flow, which reads them back."""
    http = server["http"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in(page, http, "/console/phone")
    expect(page.locator("#status")).to_have_text("ready", timeout=10_000)
    page.select_option("#flow", "account_lookup")
    page.click("#call")
    expect(page.locator("#log .log.bot").first).to_contain_text("six digit account number",
                                                               timeout=30_000)
    for key in "123456#":
        page.click(f'#keypad button[data-key="{key}"]')
    expect(page.locator("#log .log.bot", has_text="Is that correct")).to_have_count(
        1, timeout=30_000)
    call_id = page.locator("#call-id").inner_text()
    _shot(page, "phone-keypad.png")
    page.click("#hangup")
    expect(page.locator("#status")).to_contain_text("ended")
    record = page.evaluate(
        "id => fetch('/console/api/calls/' + encodeURIComponent(id)).then(r => r.json())",
        call_id)
    assert record["flow"] == "account_lookup"
    keys = "".join(e["data"]["digit"] for e in record["events"] if e["kind"] == "dtmf")
    # Six digits fill the slot and start the read-back; "#" may still wait behind it.
    assert keys.startswith("123456"), keys
    context.close()
