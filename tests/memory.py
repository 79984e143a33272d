"""Peak resident memory of this process, for the memory tests' child processes."""

from __future__ import annotations

import resource


def _status(field: str) -> int | None:
    """A memory field of /proc/self/status in bytes (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None


def peak_rss() -> int:
    """Peak RSS in bytes. Linux's ``VmHWM`` starts afresh with each program,
    where ``ru_maxrss`` carries the parent's peak across ``exec``."""
    peak = _status("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    """Resident memory now, in bytes (0 where /proc is missing)."""
    return _status("VmRSS") or 0
