"""TTL (spec §3.9, §4): archive a finished root tree into an ArchivedExecution, then delete."""

from __future__ import annotations

import base64
import gzip
import json

from support.emulator import Kontinue, labels, parse_time, status


def test_a_finished_root_tree_is_archived_then_the_archive_is_deleted(kontinue: Kontinue) -> None:
    kontinue.function("part", [{"suspend": {"for": "1s"}}, {"return": "{{ args.n }}"}])
    kontinue.function(
        "whole",
        [
            {"spawn": {"function": "part", "arguments": {"n": "{{ i }}"}, "count": 2}, "as": "parts"},
            {"return": "{{ sum(results.parts) }}"},
        ],
    )
    # 20 s / 60 s at speed 20: archived 1 s after finishing, deleted 3 s after finishing
    kontinue.execution(
        "whole",
        name="whole-1",
        labels={"team": "ops"},
        ttl={"archiveAfter": "20s", "deleteAfter": "60s"},
    )
    done = kontinue.wait_phase("whole-1", "Completed")
    finished = parse_time(status(done)["finishedAt"])
    children = [c["metadata"]["name"] for c in kontinue.children("whole-1")]
    assert len(children) == 2
    archive = kontinue.wait(
        "archivedexecutions",
        "whole-1",
        lambda o: bool(status(o).get("deleteAt")),
        what="the archive",
        timeout=15,
    )
    kontinue.wait_gone("executions", "whole-1")
    assert kontinue.list("executions") == []
    assert kontinue.list("suspensions") == []
    assert kontinue.list("jobs") == []
    assert kontinue.list("pods") == []
    spec = archive["spec"]
    assert parse_time(spec["archivedAt"]) >= finished
    assert labels(archive) == {
        "team": "ops",
        "kontinue.cloud/function": "whole",
        "kontinue.cloud/worker-group": "default",
    }
    assert spec["execution"]["metadata"]["uid"] == done["metadata"]["uid"]
    assert spec["execution"]["status"]["result"] == 1
    assert "state" not in spec["execution"]["status"]
    assert spec["tree"]["encoding"] == "gzip+base64"
    assert spec["tree"]["counts"] == {"executions": 3, "suspensions": 2, "jobs": 3}
    tree = json.loads(gzip.decompress(base64.b64decode(spec["tree"]["data"])))
    assert tree["version"] == 1
    assert tree["root"] == "whole-1"
    assert [e["metadata"]["name"] for e in tree["executions"]] == ["whole-1", *sorted(children)]
    assert tree["executions"][0]["status"]["state"]["spawn/0"] == {"value": [0, 1]}
    assert all(e["kind"] == "Execution" and "managedFields" not in e["metadata"] for e in tree["executions"])
    assert {j["kind"] for j in tree["jobs"]} == {"Job"}
    assert {s["status"]["phase"] for s in tree["suspensions"]} == {"Completed"}
    delete_at = parse_time(archive["status"]["deleteAt"])
    assert abs((delete_at - finished).total_seconds() - 3.0) < 0.01
    kontinue.wait_gone("archivedexecutions", "whole-1", timeout=15)


def test_delete_after_alone_deletes_the_live_tree_without_archiving(kontinue: Kontinue) -> None:
    kontinue.function("leafy", [{"return": 1}])
    kontinue.function("short-lived", [{"spawn": "leafy"}, {"return": 2}])
    kontinue.execution("short-lived", name="short-1", ttl={"deleteAfter": "20s"})
    kontinue.wait_phase("short-1", "Completed")
    kontinue.wait_gone("executions", "short-1", timeout=15)
    assert kontinue.list("executions") == []
    assert kontinue.list("jobs") == []
    assert kontinue.list("archivedexecutions") == []


def test_ttl_on_a_child_execution_is_ignored(kontinue: Kontinue) -> None:
    kontinue.function("kept-child", [{"return": 1}], defaults={"ttl": {"deleteAfter": "1s"}})
    kontinue.function("keeper", [{"spawn": "kept-child"}, {"suspend": "hold"}])
    kontinue.execution("keeper", name="keeper-1")
    kontinue.wait_phase("keeper-1", "Suspended")
    [child] = kontinue.children("keeper-1")
    assert "ttl" not in child["spec"]
    assert kontinue.get("executions", child["metadata"]["name"]) is not None
