"""Sends paced under the relay's limit: a surge of escalations waits its turn instead of being refused."""

from __future__ import annotations

import threading

from activities.mailer import Pacer


class StoppedClock:
    """Time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_surge_from_many_threads_is_spaced_at_the_relays_rate() -> None:
    clock = StoppedClock()
    slept: list[float] = []
    pacer = Pacer(4, clock=clock, sleep=slept.append)  # 4 a second; nobody's clock moves while they queue
    threads = [threading.Thread(target=pacer.wait) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Twelve sends at one instant leave at 0, 0.25, ... 2.75 s: never more than 4 in any second.
    assert sorted(round(s, 6) for s in slept) == [round(0.25 * n, 6) for n in range(1, 12)]


def test_sends_slower_than_the_rate_never_wait() -> None:
    clock = StoppedClock()
    slept: list[float] = []
    pacer = Pacer(4, clock=clock, sleep=slept.append)
    for _ in range(5):
        pacer.wait()
        clock.now += 1.0
    assert slept == []


def test_no_rate_means_no_pacing() -> None:
    slept: list[float] = []
    pacer = Pacer(None, sleep=slept.append)
    for _ in range(100):
        pacer.wait()
    assert slept == []
