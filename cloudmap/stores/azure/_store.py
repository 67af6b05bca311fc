"""AzureBlobStore: the operations, each one request the service checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudmap._extras import require
from cloudmap.stores._common import NOT_MODIFIED, OwnedClient
from cloudmap.stores._obstore import NotAPathError, check_writable, lists
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Replace, check_mode
from cloudmap.stores.azure._client import (
    create_container,
    new_container_client,
    single_put_size,
    with_single_put_size,
)
from cloudmap.stores.azure._errors import error_code, map_azure_errors
from cloudmap.stores.azure._obstore import (
    AzureObstoreEngine,
    check_engine,
    make_obstore_engine,
)
from cloudmap.stores.azure._wire import (
    check_key,
    decode_metadata,
    encode_metadata,
    quoted,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from azure.storage.blob import BlobServiceClient, ContainerClient

__all__ = ["AzureBlobStore"]


def _conditions(
    if_match: str | None, if_none_match: str | None = None
) -> dict[str, Any]:
    """The SDK's keywords for an `If-Match` or `If-None-Match` (quoted) etag."""
    from azure.core import MatchConditions  # noqa: PLC0415

    if if_match is not None:
        return {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
    if if_none_match is not None:
        return {"etag": if_none_match, "match_condition": MatchConditions.IfModified}
    return {}


class AzureBlobStore(OwnedClient):
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
        engine: `sdk` (the default) or `obstore` (the `fast` extra): reads,
            writes up to `max_single_put_size` and listings through obstore,
            at a fraction of the SDK's client CPU; deletes, larger values and
            the keys or metadata names obstore would rewrite stay on the SDK
            (see `cloudmap.stores.azure._obstore`).
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
        engine: str = "sdk",
        **client_kwargs: Any,
    ) -> None:
        require(
            "azure.storage.blob",
            extra="azure",
            purpose="AzureBlobStore (az:// targets)",
            package="azure-storage-blob",
        )
        check_engine(engine, injected=client is not None)
        if max_single_put_size is not None:
            client_kwargs["max_single_put_size"] = max_single_put_size
        self._owns_client = client is None
        self._container = new_container_client(
            container_name,
            client=client,
            account_url=account_url,
            credential=credential,
            connection_string=connection_string,
            account_name=account_name,
            max_pool_connections=max_pool_connections,
            client_kwargs=client_kwargs,
        )
        self._name = (
            f"az://{self._container.account_name}/{self._container.container_name}"
        )
        self._fast: AzureObstoreEngine | None = None
        try:
            if engine == "obstore":
                self._fast = make_obstore_engine(self._container, name=self._name)
                self._threshold = single_put_size(self._container)
            if create:
                create_container(self._container, store=self._name)
        except BaseException:
            self.close()
            raise

    @property
    def name(self) -> str:
        """`az://ACCOUNT/CONTAINER`: no key, SAS token or connection string."""
        return self._name

    @property
    def client(self) -> ContainerClient:
        """The SDK's `ContainerClient` this store sends its requests through."""
        return self._container

    @property
    def engine(self) -> str:
        """`sdk` or `obstore`: what sends reads, writes and listings."""
        return "sdk" if self._fast is None else "obstore"

    def __repr__(self) -> str:
        engine = ", engine='obstore'" if self._fast else ""
        return f"AzureBlobStore({self._name!r}{engine})"

    @property
    def max_single_put_size(self) -> int:
        """Values larger than this many bytes go as blocks and a Put Block List."""
        return single_put_size(self._container)

    def with_upload_threshold(self, size: int) -> AzureBlobStore:
        """A new client of this container that sends values over `size` bytes in blocks.

        For probes (`cloudmap.verify`): a value just over a small `size` goes as
        one block and a Put Block List carrying the condition. The copy has its
        own connections: close it after use.
        """
        client = with_single_put_size(self._container, size)
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
        from azure.core.exceptions import (  # noqa: PLC0415
            ResourceModifiedError,
            ResourceNotFoundError,
        )

        check_key(key)
        if if_match is not None and if_none_match is not None:
            msg = "pass at most one of if_match and if_none_match"
            raise ValueError(msg)
        if_match = None if if_match is None else quoted(if_match)
        if_none_match = None if if_none_match is None else quoted(if_none_match)
        if self._fast is not None and self._fast.handles(key):
            return self._fast.get(key, if_match=if_match, if_none_match=if_none_match)
        conditions = _conditions(if_match, if_none_match)
        blob = self._container.get_blob_client(key)
        with map_azure_errors(self._name, "get", key, if_match=if_match):
            try:
                downloader = blob.download_blob(**conditions)
                data = downloader.readall()
            except ResourceNotFoundError as exc:
                if if_match is None and error_code(exc) == "BlobNotFound":
                    return None
                raise
            except ResourceModifiedError as exc:
                # A 304 arrives as ResourceModifiedError: the status tells them apart.
                if if_none_match is not None and exc.status_code == NOT_MODIFIED:
                    return Entry(b"", if_none_match, not_modified=True)
                raise
        properties = downloader.properties
        return Entry(
            data, quoted(properties.etag), decode_metadata(properties.metadata)
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
        check_key(key)
        check_mode(mode, store=self._name)
        payload = bytes(data)
        wire = encode_metadata(key, metadata or {})
        fast = self._fast
        if fast is not None:
            check_writable(key, store=self._name, sdk="sdk")
            if len(payload) <= self._threshold and fast.handles(key, wire):
                return fast.put(key, payload, mode=mode, metadata=wire)
        options: dict[str, Any] = {"metadata": wire, "overwrite": True}
        if_match: str | None = None
        match mode:
            case "create":
                # Sends If-None-Match: * and maps its 412 to 409 BlobAlreadyExists.
                options["overwrite"] = False
            case Replace(etag):
                if_match = quoted(etag)
                options.update(_conditions(if_match))
        blob = self._container.get_blob_client(key)
        with map_azure_errors(self._name, "put", key, if_match=if_match):
            result = blob.upload_blob(payload, length=len(payload), **options)
        return quoted(str(result["etag"]))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key` in one Delete Blob; see `cloudmap.stores.Store.delete`."""
        from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415

        check_key(key)
        if_match = None if if_match is None else quoted(if_match)
        blob = self._container.get_blob_client(key)
        with map_azure_errors(self._name, "delete", key, if_match=if_match):
            try:
                blob.delete_blob(**_conditions(if_match))
            except ResourceNotFoundError as exc:
                if if_match is not None or error_code(exc) != "BlobNotFound":
                    raise

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix` with their etags, paging List Blobs."""
        after: str | None = None
        if self._fast is not None and lists(prefix):
            try:
                for listed in self._fast.list(prefix):
                    after = listed.key
                    yield listed
            except NotAPathError:
                pass  # a key obstore cannot name: the SDK lists on past `after`
            else:
                return
        with map_azure_errors(self._name, "list", prefix):
            for blob in self._container.list_blobs(name_starts_with=prefix or None):
                # Both list in code point order: skip what obstore yielded.
                if after is None or blob.name > after:
                    yield ListedKey(blob.name, quoted(blob.etag))

    def _owned(self) -> ContainerClient:
        return self._container
