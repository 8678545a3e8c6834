"""When a refused request is sent again: a 429 or 5xx carrying ``Retry-After``, as client-go does."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_kontinue.client.transport import MAX_RETRY_AFTER, RETRY_AFTER_TRIES, Wire


def answer(status: int, retry_after: str | None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(status, headers=headers)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_throttled_or_failing_answer_with_retry_after_is_sent_again_after_that_wait(status: int) -> None:
    assert Wire.retry_after(answer(status, "1"), 0) == 1.0


@pytest.mark.parametrize(("status", "retry_after"), [(429, None), (503, None), (409, "1"), (404, "1")])
def test_other_answers_are_handed_on(status: int, retry_after: str | None) -> None:
    assert Wire.retry_after(answer(status, retry_after), 0) is None


def test_the_retries_end_after_client_gos_ten_and_a_long_wait_is_cut_short() -> None:
    assert Wire.retry_after(answer(429, "1"), RETRY_AFTER_TRIES - 1) == 1.0
    assert Wire.retry_after(answer(429, "1"), RETRY_AFTER_TRIES) is None
    assert Wire.retry_after(answer(429, "3600"), 0) == MAX_RETRY_AFTER
    assert Wire.retry_after(answer(429, "soon"), 0) is None
