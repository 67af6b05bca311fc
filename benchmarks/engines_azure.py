"""Raw Azure requests for benchmarks/engines.py: azure-storage-blob vs obstore.

Raw azure-storage-blob and raw obstore send the same conditional requests as
cloudmap (`If-None-Match: *`, `If-Match`), except raw obstore's delete, which
is unconditional (obstore's delete takes no condition).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cloudmap.stores.azure import AzureBlobStore

WORKERS = 16
PAGE = 5000  # List Blobs' page: Azure's default, which both engines get


class RawAzure:
    """The same conditional requests, straight through one SDK."""

    def __init__(self, engine: str, conn: str, container: str) -> None:
        from azure.storage.blob import ContainerClient  # noqa: PLC0415

        self.engine = engine
        self.etags: dict[str, str] = {}
        self.client: Any = ContainerClient.from_connection_string(
            conn, container, retry_total=0
        )
        if engine == "obstore":
            from obstore.store import AzureStore  # noqa: PLC0415

            fields = dict(part.split("=", 1) for part in conn.split(";") if part)
            self.sdk = self.client
            self.client = AzureStore(
                container,
                account_name=fields["AccountName"],
                account_key=fields["AccountKey"],
                endpoint=fields["BlobEndpoint"],
                client_options={"allow_http": True},
                retry_config={"max_retries": 0},
            )

    def _conditions(self, key: str) -> dict[str, Any]:
        from azure.core import MatchConditions  # noqa: PLC0415

        return {
            "etag": self.etags[key],
            "match_condition": MatchConditions.IfNotModified,
        }

    def set(self, key: str, data: bytes) -> None:
        held = self.etags.get(key)
        if self.engine == "sdk":
            blob = self.client.get_blob_client(key)
            cond = self._conditions(key) if held else {"overwrite": False}
            out = blob.upload_blob(data, length=len(data), **cond)
            self.etags[key] = out["etag"]
        else:
            import obstore  # noqa: PLC0415

            mode: Any = {"e_tag": held} if held else "create"
            self.etags[key] = obstore.put(self.client, key, data, mode=mode)["e_tag"]

    def get(self, key: str) -> bytes:
        if self.engine == "sdk":
            blob = self.client.get_blob_client(key)
            return bytes(blob.download_blob(**self._conditions(key)).readall())
        import obstore  # noqa: PLC0415

        result = obstore.get(self.client, key, options={"if_match": self.etags[key]})
        return bytes(result.bytes())

    def delete(self, key: str) -> None:
        if self.engine == "sdk":
            self.client.get_blob_client(key).delete_blob(**self._conditions(key))
        else:  # obstore's delete takes no condition: raw obstore cannot match it
            import obstore  # noqa: PLC0415

            obstore.delete(self.client, key)
        del self.etags[key]

    def list(self) -> int:
        if self.engine == "sdk":
            return sum(1 for _ in self.client.list_blobs())
        import obstore  # noqa: PLC0415

        return sum(len(page) for page in obstore.list(self.client, chunk_size=PAGE))

    def get_many(self, keys: list[str]) -> None:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(self.get, keys))

    def set_many(self, items: dict[str, bytes]) -> None:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda kv: self.set(*kv), items.items()))

    def close(self) -> None:
        (self.sdk if self.engine == "obstore" else self.client).close()


def new_container(conn: str) -> str:
    """A fresh, empty container on the account of `conn`."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    AzureBlobStore(name, connection_string=conn, create=True).close()
    return name


def start_azurite(
    workdir: Path,
) -> tuple[Callable[[], tuple[str, str]], Callable[[], None]]:
    """Start Azurite: a maker of (connection string, new container), and its stop."""
    from devtools.emulators import start_azurite as start  # noqa: PLC0415

    azurite = start(workdir)
    conn = azurite.connection_string or ""
    return (lambda: (conn, new_container(conn))), azurite.stop


def implementations(ours: Callable[[Any], Any]) -> dict[str, Callable[[str, str], Any]]:
    """Raw SDK, raw obstore and `ours(store)` on each engine, by name."""
    return {
        "raw azure": lambda conn, c: RawAzure("sdk", conn, c),
        "raw obstore": lambda conn, c: RawAzure("obstore", conn, c),
        "cloudmap sdk": lambda conn, c: ours(AzureBlobStore(c, connection_string=conn)),
        "cloudmap obstore": lambda conn, c: ours(
            AzureBlobStore(c, connection_string=conn, engine="obstore")
        ),
    }
