"""``get_tree`` and ``watch_tree``: an execution with everything below it, read once or followed.

A tree costs a constant number of requests whatever its size: the execution, then one list per
kind (Executions, Suspensions, Jobs) selected by the ``kontinue.cloud/root`` label, and linking in
memory. ``watch_tree`` then follows the same selections with one watch per kind, applies each event
to its in-memory copy and emits a rebuilt tree (events arriving within 100 ms are coalesced), so a
tree update costs no request at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .constants import LABEL_ATTEMPT, LABEL_PARENT, LABEL_ROOT
from .errors import KontinueError, NotFoundError
from .models import ArchivedExecution, Execution, Suspension
from .protocol import Emit, Op, call, expect, failure
from .resources import ARCHIVED_EXECUTIONS, EXECUTIONS, JOBS, SUSPENSIONS, Kind
from .tree import ExecutionTree, ExecutionTreeNode
from .validation import validate_namespace
from .watcher import Expired, Watcher, next_of_many

COALESCE_SECONDS = 0.1
ROOT_WATCH = "root"


@dataclass
class TreeObjects:
    """Every object of one root's tree, by name, plus where each list left off."""

    target: str
    root: str
    executions: dict[str, Execution] = field(default_factory=dict)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    archived: bool = False
    resource_versions: dict[str, str] = field(default_factory=dict)

    def tree(self) -> ExecutionTree:
        return build_tree(
            self.target,
            self.executions.values(),
            self.suspensions.values(),
            self.jobs.values(),
            archived=self.archived,
        )

    def apply(self, kind: Kind, event_type: str, obj: Mapping[str, Any]) -> None:
        """Apply one watch event to the in-memory copy."""
        name = obj.get("metadata", {}).get("name", "")
        if kind is EXECUTIONS:
            self.executions.pop(name, None)
            if event_type != "DELETED":
                self.executions[name] = Execution.model_validate(obj)
        elif kind is SUSPENSIONS:
            self.suspensions.pop(name, None)
            if event_type != "DELETED":
                self.suspensions[name] = Suspension.model_validate(obj)
        else:
            self.jobs.pop(name, None)
            if event_type != "DELETED":
                self.jobs[name] = dict(obj)


def load_tree(namespace: str, name: str) -> Op[TreeObjects]:
    """Read the tree under execution ``name``: live (4 requests, 5 below the root) or archived."""
    validate_namespace(namespace)
    # Lists, not GETs: each answer carries the resourceVersion it was read at, so the watches of
    # watch_tree start exactly there and miss nothing that changed between two reads.
    target = yield from _list_one(namespace, name)
    if target is None:
        return (yield from _load_archived(namespace, name))
    execution, target_version = target
    root = execution.root_name or execution.name
    objects = TreeObjects(target=name, root=root)
    objects.resource_versions[ROOT_WATCH] = target_version
    objects.executions[name] = execution
    selector = f"{LABEL_ROOT}={root}"
    for kind in (EXECUTIONS, SUSPENSIONS, JOBS):
        listed = yield from expect(kind.list(namespace, label_selector=selector))
        objects.resource_versions[kind.plural] = listed.get("metadata", {}).get("resourceVersion", "0")
        for item in listed.get("items", []):
            objects.apply(kind, "ADDED", item)
    if root != name:
        found = yield from _list_one(namespace, root)
        if found is not None:
            objects.executions[root], objects.resource_versions[ROOT_WATCH] = found
    return objects


def _list_one(namespace: str, name: str) -> Op[tuple[Execution, str] | None]:
    """The execution ``name`` and the resourceVersion it was read at, or ``None`` if not live."""
    listed = yield from expect(EXECUTIONS.list(namespace, field_selector=f"metadata.name={name}"))
    items = listed.get("items", [])
    if not items:
        return None
    return Execution.model_validate(items[0]), listed.get("metadata", {}).get("resourceVersion", "0")


def _load_archived(namespace: str, name: str) -> Op[TreeObjects]:
    request = ARCHIVED_EXECUTIONS.get(namespace, name)
    response = yield from call(request)
    if response.status == 404:
        raise NotFoundError(
            f"execution {name!r} not found in namespace {namespace!r}, live or archived (an execution "
            "archived inside another root's tree can only be reached through that root)",
            verb="get",
            resource=EXECUTIONS.resource,
            namespace=namespace,
            name=name,
        )
    if not response.ok:
        raise failure(request, response)
    archive = ArchivedExecution.model_validate(response.body)
    document = archive.decode_tree()
    objects = TreeObjects(target=name, root=name, archived=True)
    objects.executions = {e.name: e for e in archive.executions()}
    objects.suspensions = {s.name: s for s in document.suspensions}
    objects.jobs = {j.get("metadata", {}).get("name", ""): j for j in document.jobs}
    return objects


def get_tree(namespace: str, name: str) -> Op[ExecutionTree]:
    objects = yield from load_tree(namespace, name)
    return objects.tree()


@dataclass(frozen=True)
class TreeUpdate:
    """A new complete tree (what ``TreeWatcher.updates()`` yields)."""

    tree: ExecutionTree


@dataclass(frozen=True)
class TreeWatchError:
    """A non-fatal problem while watching (what ``TreeWatcher.errors()`` yields)."""

    error: KontinueError


