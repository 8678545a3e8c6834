"""``KontinueHook`` and ``KontinueAsyncHook``: the kontinue client, built from an Airflow connection.

The hooks are adapters, not a second client: they read the ``kontinue`` connection, mask its
secrets and build a :class:`~airflow_provider_kontinue.client.KontinueClient` (or, for triggers,
an :class:`~airflow_provider_kontinue.client.AsyncKontinueClient`) once per hook. Every call goes
through that typed client: ``hook.client.spawn(...)`` (or ``hook.get_conn().spawn(...)``) is
``KontinueClient.spawn``, with its signature and return type, so mypy and IDEs check what a task
does with it. The async hook is a separate class, not a subclass of the sync one: it only offers
``await get_async_client()``, so nothing reachable from it blocks the triggerer's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    KontinueClient,
    KontinueError,
    NotFoundError,
)
from airflow_provider_kontinue.hooks.connection import (
    CONN_FIELDS,
    CONN_TYPE,
    DEFAULT_CONN_ID,
    INLINE_KUBECONFIG,
    LEGACY_INLINE_KUBECONFIG,
    UI_FIELD_BEHAVIOUR,
    KontinueConnectionSettings,
    parse_extra,
    parse_settings,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection

CONNECTION_TEST_LABEL = "airflow.apache.org/connection-test"


# pragma: no mutate start (make mutation: only the masking is in scope)
def missing_connection(conn_id: str) -> AirflowNotFoundException:
    """The error for a connection id nobody defined, with the ways to define it."""
    env = "AIRFLOW_CONN_" + conn_id.upper()
    return AirflowNotFoundException(
        f"the kontinue connection {conn_id!r} is not defined: create it in the Airflow UI (type "
        f"'kontinue'), or set {env} (for the local sandbox, `kontinue-sandbox env` prints that line)"
    )


class KontinueHook(BaseHook):
    """Talk to kontinue from a task: the typed kontinue client (``hook.client``), from a connection.

    :param kontinue_conn_id: The ``kontinue`` connection (default ``kontinue_default``).
    :param namespace: The default namespace of the calls; defaults to the connection's, then the
        kubeconfig context's.
    """

    conn_name_attr = "kontinue_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Kontinue"

    conn_fields: ClassVar[dict[str, dict[str, Any]]] = CONN_FIELDS
    ui_field_behaviour: ClassVar[dict[str, Any]] = UI_FIELD_BEHAVIOUR

    def __init__(self, kontinue_conn_id: str = DEFAULT_CONN_ID, namespace: str | None = None) -> None:
        super().__init__()
        self.kontinue_conn_id = kontinue_conn_id
        self._namespace = namespace or None
        self._settings: KontinueConnectionSettings | None = None
        self._client: KontinueClient | None = None

    # -- the connection -------------------------------------------------------------------------

    @staticmethod
    def settings_from_connection(
        connection: Connection, extra: dict[str, Any] | None = None
    ) -> KontinueConnectionSettings:
        """Parse a connection (its ``extra``) into settings; raises ConnectionFieldError."""
        return settings_from_connection(connection, extra)

    def _load_connection(self) -> Connection:
        try:
            return self.get_connection(self.kontinue_conn_id)
        except AirflowNotFoundException:
            raise missing_connection(self.kontinue_conn_id) from None

    @property
    def settings(self) -> KontinueConnectionSettings:
        """The parsed connection (read once per hook); its secrets are masked in logs."""
        if self._settings is None:
            connection = self._load_connection()
            settings = self.settings_from_connection(connection)
            _mask(settings, connection.extra)
            self._settings = settings
        return self._settings

    # -- the client -------------------------------------------------------------------------------

    def get_conn(self) -> KontinueClient:
        """The kontinue client of this hook (made on first use, then reused)."""
        if self._client is None:
            settings = self.settings
            self._client = KontinueClient.connect(
                settings.kubeconfig(),
                context=settings.context,
                namespace=self._namespace or settings.namespace,
                in_cluster=settings.in_cluster,
                verify_ssl=settings.verify_ssl,
                options=settings.client_options(),
            )
        return self._client

    @property
    def client(self) -> KontinueClient:
        """The kontinue client (typed); the same object as :meth:`get_conn`."""
        return self.get_conn()

    @property
    def namespace(self) -> str:
        """The namespace calls go to unless they name one."""
        return self.get_conn().namespace

    def execution_url(self, name: str, namespace: str | None = None) -> str | None:
        """The kontinue UI page of an execution, when the connection names a UI."""
        return self.settings.execution_url(namespace or self.namespace, name)

    def close(self) -> None:
        """Close the client's connection pool (it is made again on next use)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the connection test (the UI's Test button) -----------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Reach the API server, check the kontinue CRDs are served and executions may be listed."""
        try:
            client = self.get_conn()
            functions = client.functions()
            client.list({"label_selector": {CONNECTION_TEST_LABEL: "probe"}})
        except NotFoundError:
            return False, (
                "the API server answered, but does not serve the kontinue CRDs (kontinue.cloud/v1alpha1); "
                "install kontinue in this cluster"
            )
        except (KontinueError, ValueError, AirflowNotFoundException) as err:
            return False, str(err)
        return True, (
            f"connected: kontinue is served, {len(functions)} function(s) in namespace "
            f"{client.namespace!r}, and executions may be listed"
        )


class KontinueAsyncHook(BaseHook):
    """The asyncio counterpart of :class:`KontinueHook`, for triggers and other asyncio code.

    It reads the connection with Airflow's async connection API and offers one thing,
    ``await get_async_client()``: an :class:`AsyncKontinueClient`, every method a coroutine. It
    is composed of the same connection parsing as the sync hook, not derived from it, so no
    blocking method (``get_conn``, ``settings``, ``test_connection``) is reachable from it.

    :param kontinue_conn_id: The ``kontinue`` connection (default ``kontinue_default``).
    :param namespace: The default namespace of the calls; defaults to the connection's, then the
        kubeconfig context's.
    """

    conn_name_attr = "kontinue_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Kontinue (asyncio)"

    def __init__(self, kontinue_conn_id: str = DEFAULT_CONN_ID, namespace: str | None = None) -> None:
        super().__init__()
        self.kontinue_conn_id = kontinue_conn_id
        self._namespace = namespace or None
        self._settings: KontinueConnectionSettings | None = None
        self._client: AsyncKontinueClient | None = None

    async def _aget_settings(self) -> KontinueConnectionSettings:
        """The parsed connection, read through ``BaseHook.aget_connection``; secrets masked."""
        if self._settings is None:
            try:
                connection = await self.aget_connection(self.kontinue_conn_id)
            except AirflowNotFoundException:
                raise missing_connection(self.kontinue_conn_id) from None
            extra = await connection.aextra_dejson()
            settings = settings_from_connection(connection, extra)
            await _amask(settings, connection.extra)
            self._settings = settings
        return self._settings

    async def get_async_client(self) -> AsyncKontinueClient:
        """The async kontinue client of this hook (made on first use, then reused)."""
        if self._client is None:
            settings = await self._aget_settings()
            self._client = await connect_async(settings, self._namespace)
        return self._client

    def get_conn(self) -> NoReturn:
        """Not for asyncio code: the sync client would block the event loop."""
        raise TypeError(
            "KontinueAsyncHook has no blocking client: use `await hook.get_async_client()`, or "
            "KontinueHook(...).client outside an event loop"
        )

    async def aclose(self) -> None:
        """Close the async client's connection pool (it is made again on next use)."""
        if self._client is not None:
            await self._client.close()
            self._client = None


