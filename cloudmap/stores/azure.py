"""AzureBlobStore: block blobs in one Azure Storage container.

Every precondition rides on the request it guards, checked by the service:

- create: Put Blob with `If-None-Match: *` (`upload_blob(overwrite=False)`);
  409 `BlobAlreadyExists` becomes `KeyExistsError`;
- replace: Put Blob (or, for large values, Put Block List) with `If-Match`
  (`etag=..., match_condition=MatchConditions.IfNotModified`); 412 becomes
  `EtagMismatchError`, as does 404 for a blob gone meanwhile;
- delete: Delete Blob with `If-Match`;
- read: Get Blob with `If-Match` (412) or `If-None-Match` (304, no body).

Etags are kept in the quoted form the service sends in the `ETag` header;
`list_blobs` reports them unquoted, so they are quoted here, and a listed etag
works as a precondition and equals the one a write returned.

Azure metadata names must be C# identifiers, so `-` is not allowed in them: our
own names (`cloudmap-codec`, lowercase words joined by `-`) are sent with `_`
instead (`cloudmap_codec`) and translated back on read. Names starting with
`cloudmap_` are therefore reserved; any other name must already be a valid
identifier. Values must be printable ASCII without leading or trailing spaces
(HTTP headers would change them).

Keys the service would alias are refused before any request: a path segment
ending with `.` (Azure drops trailing dots of URL segments, and the HTTP client
removes `.`/`..` segments after the request is signed, which fails with 403)
and a backslash (stored as `/`).
"""

from __future__ import annotations

import contextlib
import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap._extras import require
from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    EtagMismatchError,
    KeyExistsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.stores._azure_account import discover_account
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    Replace,
    check_mode,
    validate_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from azure.storage.blob import BlobServiceClient, ContainerClient

__all__ = ["AzureBlobStore"]

_HTTP_NOT_MODIFIED = 304
_ACCESS_DENIED = frozenset({401, 403})
_TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})

_OWN_WIRE_PREFIX = "cloudmap_"
_OWN_NAME = re.compile(r"cloudmap(?:-[A-Za-z0-9]+)+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")
_SECRETS = re.compile(
    r"(?i)(sig=|sig%3D|AccountKey=|SharedAccessSignature=)[^&;\s'\"]*"
)


