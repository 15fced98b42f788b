"""Transcription threads where a caller who is waiting comes first, and guesses come last.

A call starts a *speculative* transcription after a short pause (listen.speculative_after_ms),
before its turn has surely ended: if the caller stays silent, the transcript is ready when
the turn ends; if the caller goes on, it is thrown away. On an idle machine that hides the
STT time. Under load it is the other way round: with a FIFO pool, a caller whose turn has
ended waits behind other calls' guesses, most of which are thrown away.

So, as for speech synthesis (tts_scheduler.py), each job carries a deadline and the
earliest runs first:
- a final transcription (the turn has ended) and any other urgent job (the NLU) is due now;
- a speculative one is due when its turn would end if the caller stays silent (hangover
  minus the pause it started after). Until then every final outranks it; once that moment
  passes, its caller's turn has ended and it is as urgent as any other final, so using it
  as the turn's transcript never leaves it behind turns that ended later;
- a speculative job whose caller resumed is cancelled by the session and dropped before
  it starts (a cancelled future never runs);
- optionally (`idle_workers` > 0), a guess is not filed at all unless that many STT
  threads are free (`may_speculate`). Off by default: in the load bench nearly every
  guess became its turn's transcript (callers rarely resume after 200 ms), so skipping
  a guess on busy threads only started that turn's transcription later, and the finals'
  wait for a thread grew (docs/speech.md). Turn it on where `voicebot_speculative_total`
  shows many guesses thrown away.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from voicebot.call.tts_scheduler import TTSScheduler


class STTScheduler(TTSScheduler):
    def __init__(self, workers: int = 2, speculative_lead_s: float = 0.2,
                 idle_workers: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`speculative_lead_s`: how long after a speculative job is filed its turn ends,
        if the caller stays silent. `idle_workers`: how many threads must be free (and
        nothing waiting) for a guess to be filed; 0 files every guess."""
        if not 0 <= idle_workers <= workers:
            raise ValueError("idle_workers must be between 0 and workers")
        super().__init__(workers, name="voicebot-stt", clock=clock)
        self.speculative_lead_s = speculative_lead_s
        self.idle_workers = idle_workers

    def may_speculate(self) -> bool:
        """Whether a guess would run at once without taking a thread a final may need."""
        return self.idle_workers == 0 or self.busy() <= self.workers - self.idle_workers

    def submit_speculative(self, fn: Callable[..., Any], /, *args: Any,
                           **kwargs: Any) -> Future[Any]:
        """File a speculative job: it outranks only jobs due after its turn would end."""
        return self.submit_by(self.clock() + self.speculative_lead_s, fn, *args, **kwargs)

    def promote(self, future: Future[Any]) -> None:
        """The guess's turn has ended (it is the turn's transcript now): due now, if it is
        still waiting, whatever its estimated turn end was."""
        now = self.clock()
        with self._cv:
            for i, job in enumerate(self._heap):
                if job[2] is future and job[0] > now:
                    self._heap[i] = (now, *job[1:])
                    heapq.heapify(self._heap)
                    return
