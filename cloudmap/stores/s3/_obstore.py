"""The obstore engine of `S3Store`: reads, small writes and listings in Rust.

`S3Store(..., engine="obstore")` sends GetObject, single-part PutObject and
ListObjectsV2 through obstore (the `object_store` crate), at a fraction of
boto3's client CPU per request. Conditions ride in the same request: `mode=
"create"` (`If-None-Match: *`), `mode={"e_tag": etag}` (`If-Match`), and
`if_match` / `if_none_match` on reads. What obstore cannot do stays on the
boto3 path, so nothing is written unconditionally or read-then-written:
`delete` (obstore's takes no condition), values over the multipart threshold
(its multipart completion carries none), keys it refuses (empty, `.` or `..`
segments, control characters; a listing meeting one goes on with boto3),
metadata names it reads as standard headers (`Content-Type`, ...), listings
under a prefix not ending in `/` (it lists whole path segments).

obstore strips a leading or trailing `/` from every key it lists, which no
caller can detect: this engine refuses to write such keys (`ValueError`).
obstore is imported when such a store is built, never by `import cloudmap`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cloudmap._extras import require
from cloudmap.errors import MissingCredentialsError, StoreError
from cloudmap.stores._obstore import check_writable, list_pages, lists, path_safe
from cloudmap.stores._protocol import (
    Entry,
    ListedKey,
    PutMode,
    Replace,
    replace_or_overwrite,
)
from cloudmap.stores.s3._errors import CREDENTIAL_CHAIN, s3_errors

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from obstore import GetOptions
    from obstore.store import ClientConfig, RetryConfig
    from obstore.store import S3Store as ObstoreS3Store

__all__ = ["ObstoreEngine", "make_obstore_engine"]

_PAGE_SIZE = 1000
# obstore reads these attribute names as headers, not as x-amz-meta-* metadata.
_STANDARD_ATTRIBUTES = frozenset(
    {"cache-control", "content-disposition", "content-encoding"}
    | {"content-language", "content-type", "storage-class"}
)


class ObstoreEngine:
    """GetObject, PutObject and ListObjectsV2 of one bucket through obstore."""

    def __init__(self, store: ObstoreS3Store, *, name: str) -> None:
        import obstore  # noqa: PLC0415  # lazily, like every provider SDK

        self._obstore = obstore
        self._store = store
        self._name = name

    def check_writable(self, key: str) -> None:
        """Refuse a key that obstore's listings would report under another name.

        Raises:
            ValueError: `key` starts or ends with `/`.
        """
        check_writable(key, store=self._name, sdk="boto3")

    def handles(self, key: str, metadata: Mapping[str, str] | None = None) -> bool:
        """Whether `key` (written with `metadata`) goes through obstore."""
        if not path_safe(key):
            return False
        return not any(name.lower() in _STANDARD_ATTRIBUTES for name in metadata or ())

    def lists(self, prefix: str) -> bool:
        """Whether a listing under `prefix` goes through obstore."""
        return lists(prefix)

    def get(
        self, key: str, *, if_match: str | None, if_none_match: str | None
    ) -> Entry:
        """One GetObject.

        A 304 and a missing key leave as `_errors.NotModifiedError` and
        `_errors.NoSuchKeyError`, as on the boto3 path; `S3Store.get` answers them.
        """
        options: GetOptions = {}
        if if_match is not None:
            options["if_match"] = if_match
        if if_none_match is not None:
            options["if_none_match"] = if_none_match
        with s3_errors(key, store=self._name, mode=replace_or_overwrite(if_match)):
            result = self._obstore.get(self._store, key, options=options)
            data = bytes(result.bytes())
        etag = result.meta["e_tag"]
        if etag is None:
            raise StoreError(f"{self._name}: no ETag on key {key!r}", key=key)
        metadata = {
            name: value
            for name, value in result.attributes.items()
            if name.lower() not in _STANDARD_ATTRIBUTES
        }
        return Entry(data, etag, MappingProxyType(metadata))

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode,
        metadata: Mapping[str, str] | None,
    ) -> str:
        """One single-part PutObject carrying the condition."""
        sent: Any
        match mode:
            case Replace(expected):
                # "version": None would be refused before any request is sent.
                sent = {"e_tag": expected}
            case _:
                sent = mode
        with s3_errors(key, store=self._name, mode=mode):
            result = self._obstore.put(
                self._store,
                key,
                data,
                mode=sent,
                attributes=dict(metadata or {}),
                use_multipart=False,
            )
        etag = result["e_tag"]
        if etag is None:
            raise StoreError(f"{self._name}: no ETag for key {key!r}", key=key)
        return etag

    def list(self, prefix: str, *, start_after: list[str]) -> Iterator[ListedKey]:
        """Yield keys under `prefix` from paged ListObjectsV2.

        Each key yielded is appended to `start_after` (kept to its last one), so
        that a caller can go on with boto3 when `NotAPathError` stops it.
        """
        pages = list_pages(
            self._store,
            prefix,
            chunk_size=_PAGE_SIZE,
            errors=lambda: s3_errors(None, store=self._name),
        )
        for page in pages:
            for item in page:
                start_after[:] = [item["path"]]
                yield ListedKey(item["path"], item["e_tag"] or "")


def make_obstore_engine(
    bucket: str,
    *,
    name: str,
    endpoint_url: str | None,
    region_name: str,
    aws_access_key_id: str | None,
    aws_secret_access_key: str | None,
    aws_session_token: str | None,
    profile_name: str | None,
    addressing_style: str | None,
) -> ObstoreEngine:
    """Build the obstore engine of one bucket, with boto3's credentials.

    Without explicit keys, boto3's credential chain is asked now (boto3 itself
    asks at the first request).

    Raises:
        MissingDependencyError: obstore is not installed (the `fast` extra).
        MissingCredentialsError: boto3's chain found no credentials.
    """
    require("obstore", extra="fast", purpose="S3Store(engine='obstore')")
    from obstore.store import S3Store as ObstoreS3Store  # noqa: PLC0415

    host = urlsplit(endpoint_url or "").hostname or ""
    if host.endswith(".amazonaws.com"):
        endpoint_url = None  # AWS itself: obstore builds its URLs from the region
    config: dict[str, Any] = {
        "region": region_name,
        # Path style unless asked otherwise: what S3-compatible endpoints want,
        # and what botocore's "auto" picks for a custom endpoint.
        "virtual_hosted_style_request": addressing_style == "virtual"
        or (endpoint_url is None and addressing_style != "path"),
    }
    if endpoint_url is not None:
        config["endpoint"] = endpoint_url
    options: ClientConfig = {
        "allow_http": bool(endpoint_url and endpoint_url.startswith("http://"))
    }
    # No retries inside obstore: a conditional write retried after it landed
    # would fail its own precondition (see cloudmap.retry for ours).
    retry: RetryConfig = {"max_retries": 0}
    if aws_access_key_id is not None or aws_secret_access_key is not None:
        config["access_key_id"] = aws_access_key_id
        config["secret_access_key"] = aws_secret_access_key
        if aws_session_token is not None:
            config["session_token"] = aws_session_token
        store = ObstoreS3Store(
            bucket, client_options=options, retry_config=retry, **config
        )
    else:
        import boto3.session  # noqa: PLC0415
        from obstore.auth.boto3 import Boto3CredentialProvider  # noqa: PLC0415

        session = boto3.session.Session(profile_name=profile_name)
        try:
            provider = Boto3CredentialProvider(session)
        except ValueError as exc:  # boto3's chain found nothing
            msg = f"{name}: unable to locate credentials: {CREDENTIAL_CHAIN}"
            raise MissingCredentialsError(msg, store=name) from exc
        store = ObstoreS3Store(
            bucket,
            client_options=options,
            retry_config=retry,
            credential_provider=provider,
            **config,
        )
    return ObstoreEngine(store, name=name)
