"""How long after a caller's last word the listening path still hears speech, by line.

The headline's fresh-reply turns (bench/callers.py: Piper, espeak-ng and recorded
voices) are put on each of its lines (quiet -65 dBFS, noisy -45 and -35 dBFS: the same
noise and hum, `Line`), through the wire's µ-law and the server's 8 -> 16 kHz resampler,
then webrtcvad (the default `webrtc` plugin) and the energy gate
(voicebot/audio/gate.py), frame by frame as a call session runs them. Per turn it
prints the *tail*: from the utterance's last speech sample (the bench's mark) to the
end of the last frame still called speech. A turn's silence count starts there, so the
reply comes about `hangover_ms` after it. Also the longest run of frames called silence
inside each utterance (a run of `speculative_after_ms` starts a guess; of `hangover_ms`,
ends the turn). The first of each line's turns starts the stream, so its gap counts the
line's first frame too. Gates compared: the speech-peak gate alone (`noise_gate_db:
null`) and with the noise-floor gate (the default).

    .venv/bin/python -m bench.line_gate
"""

from __future__ import annotations

import numpy as np

from bench.callers import RATE, Line, Turn, voice_turns
from voicebot.audio.gate import EnergyGate
from voicebot.config import ListenConfig
from voicebot.plugins.vad_webrtc import WebrtcVAD, WebrtcVADOptions
from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
from voicebot.telephony.resample import StreamResampler

LINES = {"quiet": -65.0, "noisy_45": -45.0, "noisy_35": -35.0}
FRAME = 320  # 20 ms at 16 kHz


def gated(turns: list[Turn], dbfs: float, gate: EnergyGate) -> list[tuple[int, int]]:
    """(tail ms, longest inner silence ms) of each turn, one second of line around each."""
    line, vad, up = Line(dbfs, seed=1), WebrtcVAD(WebrtcVADOptions()), StreamResampler(RATE, 16000)
    vad.load()
    out = []
    for turn in turns:
        pad = np.zeros(RATE)
        speech = np.concatenate([pad, turn.pcm.astype(np.float64), pad])
        mix = np.clip(speech + line.next(speech.size), -32768, 32767).astype(np.int16)
        pcm = up.process(ulaw_decode(ulaw_encode(mix)))
        flags = [gate(f, vad.speech_probability(f) >= 0.5)
                 for f in (pcm[k:k + FRAME] for k in range(0, pcm.size - FRAME + 1, FRAME))]
        said = [i for i, f in enumerate(flags) if f]
        if not said:
            out.append((0, 0))
            continue
        end = (RATE + turn.speech_end) * 2  # in 16 kHz samples
        longest = run = 0
        for f in flags[said[0]:said[-1]]:
            run = 0 if f else run + 1
            longest = max(longest, run)
        out.append((round(((said[-1] + 1) * FRAME - end) / 16), longest * 20))
    return out


def main() -> None:
    turns = voice_turns(3)
    listen = ListenConfig()
    gates = {"speech-peak gate only": lambda: EnergyGate(listen.energy_gate_db, None),
             "with the noise-floor gate": lambda: EnergyGate(listen.energy_gate_db,
                                                             listen.noise_gate_db)}
    print(f"{len(turns)} turns ({', '.join(sorted({t.voice for t in turns}))}); energy gate "
          f"{listen.energy_gate_db} dB under the peak, noise gate {listen.noise_gate_db} dB "
          f"over the floor")
    for name, make in gates.items():
        for label, dbfs in LINES.items():
            res = gated(turns, dbfs, make())
            tails = [t for t, _ in res]
            gaps = [g for _, g in res[1:]]
            print(f"  {name:26s} {label:9s} tail p50 {np.median(tails):4.0f} ms, max "
                  f"{max(tails):4d} ms; longest inner silence {max(gaps):4d} ms; "
                  f"tails {tails}")


if __name__ == "__main__":
    main()
