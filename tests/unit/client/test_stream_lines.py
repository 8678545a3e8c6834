"""The transport's streams: bounded parts for long lines (the same cuts however chunks fall), and
the HTTP/2 connections multiplexed streams share."""

from __future__ import annotations

import random

import pytest

from airflow_provider_kontinue.client.jobs import LogPiece, log_bytes, log_text
from airflow_provider_kontinue.client.protocol import LinePiece
from airflow_provider_kontinue.client.transport import (
    LEFT_STREAMS_PER_LANE,
    STREAMS_PER_LANE,
    LineBuffer,
    _Lanes,
)


def read_all(data: bytes, chunk_sizes: list[int], max_line: int | None) -> list[bytes]:
    buffer, lines, at = LineBuffer(max_line), [], 0
    sizes = iter(chunk_sizes)
    while at < len(data):
        size = next(sizes, 7)
        buffer.feed(data[at : at + size])
        at += size
        while (line := buffer.pop()) is not None:
            lines.append(line)
    rest = buffer.rest()
    if rest is not None:
        lines.append(rest)
    return lines


def test_lines_without_a_limit_come_whole_whatever_the_chunks() -> None:
    data = b"first\nsecond line\n\nlast"
    assert read_all(data, [1, 2, 3, 100], None) == [b"first", b"second line", b"", b"last"]


def test_a_line_longer_than_the_limit_comes_in_parts_marked_until_its_last() -> None:
    lines = read_all(b"0123456789abcdefghij\nshort\n", [4] * 20, 8)
    assert lines == [b"01234567", b"89abcdef", b"ghij", b"short"]
    assert [isinstance(line, LinePiece) for line in lines] == [True, True, False, False]


def test_a_line_of_exactly_the_limit_is_one_whole_line() -> None:
    lines = read_all(b"01234567\n", [3, 3, 3], 8)
    assert lines == [b"01234567"]
    assert not isinstance(lines[0], LinePiece)


def test_a_line_one_byte_over_the_limit_is_cut_into_the_limit_and_that_byte() -> None:
    lines = read_all(b"012345678\n", [1] * 10, 8)
    assert lines == [b"01234567", b"8"]
    assert isinstance(lines[0], LinePiece)


def test_the_cuts_are_the_same_for_every_way_the_chunks_fall() -> None:
    generator = random.Random(7)
    text = "".join(generator.choice("ab€😀\n") for _ in range(3000)).encode()
    expected = read_all(text, [len(text)], 16)
    for _ in range(20):
        sizes = [generator.randint(1, 40) for _ in range(len(text))]
        got = read_all(text, sizes, 16)
        assert got == expected
        assert [type(line) for line in got] == [type(line) for line in expected]


def test_parts_are_cut_between_utf8_characters() -> None:
    line = ("é" * 10).encode()  # 2 bytes each: a limit of 5 must cut after 4 bytes
    parts = read_all(line + b"\n", [len(line) + 1], 5)
    assert [part.decode() for part in parts] == ["éé", "éé", "éé", "éé", "éé"]


def test_bytes_that_are_not_utf8_are_cut_at_the_limit_and_shown_as_replacement_characters() -> None:
    parts = read_all(b"\x80" * 10 + b"\n", [11], 4)
    assert [len(part) for part in parts] == [4, 4, 2]
    assert log_text(parts[0]) == "\ufffd" * 4
    assert isinstance(log_text(parts[0]), LogPiece)
    assert not isinstance(log_text(parts[2]), LogPiece)


def test_what_a_buffer_holds_stays_bounded_by_the_limit_plus_a_chunk() -> None:
    buffer, held = LineBuffer(1024), 0
    for _ in range(2000):  # 2 MiB of one line without a newline
        buffer.feed(b"x" * 1024)
        held = max(held, len(buffer._pending))
        while buffer.pop() is not None:
            pass
    assert held <= 1024


@pytest.mark.parametrize(("line", "joined"), [(LinePiece(b"part"), b"part"), (b"whole", b"whole\n")])
def test_read_joins_parts_without_a_newline_between_them(line: bytes, joined: bytes) -> None:
    assert log_bytes(line) == joined


async def test_multiplexed_streams_fill_a_connection_to_its_limit_before_another_opens() -> None:
    lanes = _Lanes({})
    taken = [lanes.take() for _ in range(STREAMS_PER_LANE + 1)]
    assert len(lanes.lanes) == 2
    assert taken[0] is taken[STREAMS_PER_LANE - 1] is not taken[STREAMS_PER_LANE]
    await lanes.close()


async def test_a_connection_that_had_streams_left_before_their_end_takes_no_more_and_closes_when_empty() -> (
    None
):
    lanes = _Lanes({})
    first = lanes.take()
    for _ in range(LEFT_STREAMS_PER_LANE):
        lanes.take()
    for _ in range(LEFT_STREAMS_PER_LANE):
        await first.release(ended=False)  # left open on the server: httpcore sends no reset
    assert lanes.take() is not first  # the new stream goes on a fresh connection
    await first.release(ended=True)
    assert first not in lanes.lanes
    assert first.http.is_closed
    await lanes.close()