def watch_tree(namespace: str, name: str) -> Op[None]:
    """Emit the tree under ``name`` now and after every change, until it is archived or deleted."""
    objects = yield from load_tree(namespace, name)
    yield Emit(TreeUpdate(objects.tree()))
    while not objects.archived:
        selector = f"{LABEL_ROOT}={objects.root}"
        watchers = [
            Watcher(
                EXECUTIONS,
                namespace,
                objects.resource_versions[ROOT_WATCH],
                field_selector=f"metadata.name={objects.root}",
            ),
            Watcher(
                EXECUTIONS, namespace, objects.resource_versions[EXECUTIONS.plural], label_selector=selector
            ),
            Watcher(
                SUSPENSIONS, namespace, objects.resource_versions[SUSPENSIONS.plural], label_selector=selector
            ),
            Watcher(JOBS, namespace, objects.resource_versions[JOBS.plural], label_selector=selector),
        ]
        objects = yield from _follow(namespace, name, objects, watchers)
        for watcher in watchers:
            yield from watcher.close()
        yield Emit(TreeUpdate(objects.tree()))


def _follow(namespace: str, name: str, objects: TreeObjects, watchers: list[Watcher]) -> Op[TreeObjects]:
    """Apply events and emit trees until a relist is needed; return the relisted objects."""
    while True:
        first = yield from next_of_many(watchers)
        changes = [first]
        while changes[-1] is not None and not isinstance(changes[-1][1], Expired):
            changes.append((yield from next_of_many(watchers, COALESCE_SECONDS)))
        for change in changes:
            if change is None:
                continue
            watcher, event = change
            if isinstance(event, Expired):
                yield Emit(
                    TreeWatchError(
                        KontinueError(
                            f"the watch of {watcher.kind.plural} expired (410 Gone); reading the tree again",
                            verb="watch",
                            resource=watcher.kind.resource,
                            namespace=namespace,
                        )
                    )
                )
                return (yield from load_tree(namespace, name))
            if (
                watcher.kind is EXECUTIONS
                and event.type == "DELETED"
                and event.object.get("metadata", {}).get("name") in (objects.root, objects.target)
            ):
                return (yield from load_tree(namespace, name))  # archived (or gone: NotFoundError)
            objects.apply(watcher.kind, event.type, event.object)
        yield Emit(TreeUpdate(objects.tree()))


# -- linking ---------------------------------------------------------------------------------------


def _parent_of(labels: Mapping[str, str], owners: Iterable[Any]) -> str | None:
    parent = labels.get(LABEL_PARENT)
    if parent:
        return parent
    for owner in owners:
        owner_kind = owner.get("kind") if isinstance(owner, Mapping) else owner.kind
        controller = owner.get("controller") if isinstance(owner, Mapping) else owner.controller
        if owner_kind == "Execution" and controller:
            return str(owner.get("name") if isinstance(owner, Mapping) else owner.name)
    return None


def _order(node: ExecutionTreeNode) -> tuple[float, str]:
    return (node.created_at.timestamp() if node.created_at else 0.0, node.name)


def build_tree(
    target: str,
    executions: Iterable[Execution],
    suspensions: Iterable[Suspension],
    jobs: Iterable[Mapping[str, Any]],
    *,
    archived: bool = False,
) -> ExecutionTree:
    """Link objects into the tree under ``target`` (spec §9.13): parents by label (falling back to
    the controller owner reference), previous attempts' children under Attempt nodes."""
    by_parent: dict[str, list[tuple[ExecutionTreeNode, Mapping[str, str]]]] = {}
    nodes: dict[str, ExecutionTreeNode] = {}
    for execution in executions:
        node = ExecutionTreeNode.for_execution(execution)
        nodes[execution.name] = node
        parent = _parent_of(execution.labels, execution.metadata.owner_references or ())
        if parent:
            by_parent.setdefault(parent, []).append((node, execution.labels))
    for suspension in suspensions:
        parent = _parent_of(suspension.labels, suspension.metadata.owner_references or ())
        if parent:
            by_parent.setdefault(parent, []).append(
                (ExecutionTreeNode.for_suspension(suspension), suspension.labels)
            )
    for job in jobs:
        metadata = job.get("metadata") or {}
        labels = metadata.get("labels") or {}
        parent = _parent_of(labels, metadata.get("ownerReferences") or ())
        if parent:
            by_parent.setdefault(parent, []).append((ExecutionTreeNode.for_job(job), labels))
    if target not in nodes:
        raise NotFoundError(f"execution {target!r} is not part of its tree", name=target)
    for name, node in nodes.items():
        owner = node.execution()
        assert owner is not None
        _attach_children(node, owner, by_parent.get(name, []))
    return ExecutionTree(nodes[target], archived=archived)


def _attach_children(
    node: ExecutionTreeNode,
    execution: Execution,
    children: list[tuple[ExecutionTreeNode, Mapping[str, str]]],
) -> None:
    attempts = {
        record.attempt: ExecutionTreeNode.for_attempt(execution, record)
        for record in execution.attempts
        if record.attempt
    }
    current_refs = (
        {ref.name for ref in execution.children}
        if execution.status and (execution.status.children is not None)
        else None
    )
    current: list[ExecutionTreeNode] = []
    for child, labels in children:
        label = labels.get(LABEL_ATTEMPT, "")
        attempt = int(label) if label.isdigit() else None
        is_current = (
            (child.name in current_refs)
            if current_refs is not None
            else (attempt is None or attempt == execution.attempt)
        )
        if is_current or attempt not in attempts:
            current.append(child)
        else:
            attempts[attempt].children.append(child)
    for attempt_node in attempts.values():
        attempt_node.children.sort(key=_order)
    node.children = [attempts[n] for n in sorted(attempts)] + sorted(current, key=_order)
