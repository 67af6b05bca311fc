"""The obstore engine of `AzureBlobStore`: reads, writes and listings in Rust.

`AzureBlobStore(..., engine="obstore")` sends Get Blob, Put Blob and List
Blobs through obstore (the `object_store` crate), at a fraction of
azure-storage-blob's client CPU per request. Conditions ride in the same
request, checked by the service: `mode="create"` (`If-None-Match: *`),
`mode={"e_tag": etag}` (`If-Match`), and `If-Match` / `If-None-Match` on reads;
the etags are the quoted ones the SDK path reads and writes. What obstore
cannot carry exactly stays on the SDK path, so nothing is written
unconditionally or read-then-written:

- deletes (obstore's takes no condition): the SDK's Delete Blob with `If-Match`;
- values over `max_single_put_size`: blocks and a Put Block List with the
  condition, as on the SDK engine (obstore would send any size as one Put Blob);
- keys obstore refuses or rewrites (empty, `.` or `..` segments, control
  characters); a listing meeting one goes on with the SDK;
- metadata names with upper-case letters (obstore sends every name in lower
  case); metadata values are checked before any call (obstore's signer panics
  on a non-ASCII value);
- listings under a prefix not ending in `/` (obstore lists whole segments).

obstore reads metadata names in lower case, whoever wrote them, and strips a
leading or trailing `/` from the keys it lists: this engine refuses to write
such keys (`ValueError`). obstore is imported when such a store is built.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cloudmap._extras import require
from cloudmap.errors import ConfigError, StoreError
from cloudmap.stores._obstore import list_pages, path_safe
from cloudmap.stores._protocol import Entry, ListedKey, PutMode, Replace
from cloudmap.stores.azure._errors import map_azure_errors
from cloudmap.stores.azure._wire import decode_metadata, quoted

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from azure.storage.blob import ContainerClient
    from obstore import GetOptions
    from obstore.store import AzureCredential, AzureStore

__all__ = ["AzureObstoreEngine", "check_engine", "make_obstore_engine"]

# obstore sends no page size: the service's own (5,000 keys) applies.
_CHUNK = 5000
_TOKEN_SCOPE = "https://storage.azure.com/.default"  # noqa: S105 - a scope, not a secret
_CONTAINER_MISSING = "ContainerNotFound"


class AzureObstoreEngine:
    """Get Blob, Put Blob and List Blobs of one container through obstore."""

    def __init__(self, store: AzureStore, *, name: str) -> None:
        import obstore  # noqa: PLC0415  # lazily, like every provider SDK

        self._obstore = obstore
        self._store = store
        self._name = name

    def handles(self, key: str, metadata: Mapping[str, str] | None = None) -> bool:
        """Whether `key`, written with `metadata` (as sent), goes through obstore.

        obstore rewrites keys that are not paths, and sends metadata names in
        lower case.
        """
        return path_safe(key) and all(n == n.lower() for n in metadata or ())

    def get(
        self, key: str, *, if_match: str | None, if_none_match: str | None
    ) -> Entry | None:
        """One Get Blob; `None` when the key is missing and no etag was expected."""
        options: GetOptions = {}
        if if_match is not None:
            options["if_match"] = if_match
        if if_none_match is not None:
            options["if_none_match"] = if_none_match
        with map_azure_errors(self._name, "get", key, if_match=if_match):
            try:
                result = self._obstore.get(self._store, key, options=options)
                data = bytes(result.bytes())
            except self._obstore.exceptions.NotModifiedError:
                assert if_none_match is not None  # noqa: S101  # 304 answers If-None-Match only
                return Entry(b"", if_none_match, not_modified=True)
            except FileNotFoundError as exc:
                if if_match is None and _CONTAINER_MISSING not in str(exc):
                    return None
                raise
        etag = result.meta["e_tag"]
        if etag is None:
            raise StoreError(f"{self._name}: no ETag on key {key!r}", key=key)
        # Names with '-' are HTTP headers (Content-Type, ...): Azure metadata
        # names are C# identifiers and never hold one.
        wire = {n: v for n, v in result.attributes.items() if "-" not in n}
        return Entry(data, quoted(etag), decode_metadata(wire))

    def put(
        self, key: str, data: bytes, *, mode: PutMode, metadata: Mapping[str, str]
    ) -> str:
        """One Put Blob carrying the condition; `metadata` as sent (see `_wire`)."""
        sent: Any = mode
        if_match: str | None = None
        if isinstance(mode, Replace):
            if_match = quoted(mode.etag)
            # "version": None would be refused before any request is sent.
            sent = {"e_tag": if_match}
        with map_azure_errors(self._name, "put", key, if_match=if_match):
            result = self._obstore.put(
                self._store,
                key,
                data,
                mode=sent,
                attributes=dict(metadata),
                use_multipart=False,
            )
        etag = result["e_tag"]
        if etag is None:
            raise StoreError(f"{self._name}: no ETag for key {key!r}", key=key)
        return quoted(etag)

    def list(self, prefix: str) -> Iterator[ListedKey]:
        """Yield keys under `prefix` (empty, or ending with `/`) from List Blobs.

        Raises:
            NotAPathError: a listed key is not an obstore path; the keys before
                it were yielded.
        """
        pages = list_pages(
            self._store,
            prefix,
            chunk_size=_CHUNK,
            errors=lambda: map_azure_errors(self._name, "list", prefix),
        )
        for page in pages:
            for item in page:
                # Listings give the etag unquoted, reads and writes quoted.
                yield ListedKey(item["path"], quoted(item["e_tag"] or ""))


def check_engine(engine: str, *, injected: bool) -> None:
    """Refuse an unknown engine, or obstore with an injected SDK client.

    Raises:
        ConfigError: either of those.
    """
    if engine not in {"sdk", "obstore"}:
        msg = f"engine must be 'sdk' or 'obstore', not {engine!r}"
        raise ConfigError(msg)
    if engine == "obstore" and injected:
        msg = "engine='obstore' builds its own clients: pass no client="
        raise ConfigError(msg)


def make_obstore_engine(container: ContainerClient, *, name: str) -> AzureObstoreEngine:
    """The obstore engine of the SDK client's container, account and credential.

    Raises:
        MissingDependencyError: obstore is not installed (the `fast` extra).
        ConfigError: a credential obstore cannot use.
    """
    require("obstore", extra="fast", purpose="AzureBlobStore(engine='obstore')")
    from obstore.store import AzureStore  # noqa: PLC0415

    url = urlsplit(container.url)
    # The container's URL without the container: Azurite's carries the account.
    endpoint = f"{url.scheme}://{url.netloc}{url.path.rsplit('/', 1)[0]}"
    auth: dict[str, Any] = {}
    credential = container.credential
    if url.query:  # a SAS token, in the URL of the client the SDK built
        auth["sas_key"] = url.query
    elif credential is None:
        auth["skip_signature"] = True
    elif hasattr(credential, "account_key"):  # the SDK's shared-key policy
        auth["account_key"] = credential.account_key
    elif hasattr(credential, "signature"):  # AzureSasCredential
        auth["sas_key"] = str(credential.signature).lstrip("?")
    elif hasattr(credential, "get_token"):  # any TokenCredential
        auth["credential_provider"] = _token_provider(credential)
    else:
        msg = (
            f"{name}: engine='obstore' cannot sign with a "
            f"{type(credential).__name__}: use an account key, a SAS token or a "
            "TokenCredential, or engine='sdk'"
        )
        raise ConfigError(msg)
    store = AzureStore(
        container.container_name,
        account_name=container.account_name,
        endpoint=endpoint,
        client_options={"allow_http": url.scheme == "http"},
        # No retries inside obstore: a conditional write retried after it
        # landed would fail its own precondition (see cloudmap.retry for ours).
        retry_config={"max_retries": 0},
        **auth,
    )
    return AzureObstoreEngine(store, name=name)


def _token_provider(credential: Any) -> Any:
    """An obstore credential provider asking `credential` for a storage token."""

    def provide() -> AzureCredential:
        token = credential.get_token(_TOKEN_SCOPE)
        expires = datetime.fromtimestamp(token.expires_on, timezone.utc)
        return {"token": token.token, "expires_at": expires}

    return provide
