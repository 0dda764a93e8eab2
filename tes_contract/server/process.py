"""memory, cpu and uptime of this process, and why these sources.

- `cpu`: `time.process_time()` (standard library): user + system CPU of this process from the kernel's
  per-process CPU clock, about 0.4 us a call, never decreasing; in ms, integer.
- `memory`: resident set size. The standard library only gives the *peak* RSS (`resource.getrusage`);
  psutil gives the current one portably (~13 us); on Linux /proc/self/statm is read through a descriptor
  kept open (~2 us).
- `uptime`: the process start time from psutil, turned once into a monotonic origin, so uptime never
  decreases even if the wall clock is set back.
"""

from __future__ import annotations

import os
import time

import psutil


class ProcessMetrics:
    """memory (bytes), cpu (cumulative ms, integer) and uptime (s) of this process."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        started_ago = max(0.0, time.time() - self._process.create_time())
        self._origin = time.monotonic() - started_ago
        self._statm = _open_statm()
        self._page_size = os.sysconf("SC_PAGE_SIZE") if self._statm is not None else 0
        self._usage_ms = -1
        self._usage = (0, 0)

    def usage(self) -> tuple[int, int]:
        """(memory, cpu) read at most once per millisecond (of the monotonic clock).

        Snapshots taken within the same millisecond share one reading: their timestamps are the same
        millisecond, and `cpu` counts whole milliseconds. Under load, when a batch of status requests is
        answered at once, this spares two system calls per request (a tenth of the server's own work).
        """
        now_ms = time.monotonic_ns() // 1_000_000
        if now_ms != self._usage_ms:
            self._usage = (self.memory(), self.cpu_ms())
            self._usage_ms = now_ms
        return self._usage

    def memory(self) -> int:
        """Resident set size in bytes."""
        if self._statm is not None:
            # Linux: the same figure psutil reads (/proc/self/statm, resident pages), from a descriptor
            # kept open: a pread at offset 0 regenerates it, without open/close on every status request.
            return int(os.pread(self._statm, 128, 0).split()[1]) * self._page_size
        return int(self._process.memory_info().rss)

    def close(self) -> None:
        """Release the /proc descriptor."""
        if self._statm is not None:
            os.close(self._statm)
            self._statm = None

    def cpu_ms(self) -> int:
        """User + system CPU time of the process, in whole milliseconds."""
        return int(time.process_time() * 1000)

    def uptime_s(self) -> float:
        """Seconds since the process started, from the monotonic clock."""
        return time.monotonic() - self._origin


def _open_statm() -> int | None:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None  # not Linux: psutil
    try:
        int(os.pread(fd, 128, 0).split()[1])
    except (OSError, ValueError, IndexError):
        os.close(fd)
        return None
    return fd
