"""What the cloud stores share: status sets, the owned client, header metadata.

Each provider's `_errors.py` maps its SDK's exception types to cloudmap's errors
with these sets, so that S3, Azure and GCS agree on what is transient, what is
denied and which failures may have been applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from typing_extensions import Self

__all__ = [
    "DENIED_STATUSES",
    "NOT_MODIFIED",
    "REFUSED_STATUSES",
    "TRANSIENT_STATUSES",
    "OwnedClient",
    "causes",
    "chain_may_have_applied",
    "header_metadata",
    "may_have_applied",
]

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth a retry: timeout, throttling and server errors."""

REFUSED_STATUSES = frozenset({429, 503})
"""Statuses with which a server refuses a request before acting on it."""

DENIED_STATUSES = frozenset({401, 403})
"""Statuses that mean the credentials or the permission were refused."""

NOT_MODIFIED = 304


def may_have_applied(status: int | None) -> bool:
    """Whether a request that failed with `status` may still have been applied.

    Only a refusal (429, 503) is known to leave the object alone; any other
    status, or none at all (a reset or a read timeout), is ambiguous.

    Examples:
        >>> may_have_applied(503), may_have_applied(500), may_have_applied(None)
        (False, True, True)
    """
    return status not in REFUSED_STATUSES


def header_metadata(headers: Mapping[str, str], prefix: str) -> Mapping[str, str]:
    """User metadata from response headers named `<prefix><name>` (lower case).

    Examples:
        >>> dict(header_metadata({"x-amz-meta-a": "1", "etag": "e"}, "x-amz-meta-"))
        {'a': '1'}
    """
    return MappingProxyType(
        {
            name[len(prefix) :]: value
            for name, value in headers.items()
            if name.startswith(prefix)
        }
    )


class _Closable(Protocol):
    def close(self) -> None: ...


class OwnedClient:
    """A store that closes its SDK client only if it built it; a context manager.

    Subclasses set `_owns_client` and return their client from `_owned()`.
    """

    _owns_client: bool

    def _owned(self) -> _Closable:
        raise NotImplementedError

    def close(self) -> None:
        """Close the SDK client, unless it was injected."""
        if self._owns_client:
            self._owned().close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or during, each once.

    SDKs wrap the error of their HTTP client, which wraps the operating
    system's: whether a request was sent is often known only down the chain.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def chain_may_have_applied(
    exc: BaseException,
    unsent: tuple[type[BaseException], ...],
    status: Callable[[BaseException], int | None],
) -> bool:
    """Whether the request that failed with `exc` may have been acted on.

    Walks `exc`'s cause chain: a link of an `unsent` type means the request
    never left the client (False); the first link with an HTTP `status` decides
    by `may_have_applied`; with neither, the outcome is unknown (True).
    """
    for link in causes(exc):
        if isinstance(link, unsent):
            return False
        code = status(link)
        if code is not None:
            return may_have_applied(code)
    return True
