"""The kontinue emulator: a stand-in for the kontinue controller and its workers.

It runs as its own process (``python -m kontinue_sandbox.emulator``) over a real
kube-apiserver with the kontinue CRDs, watches Executions, Suspensions, Functions,
ScheduledExecutions and ArchivedExecutions, and moves them through their phases the way
``kontinue-api.md`` (sections 3 to 8 and 10) says kontinue does. What each function does is declared
in its Function's ``spec.emulator`` behaviour script (see ``script.py`` and docs/sandbox.md). Every
attempt runs as a real ``batch/v1`` Job with one Pod on a fake Node, whose kubelet (``kubelet.py``)
serves the attempt's log lines through the API server's ``pods/log`` endpoint.

All state lives in the resources: the process can be killed at any time and, once restarted,
picks up every execution where its status says it was.
"""
