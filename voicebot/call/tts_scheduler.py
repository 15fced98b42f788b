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
`on_run`, if set, is told each job's wait in the queue and its run time (from the worker
thread): that is how /metrics splits a reply's time into queueing and work.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger(__name__)

_Job = tuple[float, int, Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any],
             float]


class TTSScheduler(Executor):
    def __init__(self, workers: int = 2, name: str = "voicebot-tts",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.clock = clock
        self.workers = workers
        self.on_run: Callable[[float, float], None] | None = None  # (waited_s, ran_s)
        self._running = 0
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
            heapq.heappush(self._heap, (deadline, next(self._seq), future, fn, args, kwargs,
                                        time.monotonic()))
            self._cv.notify()
        return future

    def queued(self) -> int:
        with self._cv:
            return len(self._heap)

    def busy(self) -> int:
        """Jobs running or waiting, not counting those cancelled before they started."""
        with self._cv:
            return self._running + sum(not job[2].cancelled() for job in self._heap)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._shutdown:
                    self._cv.wait()
                if not self._heap:
                    return  # shut down and drained
                _deadline, _seq, future, fn, args, kwargs, filed = heapq.heappop(self._heap)
                if not future.set_running_or_notify_cancel():
                    continue  # cancelled while waiting: the reply was interrupted
                self._running += 1
            started = time.monotonic()
            error: BaseException | None = None
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the awaiting call decides what a failure costs
                error = exc
            # Counted and reported before the future is set, so whoever awaits the job
            # sees this thread free again.
            with self._cv:
                self._running -= 1
            if self.on_run is not None:
                try:
                    self.on_run(started - filed, time.monotonic() - started)
                except Exception:  # a broken observer must not leave the job unanswered
                    log.exception("scheduler observer failed")
            if error is not None:
                future.set_exception(error)
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
