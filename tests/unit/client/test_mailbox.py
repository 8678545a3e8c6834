"""The informer's mailbox: what a shared watch hands one waiting coroutine, in order, without the
memory of an ``asyncio.Queue`` (``rss_kib_per_wait`` in ``make bench`` counts one per wait)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_kontinue.client.informer import Mailbox


def test_items_come_out_in_the_order_they_were_put() -> None:
    async def scenario() -> list[str]:
        mailbox = Mailbox()
        for item in ("a", "b", "c"):
            mailbox.put(item)
        return [await mailbox.get() for _ in range(3)]

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_a_waiting_consumer_wakes_on_the_next_put() -> None:
    async def scenario() -> str:
        mailbox = Mailbox()
        consumer = asyncio.ensure_future(mailbox.get())
        await asyncio.sleep(0)
        assert not consumer.done()  # nothing to read yet
        asyncio.get_running_loop().call_later(0.01, mailbox.put, "change")
        return str(await asyncio.wait_for(consumer, 5))

    assert asyncio.run(scenario()) == "change"


def test_a_get_with_nothing_put_times_out_and_the_mailbox_still_works() -> None:
    async def scenario() -> str:
        mailbox = Mailbox()
        with pytest.raises(TimeoutError):
            await mailbox.get(timeout=0.01)
        mailbox.put("late")
        return str(await mailbox.get(timeout=1))

    assert asyncio.run(scenario()) == "late"


def test_items_put_while_the_consumer_was_away_are_all_kept() -> None:
    async def scenario() -> list[int]:
        mailbox = Mailbox()
        consumer = asyncio.ensure_future(mailbox.get())
        await asyncio.sleep(0)
        mailbox.put(1)
        mailbox.put(2)  # before the woken consumer ran
        first = await asyncio.wait_for(consumer, 5)
        return [first, await mailbox.get(timeout=1)]

    assert asyncio.run(scenario()) == [1, 2]


def test_an_empty_mailbox_holds_no_list() -> None:
    async def scenario() -> Mailbox:
        mailbox = Mailbox()
        mailbox.put("x")
        await mailbox.get()
        return mailbox

    drained = asyncio.run(scenario())
    assert drained._items is None  # what a drained mailbox keeps: two empty slots
    assert drained._waiter is None
