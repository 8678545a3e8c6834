"""The token bucket: a burst at once, then qps per second, shared by every caller."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_kontinue.client.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_through_without_waiting() -> None:
    bucket = TokenBucket(qps=5, burst=10, clock=Clock())
    assert [bucket.reserve() for _ in range(10)] == [0.0] * 10


def test_beyond_the_burst_each_request_waits_one_qps_interval_more() -> None:
    bucket = TokenBucket(qps=5, burst=2, clock=Clock())
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.2, 0.4, 0.6])


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    for _ in range(3):
        bucket.reserve()
    clock.now += 0.1
    assert bucket.reserve() == pytest.approx(0.0, abs=1e-9)
    assert bucket.reserve() == pytest.approx(0.1)
    clock.now += 100
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() > 0


def test_threads_share_one_budget() -> None:
    bucket = TokenBucket(qps=1, burst=4, clock=Clock())
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        wait = bucket.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0, 0, 0, 0, 1, 2, 3, 4])


@pytest.mark.parametrize(("qps", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(qps: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"(qps|burst) must be"):
        TokenBucket(qps, burst)


def test_a_bucket_of_one_lets_one_request_through_at_once() -> None:
    bucket = TokenBucket(qps=1, burst=1, clock=Clock())
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(1.0)


def test_a_fraction_of_a_token_left_over_is_no_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=1, burst=2, clock=clock)
    assert bucket.reserve() == 0.0
    clock.now += 0.5  # 1.5 tokens: one is taken, half of one is left
    assert bucket.reserve() == 0.0
