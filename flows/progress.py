"""Progress of a CLI backfill: a bar on a terminal, a plain line now and then otherwise.

The walk reports every page here; nothing shows unless the CLI turned it on.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 every_seconds: float = 10.0) -> None:
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every_seconds
        self.pages = self.items = self.errors = 0
        self.reached: str | None = None  # newest date of the last page (date-range backfills)
        self._last = 0.0
        self._lock = threading.Lock()

    def page(self, *, items: int = 0, failed: bool = False, reached: str | None = None) -> None:
        with self._lock:
            self.pages += 1
            self.items += items
            self.errors += failed
            self.reached = reached or self.reached
            now = time.monotonic()
            if self.tty:
                self.stream.write("\r" + self.line())
                self.stream.flush()
            elif now - self._last >= self.every:
                self.stream.write(self.line() + "\n")
                self.stream.flush()
                self._last = now

    def line(self) -> str:
        counts = f"{self.items} items, {self.errors} errors"
        if self.total:
            done = min(self.pages, self.total)
            filled = round(BAR_WIDTH * done / self.total)
            bar = "█" * filled + "·" * (BAR_WIDTH - filled)
            return f"{self.label} {bar} {done}/{self.total} pages, {counts}"
        reached = f", reached {self.reached}" if self.reached else ""
        return f"{self.label}: {self.pages} pages{reached}, {counts}"

    def close(self) -> None:
        with self._lock:
            self.stream.write(("\r" if self.tty else "") + self.line() + "\n")
            self.stream.flush()


_current: Progress | None = None


def start(progress: Progress) -> None:
    global _current
    _current = progress


def stop() -> None:
    global _current
    if _current is not None:
        _current.close()
    _current = None


def page(*, items: int = 0, failed: bool = False, reached: str | None = None) -> None:
    """Called by the walk for every page; a no-op unless a CLI started a Progress."""
    if _current is not None:
        _current.page(items=items, failed=failed, reached=reached)