def _code(exc: Exception) -> str | None:
    """The service's error code (`x-ms-error-code`), set by azure-storage-blob."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))  # a StorageErrorCode member or a str


def _quoted(etag: str) -> str:
    """The etag in the quoted form Azure sends in headers (`"0x8D..."`)."""
    if etag.startswith('"') or etag == "*":
        return etag
    return f'"{etag}"'


def _check_key(key: str) -> None:
    """Validate `key` for every store, then refuse what Azure would alias."""
    validate_key(key)
    if "\\" in key:
        msg = f"key {key!r} holds a backslash, which Azure Blob Storage stores as '/'"
        raise ValueError(msg)
    if any(segment.endswith(".") for segment in key.split("/")):
        msg = (
            f"key {key!r} has a path segment ending with '.', which Azure Blob "
            "Storage drops or cannot sign ('.' and '..' segments fail with 403)"
        )
        raise ValueError(msg)


def _encode_metadata(key: str, metadata: Mapping[str, str]) -> dict[str, str]:
    """Metadata as sent to Azure: `cloudmap-x` names become `cloudmap_x`."""
    wire: dict[str, str] = {}
    for name, value in metadata.items():
        if _OWN_NAME.fullmatch(name):
            wire_name = name.replace("-", "_")
        elif name.lower().startswith(_OWN_WIRE_PREFIX) or not _IDENTIFIER.fullmatch(
            name
        ):
            msg = (
                f"metadata name {name!r} of key {key!r} is not allowed on Azure: "
                "names must be C# identifiers, and 'cloudmap_' is reserved"
            )
            raise ValueError(msg)
        else:
            wire_name = name
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            msg = (
                f"metadata {name!r} of key {key!r} must be printable ASCII without "
                f"leading or trailing spaces, not {value!r}"
            )
            raise ValueError(msg)
        if wire_name.lower() in (existing.lower() for existing in wire):
            msg = f"metadata names of key {key!r} differ only in case ({name!r})"
            raise ValueError(msg)
        wire[wire_name] = value
    return wire


def _decode_name(name: str) -> str:
    """`cloudmap_x` back to `cloudmap-x`; other names as Azure returns them."""
    if name.lower().startswith(_OWN_WIRE_PREFIX):
        return name.replace("_", "-")
    return name


def _decode_metadata(wire: Mapping[str, str] | None) -> Mapping[str, str]:
    """Metadata as read from Azure, with our own names translated back."""
    return MappingProxyType(
        {_decode_name(name): value for name, value in (wire or {}).items()}
    )


def _summary(exc: Exception) -> str:
    """A one-line description of an SDK error with any credential removed."""
    status = getattr(exc, "status_code", None)
    code = _code(exc)
    lines = str(exc).strip().splitlines()
    first = _SECRETS.sub(r"\1<redacted>", lines[0])[:200] if lines else ""
    details = ", ".join(
        str(part) for part in (f"HTTP {status}" if status else None, code) if part
    )
    return (
        f"{type(exc).__name__}"
        + (f" ({details})" if details else "")
        + (f": {first}" if first else "")
    )


def _failed(operation: str, key: str, store: str, exc: Exception) -> str:
    """`<operation> '<key>' in <store> failed: ...`; no key for container calls."""
    what = f"{operation} {key!r}" if key else operation
    return f"{what} in {store} failed: {_summary(exc)}"


def _is_transient(exc: Exception) -> bool:
    from azure.core import exceptions as az  # noqa: PLC0415

    kinds = (az.ServiceRequestError, az.ServiceResponseError, az.IncompleteReadError)
    if isinstance(exc, kinds) or isinstance(
        getattr(exc, "inner_exception", None), kinds
    ):
        return True
    return getattr(exc, "status_code", None) in _TRANSIENT


@contextlib.contextmanager
def _map_azure_errors(
    store: str, operation: str, key: str, *, if_match: str | None = None
) -> Iterator[None]:
    """Turn azure-core exceptions into cloudmap's, keeping them as `__cause__`.

    `if_match` is the etag the request was conditioned on: a 412, or a 404 for
    the blob, then means the object changed or is gone.
    """
    from azure.core import exceptions as az  # noqa: PLC0415

    try:
        yield
    except az.ResourceExistsError as exc:
        if _code(exc) == "BlobAlreadyExists":
            raise KeyExistsError(key, store=store) from exc
        raise StoreError(
            _failed(operation, key, store, exc),
            key=key,
            store=store,
        ) from exc
    except (az.ResourceModifiedError, az.ResourceNotFoundError) as exc:
        if _code(exc) == "ContainerNotFound":
            msg = f"container {store} does not exist (pass create=True to create it)"
            raise ContainerNotFoundError(msg, key=key, store=store) from exc
        if if_match is not None and exc.status_code != _HTTP_NOT_MODIFIED:
            # Azure does not say which etag it holds, nor whether the blob is gone.
            msg = (
                f"key {key!r} in {store} changed or was deleted since it was last "
                f"seen (expected etag {if_match!r}); call sync_with_cloud() to "
                "refresh it"
            )
            raise EtagMismatchError(
                key, expected_etag=if_match, store=store, message=msg
            ) from exc
        raise StoreError(
            _failed(operation, key, store, exc),
            key=key,
            store=store,
        ) from exc
    except az.AzureError as exc:
        message = _failed(operation, key, store, exc)
        if getattr(exc, "status_code", None) in _ACCESS_DENIED:
            raise AccessDeniedError(message, key=key, store=store) from exc
        if _is_transient(exc):
            raise TransientStoreError(message, key=key, store=store) from exc
        raise StoreError(message, key=key, store=store) from exc


def _pooled_session(size: int) -> Any:
    """A requests session like the SDK's own, keeping `size` connections per host.

    With the SDK's default of 10, the 11th to 16th concurrent requests of a bulk
    call each open a connection that is then thrown away.
    """
    import requests  # noqa: PLC0415
    from azure.core.pipeline.transport._bigger_block_size_http_adapters import (  # noqa: PLC0415
        BiggerBlockSizeHTTPAdapter,  # the SDK's adapter: 32 KiB socket blocks
    )
    from urllib3.util.retry import Retry  # noqa: PLC0415

    session = requests.Session()
    # As the SDK does: its retry policy retries, urllib3 must not.
    adapter = BiggerBlockSizeHTTPAdapter(
        pool_connections=size,
        pool_maxsize=size,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    return session


class AzureBlobStore:
    """Block blobs in one Azure Storage container.

    Args:
        container_name: the container.
        client: a ready `ContainerClient` (for this container) or
            `BlobServiceClient`; it is used as is and left open by `close()`.
        account_url: the blob endpoint, e.g. `https://ACCOUNT.blob.core.windows.net`
            (it may carry a SAS token).
        credential: anything the SDK accepts: a `TokenCredential` such as
            `DefaultAzureCredential()`, an account key, a SAS token.
        connection_string: a storage connection string, instead of `account_url`.
        account_name: the storage account, instead of `account_url`; its
            credential is found as below.
        create: create the container (at construction) if it does not exist;
            otherwise a missing one raises `ContainerNotFoundError` on first use.
        max_single_put_size: values up to this many bytes go in one Put Blob;
            larger ones are uploaded in blocks and committed by a Put Block List
            that carries the same precondition. None keeps the SDK's 64 MiB.
        max_pool_connections: HTTP connections kept open for concurrent
            requests (the SDK keeps 10, fewer than a mapping's 16 bulk workers);
            used when neither `client` nor a `transport`/`session` is given.
        **client_kwargs: passed to `ContainerClient`, e.g. `retry_total=3`,
            `transport=...`, `max_block_size=...`.

    At most one of `client`, `account_url`, `connection_string` and
    `account_name` may be given. With none (or only `account_name`), the account
    and credential are found as the Azure SDKs and adlfs find them:
    `AZURE_STORAGE_CONNECTION_STRING`, else `AZURE_STORAGE_ACCOUNT_NAME` with
    `AZURE_STORAGE_ACCOUNT_KEY` or `AZURE_STORAGE_SAS_TOKEN`, else
    `DefaultAzureCredential` when `azure-identity` is installed; with nothing
    found, `MissingCredentialsError` names the variables.
    A client built here makes one attempt per request (`retry_total=0`): an SDK
    retry of a conditional write whose first attempt landed would fail its own
    precondition and look like a conflict. `cloudmap.retry` retries instead and
    recognises its own landed writes.
    """

    def __init__(
        self,
        container_name: str,
        *,
        client: ContainerClient | BlobServiceClient | None = None,
        account_url: str | None = None,
        credential: Any = None,
        connection_string: str | None = None,
        account_name: str | None = None,
        create: bool = False,
        max_single_put_size: int | None = None,
        max_pool_connections: int = 32,
        **client_kwargs: Any,
    ) -> None:
        require(
            "azure.storage.blob",
            extra="azure",
            purpose="AzureBlobStore (az:// targets)",
            package="azure-storage-blob",
        )
        if max_single_put_size is not None:
            client_kwargs["max_single_put_size"] = max_single_put_size
        if client is None and not {"transport", "session"} & client_kwargs.keys():
            client_kwargs["session"] = _pooled_session(max_pool_connections)
        self._owns_client = client is None
        self._container = self._make_client(
            container_name,
            client=client,
            account_url=account_url,
            credential=credential,
            connection_string=connection_string,
            account_name=account_name,
            client_kwargs=client_kwargs,
        )
        self._name = (
            f"az://{self._container.account_name}/{self._container.container_name}"
        )
        if create:
            try:
                self._create_container()
            except BaseException:
                self.close()
                raise

    @staticmethod
    def _make_client(
        container_name: str,
        *,
        client: ContainerClient | BlobServiceClient | None,
        account_url: str | None,
        credential: Any,
        connection_string: str | None,
        account_name: str | None,
        client_kwargs: dict[str, Any],
    ) -> ContainerClient:
        from azure.storage.blob import BlobServiceClient, ContainerClient  # noqa: PLC0415

        sources = [
            s
            for s in (client, account_url, connection_string, account_name)
            if s is not None
        ]
        if client is None:
            client_kwargs = {"retry_total": 0, **client_kwargs}
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
        if connection_string is not None:
            return ContainerClient.from_connection_string(
                connection_string,
                container_name,
                credential=credential,
                **client_kwargs,
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
            found.account_url,
            container_name,
            credential=found.credential,
            **client_kwargs,
        )

    def _create_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError  # noqa: PLC0415

        with _map_azure_errors(self._name, "create container", ""):
            try:
                self._container.create_container()
            except ResourceExistsError as exc:
                if _code(exc) != "ContainerAlreadyExists":
                    raise

    @property
    def name(self) -> str:
        """`az://ACCOUNT/CONTAINER`: no key, SAS token or connection string."""
        return self._name

    @property
    def client(self) -> ContainerClient:
        """The SDK's `ContainerClient` this store sends its requests through."""
        return self._container

    def __repr__(self) -> str:
        return f"AzureBlobStore({self._name!r})"

    @property
    def max_single_put_size(self) -> int:
        """Values larger than this many bytes go as blocks and a Put Block List."""
        size: int = self._container._config.max_single_put_size  # noqa: SLF001
        return size

    def with_upload_threshold(self, size: int) -> AzureBlobStore:
        """A new client of this container that sends values over `size` bytes in blocks.

        For probes (`cloudmap.verify`): a value just over a small `size` goes as
        one block and a Put Block List carrying the condition. The copy has its
        own connections: close it after use.
        """
        from azure.storage.blob import ContainerClient  # noqa: PLC0415

        # The container URL keeps a SAS token, the credential any other key.
        client = ContainerClient.from_container_url(
            self._container.url,
            credential=self._container.credential,
            max_single_put_size=size,
            retry_total=0,
        )
        copy = AzureBlobStore(self._container.container_name, client=client)
        copy._owns_client = True  # built here: close() releases it
        return copy

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key` in one Get Blob; see `cloudmap.stores.Store.get`.

        An empty value costs two requests: Get Blob asks for a byte range, which
        an empty blob answers with 416, and the SDK then asks again without one.
        A not-modified answer (304) carries no metadata, so `Entry.metadata` is
        then empty.
        """
        from azure.core import MatchConditions  # noqa: PLC0415
        from azure.core.exceptions import (  # noqa: PLC0415
            ResourceModifiedError,
            ResourceNotFoundError,
        )

        _check_key(key)
        if if_match is not None and if_none_match is not None:
            msg = "pass at most one of if_match and if_none_match"
            raise ValueError(msg)
        conditions: dict[str, Any] = {}
        if if_match is not None:
            if_match = _quoted(if_match)
            conditions = {
                "etag": if_match,
                "match_condition": MatchConditions.IfNotModified,
            }
        elif if_none_match is not None:
            if_none_match = _quoted(if_none_match)
            conditions = {
                "etag": if_none_match,
                "match_condition": MatchConditions.IfModified,
            }
        blob = self._container.get_blob_client(key)
        with _map_azure_errors(self._name, "get", key, if_match=if_match):
            try:
                downloader = blob.download_blob(**conditions)
                data = downloader.readall()
            except ResourceNotFoundError as exc:
                if if_match is None and _code(exc) == "BlobNotFound":
                    return None
                raise
            except ResourceModifiedError as exc:
                # A 304 arrives as ResourceModifiedError: the status tells them apart.
                if if_none_match is not None and exc.status_code == _HTTP_NOT_MODIFIED:
                    return Entry(b"", if_none_match, not_modified=True)
                raise
        properties = downloader.properties
        return Entry(
            data, _quoted(properties.etag), _decode_metadata(properties.metadata)
        )

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key` in one Put Blob (or blocks and a Put Block List).

        See `cloudmap.stores.Store.put`.
        """
        from azure.core import MatchConditions  # noqa: PLC0415

        _check_key(key)
        check_mode(mode, store=self._name)
        payload = bytes(data)
        options: dict[str, Any] = {
            "metadata": _encode_metadata(key, metadata or {}),
            "overwrite": True,
        }
        if_match: str | None = None
        match mode:
            case "create":
                # Sends If-None-Match: * and maps its 412 to 409 BlobAlreadyExists.
                options["overwrite"] = False
            case Replace(etag):
                if_match = _quoted(etag)
                options["etag"] = if_match
                options["match_condition"] = MatchConditions.IfNotModified
        blob = self._container.get_blob_client(key)
        with _map_azure_errors(self._name, "put", key, if_match=if_match):
            result = blob.upload_blob(payload, length=len(payload), **options)
        return _quoted(str(result["etag"]))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one Delete Blob; see `cloudmap.stores.Store.delete`."""
        from azure.core import MatchConditions  # noqa: PLC0415
        from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415

        _check_key(key)
        conditions: dict[str, Any] = {}
        if if_match is not None:
            if_match = _quoted(if_match)
            conditions = {
                "etag": if_match,
                "match_condition": MatchConditions.IfNotModified,
            }
        blob = self._container.get_blob_client(key)
        with _map_azure_errors(self._name, "delete", key, if_match=if_match):
            try:
                blob.delete_blob(**conditions)
            except ResourceNotFoundError as exc:
                if if_match is not None or _code(exc) != "BlobNotFound":
                    raise

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix` with their etags, paging List Blobs."""
        with _map_azure_errors(self._name, "list", prefix):
            for blob in self._container.list_blobs(name_starts_with=prefix or None):
                yield ListedKey(blob.name, _quoted(blob.etag))

    def close(self) -> None:
        """Close the SDK client, unless it was injected."""
        if self._owns_client:
            self._container.close()

    def __enter__(self) -> AzureBlobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
