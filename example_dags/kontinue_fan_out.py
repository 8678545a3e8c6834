"""Fan out: one kontinue execution per item of a list (dynamic task mapping), then gather the results.

Each mapped task instance gets its own deterministic execution name (the map index is part of
it), so retrying one of them never spawns a duplicate of another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(
    dag_id="kontinue_fan_out",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"names": ["Ada", "Grace", "Linus"]},
    tags=["kontinue", "example"],
)
def kontinue_fan_out() -> None:
    @task
    def arguments(**context: Any) -> list[dict[str, Any]]:
        return [{"name": name} for name in context["params"]["names"]]

    greetings = KontinueSpawnOperator.partial(task_id="greet", function="hello").expand(arguments=arguments())

    @task
    def gather(results: list[str]) -> str:
        joined = " / ".join(sorted(results))
        print(joined)
        return joined

    gather(greetings.output)


kontinue_fan_out()
