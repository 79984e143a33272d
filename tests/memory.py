"""Peak resident memory of this process, for the memory tests' child processes."""

from __future__ import annotations

import resource


def peak_rss() -> int:
    """Peak RSS in bytes. Linux's ``VmHWM`` starts afresh with each program,
    where ``ru_maxrss`` carries the parent's peak across ``exec``."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
