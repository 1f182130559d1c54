"""Timing shared by the benchmark scripts."""

import statistics
import time


def timed(fn, repeats):
    """Median seconds of `fn()` after one warm-up call (compilation, caches)."""
    fn()
    return later_calls(fn, repeats)


def first_and_later(fn, repeats):
    """Seconds of the first `fn()` (tracing and compilation included), and the
    median of the `repeats` calls after it."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, later_calls(fn, repeats)


def later_calls(fn, repeats):
    """Median seconds of `repeats` calls of `fn()`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
