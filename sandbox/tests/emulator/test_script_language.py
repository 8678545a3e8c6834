"""The behaviour-script language on its own: templates, expressions, the strict parser.

Pure functions, no API server: these pin the language users write in ``spec.emulator``.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from kontinue_sandbox.emulator import template
from kontinue_sandbox.emulator.schedules import Timeline, cron_latest, cron_next
from kontinue_sandbox.emulator.script import ScriptError, SpawnStep, parse_script
from kontinue_sandbox.emulator.times import (
    Speed,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)

SCOPE = {
    "args": {"n": 3, "name": "ada", "items": [1, 2, 3], "flag": False},
    "results": {"r": {"x": 1}},
    "i": 2,
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ args.n }}", 3),
        ("n={{ args.n }}", "n=3"),
        ("{{ args.n * 2 + 1 }}", 7),
        ("{{ args.n / 2 }}", 1.5),
        ("{{ 6 / 2 }}", 3),
        ("{{ args.n // 2 }}, {{ args.n % 2 }}", "1, 1"),
        ("{{ sum(args.items) }}", 6),
        ("{{ len(args.items) }}", 3),
        ("{{ join(args.items, '-') }}", "1-2-3"),
        ("{{ upper(args.name) }}", "ADA"),
        ("{{ args.items[i] }}", 3),
        ("{{ results.r.x == 1 and not args.flag }}", True),
        ("{{ default(args.missing, 'fallback') }}", "fallback"),
        ("{{ [args.n, i] }}", [3, 2]),
        ("{{ args.items }}!", "[1,2,3]!"),
        ("{{ range(3) }}", [0, 1, 2]),
        ("plain text", "plain text"),
    ],
)
def test_templates_render_typed_values_and_text(source: str, expected: object) -> None:
    assert template.render(source, SCOPE) == expected


def test_objects_and_lists_render_member_by_member() -> None:
    assert template.render({"a": ["{{ i }}", {"b": "x{{ i }}"}], "c": 1}, SCOPE) == {
        "a": [2, {"b": "x2"}],
        "c": 1,
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ args.nope }}", "args.nope is not defined"),
        ("{{ args.name + 1 }}", "+ needs a number"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ range(100000) }}", "over the limit"),
        ("{{ eval('1') }}", "unknown function 'eval'"),
        ("{{ __import__ }}", "__import__ is not defined"),
        ("{{ args. }}", "expected a field name"),
        ("{{ 1 +", "unclosed {{"),
    ],
)
def test_bad_templates_raise_template_errors_never_python_ones(source: str, message: str) -> None:
    with pytest.raises(template.TemplateError) as raised:
        template.render(source, SCOPE)
    assert message in str(raised.value)


def test_a_script_parses_with_shorthands_ids_and_names() -> None:
    script = parse_script(
        {
            "speed": 5,
            "steps": [
                {"log": "hi"},
                {"id": "kids", "spawn": "child", "as": "kids"},
                {"suspend": {"for": "1m", "message": "nap"}},
                {"fail": "boom", "when": "args.fail"},
                {"return": "{{ results.kids }}"},
            ],
        },
        "f",
    )
    assert script.speed == 5
    assert [s.key for s in script.steps] == ["0", "kids", "2", "3", "4"]
    assert [s.kind for s in script.steps] == ["log", "spawn", "suspend", "fail", "return"]
    spawn = script.steps[1].body
    assert isinstance(spawn, SpawnStep)
    assert (spawn.function, spawn.wait, script.steps[1].as_name) == ("child", True, "kids")


def test_a_function_without_a_script_logs_one_line_and_completes() -> None:
    script = parse_script(None, "plain")
    assert script.implicit
    assert [s.kind for s in script.steps] == ["log"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "spec.emulator must be an object"),
        ({"stepz": []}, "unknown field(s) stepz"),
        ({"steps": [{"log": "a", "sleep": "1s"}]}, "exactly one of"),
        ({"steps": [{"log": {"text": "a"}}]}, "unknown field(s) text"),
        ({"steps": [{"id": "Bad_ID", "log": "a"}]}, "not a valid step id"),
        ({"steps": [{"id": "worker", "log": "a"}]}, "not a valid step id"),
        ({"steps": [{"log": "a", "count": 1}]}, "unknown field(s) count next to 'log'"),
        ({"steps": [{"log": {"message": "a", "count": 5000}}]}, "from 0 to 1000"),
        ({"steps": [{"fail": {"firstAttempts": 0}}]}, "positive integer"),
        ({"steps": [{"return": 1}, {"log": "late"}]}, "unreachable"),
        ({"steps": [{"log": "a", "when": "args.x =="}]}, "when"),
    ],
)
def test_malformed_scripts_are_refused_with_the_place_named(spec: object, message: str) -> None:
    with pytest.raises(ScriptError) as refused:
        parse_script(spec, "f")
    assert message in str(refused.value)


def test_durations_timestamps_and_speed() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    assert parse_duration(2) == timedelta(seconds=2)
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("5 minutes")
    stamp = parse_timestamp("2025-03-01T10:00:00.250Z")
    assert format_timestamp(stamp) == "2025-03-01T10:00:00.250Z"
    assert format_timestamp(stamp.replace(microsecond=0)) == "2025-03-01T10:00:00Z"
    assert Speed(20).scale(timedelta(seconds=5)) == timedelta(milliseconds=250)
    with pytest.raises(ValueError, match="positive"):
        Speed(0)


def test_a_schedules_clock_runs_speed_times_faster_from_its_creation() -> None:
    anchor = parse_timestamp("2025-03-01T10:00:00Z")
    timeline = Timeline(anchor, Speed(60))
    assert timeline.virtual(anchor + timedelta(seconds=1)) == anchor + timedelta(minutes=1)
    assert timeline.real(anchor + timedelta(hours=1)) == anchor + timedelta(minutes=1)


def test_cron_times_follow_the_time_zone_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = parse_timestamp("2025-03-29T12:00:00Z")  # summer time starts on 2025-03-30
    assert format_timestamp(cron_next("0 9 * * *", berlin, before)) == "2025-03-30T07:00:00Z"
    assert format_timestamp(cron_next("0 9 * * *", berlin, parse_timestamp("2025-03-29T07:00:00Z"))) == (
        "2025-03-29T08:00:00Z"
    )
    now = parse_timestamp("2025-03-01T10:07:30Z")
    assert format_timestamp(cron_latest("*/5 * * * *", ZoneInfo("UTC"), now)) == "2025-03-01T10:05:00Z"
    assert format_timestamp(
        cron_latest("*/5 * * * *", ZoneInfo("UTC"), parse_timestamp("2025-03-01T10:05:00Z"))
    ) == ("2025-03-01T10:05:00Z")
