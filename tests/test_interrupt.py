"""Ctrl-C and progress reporting, on every fast backend (README, "Memory, threads, progress":
a run stops within about a second; ``progress=True`` shows a bar on stderr)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastprdc
from fastprdc import primitives as P

# Big enough that a full run takes more than a second on 2 cores (self-kNN of 40000 x 128:
# 8e8 pairs), so the first progress call (after ~0.1 s) lands in the middle of a run.
BIG_N, BIG_D = 40000, 128


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(99)
    return rng.standard_normal((BIG_N, BIG_D), dtype=np.float32)


class _Interrupter:
    """progress(done, total) that raises KeyboardInterrupt once ``after`` seconds passed."""

    def __init__(self, after):
        self.after = after
        self.start = time.perf_counter()
        self.calls = []
        self.raised_at = None

    def __call__(self, done, total):
        now = time.perf_counter()
        self.calls.append((done, total))
        if now - self.start >= self.after:
            self.raised_at = now
            raise KeyboardInterrupt


@pytest.mark.parametrize("entry", ["knn", "precision_recall", "cross_pass"])
def test_progress_callback_interrupt_stops_promptly(big, entry, fast_backend):
    cb = _Interrupter(after=0.0)  # raise on the first call
    with pytest.raises(KeyboardInterrupt):
        if entry == "knn":
            P.knn(big, k=5, device=fast_backend, progress=cb)
        elif entry == "precision_recall":
            fastprdc.precision_recall(
                big[:30000], big[30000:], k=3, device=fast_backend, progress=cb
            )
        else:
            from fastprdc._backends import get_backend
            from fastprdc._options import RunOptions

            radii = np.ones((BIG_N // 2, 1))
            get_backend(fast_backend).cross_pass(
                big[: BIG_N // 2], big[BIG_N // 2 :], radii, None, False, 2, 2,
                RunOptions(progress=cb),
            )  # fmt: skip
    stopped = time.perf_counter()
    assert cb.raised_at is not None, "the callback never raised"
    assert stopped - cb.raised_at < 1.0, f"took {stopped - cb.raised_at:.2f} s to stop"
    done, total = cb.calls[-1]
    assert 0 <= done < total, f"the run was not stopped mid-way: {cb.calls[-3:]}"
    assert all(isinstance(v, int) for v in (done, total))
    # the engine is usable again afterwards (no leaked state / threads holding locks)
    small = big[:300]
    got = P.knn(small, k=3, device=fast_backend)
    ref = P.knn(small, k=3, device="numpy")
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_progress_callback_reports_monotone_progress(fast_backend):
    rng = np.random.default_rng(1)
    real = rng.standard_normal((3000, 32), dtype=np.float32)
    fake = rng.standard_normal((2500, 32), dtype=np.float32)
    calls = []
    res = fastprdc.precision_recall(
        real, fake, device=fast_backend, tile_rows=64, progress=lambda d, t: calls.append((d, t))
    )
    assert calls, "progress was never called"
    assert all(0 <= d <= t and t > 0 for d, t in calls)
    assert res == fastprdc.precision_recall(real, fake, device=fast_backend, tile_rows=64)


def test_progress_callback_is_told_the_phase(fast_backend):
    """A callable that takes ``phase`` (or ``**kwargs``) gets each phase's name; one that
    takes ``(done, total)`` only is called as before (the test above)."""
    rng = np.random.default_rng(3)
    real = rng.standard_normal((900, 16), dtype=np.float32)
    fake = rng.standard_normal((800, 16), dtype=np.float32)
    named, keywords = [], []

    def by_name(done, total, phase):
        named.append((phase, done, total))

    run = {"metrics": "precision_recall", "device": fast_backend, "tile_rows": 128}
    fastprdc.evaluate(real, fake, progress=by_name, **run)
    fastprdc.evaluate(real, fake, progress=lambda d, t, **kw: keywords.append(kw["phase"]), **run)
    phases = list(dict.fromkeys(p for p, _, _ in named))
    assert phases == ["kNN real", "kNN fake", "cross pass"], phases
    assert list(dict.fromkeys(keywords)) == phases
    for name in phases:  # each phase counts its own tiles up to its total
        calls = [(d, t) for p, d, t in named if p == name]
        assert calls[-1][0] == calls[-1][1] > 0, (name, calls[-3:])
    seen = []
    P.knn(real, k=3, device=fast_backend, progress=lambda d, t, phase: seen.append(phase))
    assert set(seen) == {"kNN"}


def test_progress_callables_that_cannot_take_the_phase(fast_backend):
    """A wrapper made with functools.wraps is called with (done, total) even when the function
    it wraps takes a phase (the wrapper may not pass it on); so is one whose first positional
    parameter is named phase (a keyword would give it twice)."""
    import functools

    rng = np.random.default_rng(4)
    real = rng.standard_normal((500, 8), dtype=np.float32)
    calls = []

    def report(done, total, phase=None):
        calls.append(phase)

    @functools.wraps(report)
    def every_call(done, total):
        report(done, total)

    P.knn(real, k=3, device=fast_backend, tile_rows=100, progress=every_call)
    assert calls and set(calls) == {None}
    firsts = []
    P.knn(real, k=3, device=fast_backend, tile_rows=100,
          progress=lambda phase, total=0: firsts.append(phase))  # fmt: skip
    assert firsts and all(isinstance(v, int) for v in firsts)  # (done, total) as before


def test_progress_bar_on_stderr(capsys, fast_backend):
    rng = np.random.default_rng(2)
    real = rng.standard_normal((2000, 16), dtype=np.float32)
    fake = rng.standard_normal((1800, 16), dtype=np.float32)
    with_bar = fastprdc.density_coverage(real, fake, device=fast_backend, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "fastprdc" in err and "tile" in err, err[-500:]
    assert with_bar == fastprdc.density_coverage(real, fake, device=fast_backend)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_sigint_stops_native_run_within_a_second():
    """Real Ctrl-C (SIGINT) during a native run with no progress callback (the run would
    take about 8 s on 2 cores: self-kNN of 100000 x 128). The cpu backend only: the run must
    outlast the signal's delivery, and a GPU finishes this size in well under a second (the
    progress-callback tests above interrupt every backend mid-run)."""
    script = textwrap.dedent(
        f"""
        import signal, sys, numpy as np, fastprdc
        # as started from a terminal: a process started in the background (`pytest &`, nohup)
        # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
        signal.signal(signal.SIGINT, signal.default_int_handler)
        x = np.random.default_rng(0).standard_normal((100000, {BIG_D}), dtype=np.float32)
        fastprdc.primitives.knn(x[:100], k=3, device="cpu")  # warm up
        print("ready", flush=True)
        fastprdc.primitives.knn(x, k=5, device="cpu")
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        elapsed = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "finished" not in out, "the run completed: SIGINT not honoured (or the run too short)"
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop after SIGINT"
