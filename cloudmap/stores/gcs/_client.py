"""The google-cloud-storage client: construction, pool sizing, response watching.

Everything here that reaches into the SDK's private attributes says why, and
which SDK versions it is for.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from cloudmap.errors import ConfigError, MissingCredentialsError
from cloudmap.stores.gcs._errors import map_gcs_errors

__all__ = ["SDK_DEFAULT", "ResponseWatcher", "create_bucket", "new_client"]


class _SDKDefault:
    def __repr__(self) -> str:
        return "<SDK default>"


SDK_DEFAULT: Any = _SDKDefault()
"""Leave google-cloud-storage's own retry policy in place (see `GCSStore`)."""


_NO_CREDENTIALS = (
    "gs://{}: no Google Cloud credentials found: looked at "
    "GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials "
    "(run `gcloud auth application-default login`) and the GCE metadata server; "
    "for an emulator pass ?endpoint=URL (or endpoint_url=)"
)


def new_client(
    storage: Any,
    bucket: str,
    *,
    project: str | None,
    credentials: Any,
    endpoint_url: str | None,
    max_pool_connections: int,
) -> Any:
    """A `storage.Client` for `bucket`: anonymous on an emulator, its pool sized.

    Raises:
        MissingCredentialsError: no credentials were given or found.
    """
    kwargs: dict[str, Any] = {}
    # Omitted, the project is looked up in the environment. An explicit None
    # (emulators) skips that lookup, which would probe for Application Default
    # Credentials and the GCE metadata server.
    if project is not None or endpoint_url is not None:
        kwargs["project"] = project
    if endpoint_url is not None:
        kwargs["client_options"] = {"api_endpoint": endpoint_url}
        if credentials is None:
            from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415

            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    from google.auth.exceptions import DefaultCredentialsError  # noqa: PLC0415

    try:
        client = storage.Client(credentials=credentials, **kwargs)
    except DefaultCredentialsError as exc:
        raise MissingCredentialsError(
            _NO_CREDENTIALS.format(bucket), store=f"gs://{bucket}"
        ) from exc
    # SDK WORKAROUND, google-cloud-storage >= 3.x with App-centric Observability
    # tracing (present in 3.17, absent in 3.0; detected by the attribute, not
    # the version number): the client fetches each bucket's metadata in a
    # background thread only to label OpenTelemetry spans, an extra request
    # (needing storage.buckets.get) outside the one request per operation we
    # promise.
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None  # noqa: SLF001
    _size_pool(client, max_pool_connections)
    return client


def create_bucket(
    client: Any, bucket_name: str, *, store: str, retry: dict[str, Any]
) -> None:
    """Create `bucket_name` unless it exists; `retry` holds the store's retry argument.

    Raises:
        ConfigError: the client has no project to create the bucket in.
    """
    from google.api_core import exceptions as gexc  # noqa: PLC0415

    if client.project is None:
        msg = (
            f"creating bucket {bucket_name!r} needs a project: pass "
            "project= (?project= in a gs:// URL) or set GOOGLE_CLOUD_PROJECT"
        )
        raise ConfigError(msg)
    # A 409 says it exists already: create=True only makes sure it does.
    with (
        map_gcs_errors("", store=store, bucket_request=True),
        contextlib.suppress(gexc.Conflict),
    ):
        client.create_bucket(bucket_name, **retry)


def _size_pool(client: Any, size: int) -> None:
    """Keep `size` connections per host, so parallel requests reuse them."""
    from requests.adapters import HTTPAdapter  # noqa: PLC0415

    # `client._http` is the client's requests session (google-cloud-core, all
    # versions): the SDK has no option for its pool, which keeps 10 connections.
    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
    for scheme in ("http://", "https://"):
        client._http.mount(scheme, adapter)  # noqa: SLF001


class ResponseWatcher:
    """Keeps the last HTTP response of each thread, to read a download's headers.

    `Blob.download_as_bytes()` returns only the body; the SDK copies a few
    headers onto the blob, but not the `x-goog-meta-*` ones and, on some
    emulators, not the generation. A `requests` response hook on the client's
    session sees the very response of the download (hooks run in the calling
    thread), so one request still gives body, generation and metadata while the
    SDK keeps building the URL, checking the checksum and translating errors.
    """

    def __init__(self, client: Any) -> None:
        self._local = threading.local()
        self._hooks: list[Any] | None = None
        # `client._http` is the requests session (google-cloud-core, all
        # versions); a client with another transport is not watched.
        hooks = getattr(client._http, "hooks", None)  # noqa: SLF001
        if isinstance(hooks, dict):
            self._hooks = hooks.setdefault("response", [])
            self._hooks.append(self._remember)

    def _remember(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        self._local.last = response
        return response

    def forget(self) -> None:
        """Drop this thread's last response, before a request."""
        self._local.last = None

    def take(self) -> Any:
        """This thread's last response (None if none), forgetting it."""
        response = getattr(self._local, "last", None)
        self._local.last = None
        return response

    def stop(self) -> None:
        """Stop watching the client's responses."""
        if self._hooks is not None:
            with contextlib.suppress(ValueError):
                self._hooks.remove(self._remember)
            self._hooks = None
