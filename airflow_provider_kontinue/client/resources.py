"""The API paths of the resources the client touches, and the calls that read and write them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .constants import GROUP, VERSION
from .protocol import MERGE_PATCH, Call

WATCH_TIMEOUT_SECONDS = 290
"""Server-side lifetime of one watch request; the client reconnects from the last resourceVersion."""


@dataclass(frozen=True)
class Kind:
    """A namespaced API resource: where it lives and how errors name it."""

    plural: str
    group: str = GROUP
    version: str = VERSION

    @property
    def resource(self) -> str:
        """``executions.kontinue.cloud`` (``pods`` for the core group), as RBAC messages write it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        path = f"{root}/namespaces/{namespace}/{self.plural}" if namespace else f"{root}/{self.plural}"
        if name is not None:
            path += f"/{name}"
        if subresource is not None:
            path += f"/{subresource}"
        return path

    def get(self, namespace: str, name: str) -> Call:
        return Call(
            "GET",
            self.path(namespace, name),
            verb="get",
            resource=self.resource,
            namespace=namespace,
            name=name,
        )

    def list(
        self,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Call:
        """List in ``namespace`` (all namespaces when empty), optionally filtered and paginated."""
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if limit:
            query["limit"] = str(limit)
        if continue_token:
            query["continue"] = continue_token
        return Call(
            "GET",
            self.path(namespace or None),
            query,
            verb="list",
            resource=self.resource,
            namespace=namespace or None,
        )

    def watch(
        self,
        namespace: str | None,
        *,
        resource_version: str,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
    ) -> Call:
        """A watch from ``resource_version`` with bookmarks, so a reconnect resumes where it left."""
        query = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        return Call(
            "GET",
            self.path(namespace or None),
            query,
            verb="watch",
            resource=self.resource,
            namespace=namespace or None,
        )

    def create(self, namespace: str, body: Mapping[str, Any]) -> Call:
        name = body.get("metadata", {}).get("name")
        return Call(
            "POST",
            self.path(namespace),
            body=dict(body),
            verb="create",
            resource=self.resource,
            namespace=namespace,
            name=name,
        )

    def merge_patch(
        self, namespace: str, name: str, patch: Mapping[str, Any], *, subresource: str | None = None
    ) -> Call:
        """A JSON merge patch; include ``metadata.resourceVersion`` in ``patch`` for optimistic locking."""
        resource = f"{self.resource}/{subresource}" if subresource else self.resource
        return Call(
            "PATCH",
            self.path(namespace, name, subresource),
            body=dict(patch),
            content_type=MERGE_PATCH,
            verb="patch",
            resource=resource,
            namespace=namespace,
            name=name,
        )


EXECUTIONS = Kind("executions")
ARCHIVED_EXECUTIONS = Kind("archivedexecutions")
SUSPENSIONS = Kind("suspensions")
SCHEDULED_EXECUTIONS = Kind("scheduledexecutions")
FUNCTIONS = Kind("functions")
JOBS = Kind("jobs", group="batch", version="v1")
PODS = Kind("pods", group="", version="v1")
