"""Progress lines for long loops: done/total, rate and ETA, at most every few seconds."""

from __future__ import annotations

import logging
import time


class Progress:
    """Call `update(n)` after each unit of work; logs `label i/N (pct) rate unit/s, ETA`."""

    def __init__(self, total: int, label: str, unit: str = "it", every_s: float = 5.0, log=None, done: int = 0):
        """`done`: units finished before this process started (a resumed run); the rate counts only new ones."""
        self.total, self.label, self.unit, self.every_s = total, label, unit, every_s
        self.log = log or logging.getLogger("kx")
        self.done = self.resumed = done
        self.start = self.last = time.perf_counter()

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            elapsed = now - self.start
            rate = (self.done - self.resumed) / elapsed if elapsed > 0 else float("inf")
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            self.log.info(
                "%s %d/%d (%.0f%%) %.3g %s/s, elapsed %.1fs, ETA %.1fs%s",
                self.label,
                self.done,
                self.total,
                100.0 * self.done / max(self.total, 1),
                rate,
                self.unit,
                elapsed,
                eta,
                f" | {note}" if note else "",
            )
