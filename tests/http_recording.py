"""Record the real HTTP requests each cloud SDK sends, below the store.

- S3: `S3RequestLog` listens to botocore's `before-send` / `response-received`;
- Azure: `RecordingTransport` is the SDK's own requests transport, noting each send;
- GCS: `RecordingAdapter` is mounted on the client's `requests` session.

Each keeps the SDK's raw request objects in `requests` (for provider-specific
checks) and offers `exchanges()`: the same requests, normalised, with the status
and body length of their responses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from botocore.awsrequest import AWSPreparedRequest
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and the answer to it."""

    method: str
    url: str
    headers: Mapping[str, str]
    status: int | None
    body_length: int | None

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string, parsed."""
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)


def _length(headers: Mapping[str, Any]) -> int | None:
    for name, value in headers.items():
        if name.lower() == "content-length":
            return int(value)
    return None


class _Log:
    """Requests and responses in the order they happened; thread-safe."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self._responses: list[tuple[int, int | None]] = []
        self._lock = threading.Lock()

    def _request(self, request: Any) -> None:
        with self._lock:
            self.requests.append(request)

    def _response(self, status: int, headers: Mapping[str, Any]) -> None:
        with self._lock:
            self._responses.append((status, _length(headers)))

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self.requests.clear()
            self._responses.clear()

    def _normalised(self, request: Any) -> tuple[str, str, dict[str, str]]:
        headers = {
            str(name): value.decode() if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
        }
        return str(request.method), str(request.url), headers

    def exchanges(self) -> list[Exchange]:
        """Every request so far, with its response's status and body length."""
        with self._lock:
            answers = self._responses + [(None, None)] * (
                len(self.requests) - len(self._responses)
            )
            return [
                Exchange(*self._normalised(request), *answer)
                for request, answer in zip(self.requests, answers, strict=False)
            ]


class S3RequestLog(_Log):
    """Every HTTP request a boto3 S3 client sends (botocore's `before-send` event)."""

    def __init__(self, client: S3Client) -> None:
        super().__init__()
        client.meta.events.register("before-send.s3", self._on_send)
        client.meta.events.register("response-received.s3", self._on_response)

    def _on_send(self, request: AWSPreparedRequest, **_: Any) -> None:
        self._request(request)

    def _on_response(self, response_dict: Mapping[str, Any], **_: Any) -> None:
        if response_dict is not None:
            self._response(response_dict["status_code"], response_dict["headers"])

    @property
    def summary(self) -> list[tuple[str, str]]:
        """(method, last path segment) of each request."""
        return [
            (r.method, r.url.split("?")[0].rsplit("/", 1)[-1]) for r in self.requests
        ]


class RecordingTransport(_Log, RequestsTransport):  # type: ignore[misc]
    """The Azure SDK's own HTTP transport, noting every request it sends."""

    def __init__(self, **kwargs: Any) -> None:
        _Log.__init__(self)
        RequestsTransport.__init__(self, **kwargs)

    def send(self, request: Any, **kwargs: Any) -> Any:
        self._request(request)
        response = RequestsTransport.send(self, request, **kwargs)
        self._response(response.status_code, response.headers)
        return response

    def summary(self) -> list[tuple[str, str | None, str | None, str | None]]:
        """(method, comp= query, If-Match, If-None-Match) of each request."""
        rows = []
        for request in self.requests:
            query = parse_qs(request.url.partition("?")[2])
            rows.append(
                (
                    request.method,
                    query.get("comp", [None])[0],
                    request.headers.get("If-Match"),
                    request.headers.get("If-None-Match"),
                )
            )
        return rows


class RecordingAdapter(_Log, HTTPAdapter):
    """Records every request sent through a `requests` session, then sends it."""

    def __init__(self) -> None:
        _Log.__init__(self)
        HTTPAdapter.__init__(self)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # type: ignore[override]
        self._request(request)
        response = HTTPAdapter.send(self, request, **kwargs)
        self._response(response.status_code, response.headers)
        return response

    def calls(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        """(method, path, query) of each request, in order."""
        out = []
        for request in self.requests:
            parts = urlsplit(str(request.url))
            out.append((str(request.method), parts.path, parse_qs(parts.query)))
        return out

    def attach(self, client: Any) -> RecordingAdapter:
        """Send the requests of a google-cloud-storage client through this adapter."""
        for scheme in ("http://", "https://"):
            client._http.mount(scheme, self)
        return self