def settings_from_connection(
    connection: Connection, extra: dict[str, Any] | None = None
) -> KontinueConnectionSettings:
    """Parse a connection (its ``extra``) into settings; raises ConnectionFieldError."""
    conn_id = connection.conn_id or DEFAULT_CONN_ID
    return parse_settings(conn_id, extra if extra is not None else parse_extra(connection.extra, conn_id))


async def connect_async(settings: KontinueConnectionSettings, namespace: str | None) -> AsyncKontinueClient:
    """An async client for already-read connection settings (the sync path of the operators reads
    the connection with the sync hook, then waits on a private event loop)."""
    return await AsyncKontinueClient.connect(
        settings.kubeconfig(),
        context=settings.context,
        namespace=namespace or settings.namespace,
        in_cluster=settings.in_cluster,
        verify_ssl=settings.verify_ssl,
        options=settings.client_options(),
    )


# pragma: no mutate end


def _secrets(settings: KontinueConnectionSettings, raw_extra: str | None) -> list[str]:
    found = settings.secrets()
    if settings.kube_config is not None and raw_extra:
        extra = parse_extra(raw_extra, settings.conn_id)
        for key in (INLINE_KUBECONFIG, LEGACY_INLINE_KUBECONFIG):
            inline = extra.get(key) or extra.get(f"extra__{CONN_TYPE}__{key}")
            if isinstance(inline, str):
                found.append(inline)
    return found


def _mask(settings: KontinueConnectionSettings, raw_extra: str | None) -> None:
    from airflow.sdk.log import mask_secret

    for secret in _secrets(settings, raw_extra):
        mask_secret(secret)


async def _amask(settings: KontinueConnectionSettings, raw_extra: str | None) -> None:
    from airflow.sdk.log import amask_secret

    for secret in _secrets(settings, raw_extra):
        await amask_secret(secret)
