"""The face queue: analyses in arrival order, a wait estimate from what they took, refusal before any work."""

from __future__ import annotations

import threading
import time

import pytest

from exam_server.face.admission import MIN_RETRY_SECONDS, FaceBusy, FaceQueue


def hold_turn(
    queue: FaceQueue,
    frames: int,
    release: threading.Event,
    started: threading.Event | None = None,
    log: list | None = None,
    name: str = "",
    since: float | None = None,
) -> threading.Thread:
    """Take a turn in a thread (as old as `since`, if given) and keep it until `release` is set."""

    def run():
        with queue.turn(frames, "frames:16" if since is not None else "", since):
            if log is not None:
                log.append(name)
            if started is not None:
                started.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_idle_queue_admits_at_once_and_learns_the_time_per_frame():
    queue = FaceQueue(max_wait=5, seconds_per_frame=1.0)
    with queue.turn(4):
        time.sleep(0.05)
    # 0.8 x 1.0 + 0.2 x (about 0.0125 s per frame)
    assert 0.80 < queue.seconds_per_frame < 0.81
    assert queue.estimated_wait() == 0


def test_requests_are_served_in_arrival_order_one_at_a_time():
    queue = FaceQueue(max_wait=100, seconds_per_frame=0.01)
    order: list[str] = []
    first_in, release_first = threading.Event(), threading.Event()
    hold_turn(queue, 1, release_first, first_in, order, "first")
    assert first_in.wait(5)
    release_rest = threading.Event()
    release_rest.set()
    waiting = []
    for n in range(5):
        waiting.append(hold_turn(queue, 1, release_rest, log=order, name=f"next{n}"))
        wait_for(lambda n=n: queue.estimated_wait() >= 0.01 * (n + 2) - 1e-9)  # queued before the next one starts
    assert order == ["first"]  # nobody overtakes the running analysis
    release_first.set()
    for thread in waiting:
        thread.join(5)
    assert order == ["first", "next0", "next1", "next2", "next3", "next4"]


def test_a_request_that_would_wait_too_long_is_refused_at_once_with_a_retry_time():
    queue = FaceQueue(max_wait=2.0, seconds_per_frame=0.5)
    release = threading.Event()
    started = threading.Event()
    queue.admit()  # an idle queue admits
    holder = hold_turn(queue, 4, release, started)  # 2 s of work ahead: still admitted
    assert started.wait(5)
    queue.admit()
    assert queue.estimated_wait() == pytest.approx(2.0)
    hold_turn(queue, 40, release)  # 20 s of work waits behind it
    wait_for(lambda: queue.estimated_wait() == pytest.approx(22.0))
    began = time.monotonic()
    with pytest.raises(FaceBusy) as busy:
        queue.admit()
    assert time.monotonic() - began < 0.5  # refused without waiting
    assert busy.value.retry_after == 20 and busy.value.waiting_seconds == pytest.approx(22.0)
    release.set()
    holder.join(5)


def test_a_queue_just_over_its_limit_asks_for_a_few_seconds_not_one():
    queue = FaceQueue(max_wait=2.0, seconds_per_frame=0.5)
    release = threading.Event()
    started = threading.Event()
    hold_turn(queue, 5, release, started)  # 2.5 s ahead: half a second over the limit
    assert started.wait(5)
    with pytest.raises(FaceBusy) as busy:
        queue.admit()
    assert busy.value.retry_after == MIN_RETRY_SECONDS == 5
    release.set()


def test_a_turn_is_never_refused_however_long_the_queue():
    queue = FaceQueue(max_wait=0.1, seconds_per_frame=1.0)
    release = threading.Event()
    started = threading.Event()
    hold_turn(queue, 1, release, started)
    assert started.wait(5)
    with pytest.raises(FaceBusy):
        queue.admit()
    served = threading.Event()

    def capture():
        with queue.turn(1):
            served.set()

    threading.Thread(target=capture, daemon=True).start()
    assert not served.wait(0.2)  # queued behind the running analysis
    release.set()
    assert served.wait(5)


def test_concurrency_lets_that_many_run_at_once():
    queue = FaceQueue(max_wait=100, concurrency=2, seconds_per_frame=1.0)
    release = threading.Event()
    first, second = threading.Event(), threading.Event()
    hold_turn(queue, 1, release, first)
    hold_turn(queue, 1, release, second)
    assert first.wait(5) and second.wait(5)
    assert queue.estimated_wait() == pytest.approx(1.0)  # two frames running, shared by two
    release.set()
    with pytest.raises(ValueError):
        FaceQueue(max_wait=1, concurrency=0)


def test_an_older_request_goes_ahead_of_newer_ones_waiting():
    """A burst sent again after face_busy gives its check-in's age and keeps its place among newer bursts."""
    queue = FaceQueue(max_wait=100, seconds_per_frame=0.01)
    order: list[str] = []
    first_in, release_first = threading.Event(), threading.Event()
    hold_turn(queue, 1, release_first, first_in, order, "running")
    assert first_in.wait(5)
    now = time.time()
    release_rest = threading.Event()
    release_rest.set()
    waiting = []
    for queued, (name, since) in enumerate((("new", now), ("newer", now + 1), ("resent, began earlier", now - 30))):
        waiting.append(hold_turn(queue, 1, release_rest, log=order, name=name, since=since))
        wait_for(lambda queued=queued: len(queue._waiting) == queued + 1)  # in the queue before the next comes
    release_first.set()
    for thread in waiting:
        thread.join(5)
    assert order == ["running", "resent, began earlier", "new", "newer"]


def test_admission_counts_only_the_work_ahead_of_the_request_and_learns_each_kind():
    queue = FaceQueue(max_wait=2.0, seconds_per_frame=0.5)
    with queue.turn(16, "frames:16"):
        time.sleep(0.05)
    # A 16-frame burst is learnt as what it took, not as 16 frames at the per-frame average.
    assert queue.seconds_by_kind["frames:16"] == pytest.approx(0.05, abs=0.04)
    release, started = threading.Event(), threading.Event()
    hold_turn(queue, 10, release, started)  # 5 s of work running, counted by frames (no kind)
    assert started.wait(5)
    with pytest.raises(FaceBusy):
        queue.admit(time.time())
    release.set()
    wait_for(lambda: queue.estimated_wait() == 0)
    queue.admit(time.time())
