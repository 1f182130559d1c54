"""Timing shared by the benchmark scripts."""

import statistics
import time


def timed(fn, repeats):
    """Median seconds of `fn()` after one warm-up call (compilation, caches)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
