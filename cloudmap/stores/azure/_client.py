"""The azure-storage-blob `ContainerClient`: construction, pool sizing, SDK internals.

Everything here that reaches into the SDK's private modules or attributes says
why, and which SDK versions it is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudmap.stores.azure._account import discover_account
from cloudmap.stores.azure._errors import error_code, map_azure_errors

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, ContainerClient

__all__ = [
    "create_container",
    "new_container_client",
    "single_put_size",
    "with_single_put_size",
]

_SDK_SINGLE_PUT_SIZE = 64 * 1024 * 1024


def new_container_client(
    container_name: str,
    *,
    client: ContainerClient | BlobServiceClient | None,
    account_url: str | None,
    credential: Any,
    connection_string: str | None,
    account_name: str | None,
    max_pool_connections: int,
    client_kwargs: dict[str, Any],
) -> ContainerClient:
    """The `ContainerClient` of `container_name` from exactly one source.

    An injected `client` is used as is; one built here makes one attempt per
    request and, unless a transport or session is given, keeps
    `max_pool_connections` connections.

    Raises:
        ValueError: more than one source, options for an injected client, or a
            `ContainerClient` for another container.
        MissingCredentialsError: no source given and none found.
    """
    from azure.storage.blob import BlobServiceClient, ContainerClient  # noqa: PLC0415

    sources = [
        s
        for s in (client, account_url, connection_string, account_name)
        if s is not None
    ]
    if len(sources) > 1:
        msg = (
            "pass at most one of client, account_url, connection_string and "
            "account_name"
        )
        raise ValueError(msg)
    if client is not None:
        if credential is not None or client_kwargs:
            msg = "configure an injected client yourself: pass no other options"
            raise ValueError(msg)
        if isinstance(client, BlobServiceClient):
            return client.get_container_client(container_name)
        if client.container_name != container_name:
            msg = (
                f"the injected ContainerClient is for container "
                f"{client.container_name!r}, not {container_name!r}"
            )
            raise ValueError(msg)
        return client
    if not {"transport", "session"} & client_kwargs.keys():
        client_kwargs = {
            **client_kwargs,
            "session": _pooled_session(max_pool_connections),
        }
    client_kwargs = {"retry_total": 0, **client_kwargs}
    if connection_string is not None:
        return ContainerClient.from_connection_string(
            connection_string, container_name, credential=credential, **client_kwargs
        )
    if account_url is not None:
        return ContainerClient(
            account_url, container_name, credential=credential, **client_kwargs
        )
    found = discover_account(
        container_name, account_name=account_name, credential=credential
    )
    if found.connection_string is not None:
        return ContainerClient.from_connection_string(
            found.connection_string,
            container_name,
            credential=found.credential,
            **client_kwargs,
        )
    return ContainerClient(
        found.account_url, container_name, credential=found.credential, **client_kwargs
    )


def with_single_put_size(container: ContainerClient, size: int) -> ContainerClient:
    """A new client of `container` that sends values over `size` bytes in blocks."""
    from azure.storage.blob import ContainerClient  # noqa: PLC0415

    # The container URL keeps a SAS token, the credential any other key.
    return ContainerClient.from_container_url(
        container.url,
        credential=container.credential,
        max_single_put_size=size,
        retry_total=0,
    )


def single_put_size(container: ContainerClient) -> int:
    """Values larger than this many bytes go as blocks and a Put Block List."""
    # SDK INTERNALS, azure-storage-blob 12.x (all versions): the threshold is
    # kept only in the client's private `_config`; the SDK's default otherwise.
    config = getattr(container, "_config", None)
    size: int = getattr(config, "max_single_put_size", _SDK_SINGLE_PUT_SIZE)
    return size


def create_container(container: ContainerClient, *, store: str) -> None:
    """Create the container unless it exists."""
    from azure.core.exceptions import ResourceExistsError  # noqa: PLC0415

    with map_azure_errors(store, "create container", ""):
        try:
            container.create_container()
        except ResourceExistsError as exc:
            if error_code(exc) != "ContainerAlreadyExists":
                raise


def _pooled_session(size: int) -> Any:
    """A requests session like the SDK's own, keeping `size` connections per host.

    With the SDK's default of 10, the 11th to 16th concurrent requests of a bulk
    call each open a connection that is then thrown away.
    """
    import requests  # noqa: PLC0415
    from requests.adapters import HTTPAdapter  # noqa: PLC0415
    from urllib3.util.retry import Retry  # noqa: PLC0415

    # SDK INTERNALS, azure-core 1.x (up to 1.41 at least): the SDK's own session
    # mounts this private adapter, which reads the socket in 32 KiB blocks
    # instead of requests' 1 KiB. Detected by import, so that a release that
    # moves it falls back to requests' adapter: slower large reads, same
    # behaviour.
    adapter_class: type[HTTPAdapter] = HTTPAdapter
    try:
        from azure.core.pipeline.transport._bigger_block_size_http_adapters import (  # noqa: PLC0415
            BiggerBlockSizeHTTPAdapter,
        )
    except ImportError:  # not in any azure-core released so far
        pass
    else:
        adapter_class = BiggerBlockSizeHTTPAdapter

    session = requests.Session()
    # As the SDK does: its retry policy retries, urllib3 must not.
    adapter = adapter_class(
        pool_connections=size,
        pool_maxsize=size,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    return session
