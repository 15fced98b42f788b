"""Speech synthesis threads that serve the most urgent sentence first, not the oldest.

With a FIFO pool, eight calls replying at once queue up behind each other's whole
replies: call B's first words wait while call A's second and third sentences are
synthesised, though A's caller is still hearing A's first. Each job here carries a
deadline: the moment its audio is needed. A reply's first piece is needed now (a caller
is waiting in silence); a later piece is needed when the audio before it runs out. The
threads take the earliest deadline first (EDF), so every call's first audio outranks the
rest of every other call's reply, and a later piece still comes before its own reply
runs dry whenever the CPU allows.

It is a `concurrent.futures.Executor`: `submit` (and so `loop.run_in_executor`) files a
job due now; `submit_by` gives the deadline. A job cancelled before it starts never runs.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

_Job = tuple[float, int, Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class TTSScheduler(Executor):
    def __init__(self, workers: int = 2, name: str = "voicebot-tts",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.clock = clock
        self._heap: list[_Job] = []
        self._seq = itertools.count()  # equal deadlines: first come, first served
        self._cv = threading.Condition()
        self._shutdown = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.submit_by(self.clock(), fn, *args, **kwargs)

    def submit_by(self, deadline: float, fn: Callable[..., Any], /, *args: Any,
                  **kwargs: Any) -> Future[Any]:
        """Run `fn(*args)` on a synthesis thread; of the waiting jobs, the earliest
        `deadline` (clock seconds) runs first."""
        future: Future[Any] = Future()
        with self._cv:
            if self._shutdown:
                raise RuntimeError("cannot schedule new synthesis after shutdown")
            heapq.heappush(self._heap, (deadline, next(self._seq), future, fn, args, kwargs))
            self._cv.notify()
        return future

    def queued(self) -> int:
        with self._cv:
            return len(self._heap)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._shutdown:
                    self._cv.wait()
                if not self._heap:
                    return  # shut down and drained
                _deadline, _seq, future, fn, args, kwargs = heapq.heappop(self._heap)
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while waiting: the reply was interrupted
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the awaiting call decides what a failure costs
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cv:
            self._shutdown = True
            if cancel_futures:
                for job in self._heap:
                    job[2].cancel()
                self._heap.clear()
            self._cv.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()
