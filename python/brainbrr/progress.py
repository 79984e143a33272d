"""Progress reporting for the ingest: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from brainbrr.ingest_types import Event, Indexing, Recording, Started


class Progress:
    """Consumes ingest events; draws recordings done, MB/s, ETA and failures so far.

    Parameters
    ----------
    stream : text stream
        Where to write (stderr by default).
    interval : float
        Seconds between plain progress lines when ``stream`` is not a terminal.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self.total = self.done = self.failed = self.skipped = 0
        self.bytes_total = self.bytes_done = 0
        self.t0 = self.last = time.monotonic()
        self.drawn: tuple[int, int, int] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self.total, self.bytes_total = event.found - event.current, event.bytes
            self.t0 = time.monotonic()
            self._line(f"{event.found} recordings found, {event.current} already in the store, {self.total} to ingest")
        elif isinstance(event, Recording):
            self.done += 1
            self.bytes_done += event.bytes
            self.failed += event.outcome == "failed"
            self.skipped += event.outcome == "skipped"
            if event.outcome == "failed" and not self.tty:
                self._line(f"failed: {event.reason}")
            self._draw()
        elif isinstance(event, Indexing):
            self._draw(force=True)
            if self.tty:
                self.stream.write("\n")
            self._line(f"rebuilding the index over {event.recordings} recordings")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        state = (self.done, self.failed, self.skipped)
        due = self.tty or now - self.last >= self.interval or self.done == self.total
        if state == self.drawn or not (due or force):
            return
        self.last, self.drawn = now, state
        elapsed = max(now - self.t0, 1e-9)
        rate = self.bytes_done / elapsed / 1e6
        left = (self.bytes_total - self.bytes_done) / (self.bytes_done / elapsed) if self.bytes_done else float("nan")
        eta = "?" if left != left else time.strftime("%H:%M:%S", time.gmtime(left))
        frac = self.done / self.total if self.total else 1.0
        text = (
            f"{self.done}/{self.total} recordings, {rate:.1f} MB/s, ETA {eta}, "
            f"{self.failed} failed, {self.skipped} skipped"
        )
        if self.tty:
            bar = "#" * int(30 * frac)
            self.stream.write(f"\r[{bar:<30}] {text}\x1b[K")
            self.stream.flush()
        else:
            self._line(text)
