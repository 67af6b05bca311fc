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

Azure metadata names must be C# identifiers: our own `cloudmap-x` names are
sent as `cloudmap_x` (see `_wire`).

Keys the service would alias are refused before any request: a path segment
ending with `.` (Azure drops trailing dots of URL segments, and the HTTP client
removes `.`/`..` segments after the request is signed, which fails with 403)
and a backslash (stored as `/`).

The package: `_store` (the operations), `_client` (client construction, pool
sizing and SDK internals), `_account` (finding the account and credential),
`_errors` (SDK and obstore exceptions to cloudmap's errors), `_wire` (keys,
etags and metadata as Azure spells them), `_obstore` (the `engine="obstore"`
path: reads, writes and listings through obstore) and `_names` (how targets
name a container: URL scheme, ini names and options). azure-storage-blob, and
obstore for that engine, are imported only when a store is built.
"""

from typing import TYPE_CHECKING

from cloudmap.stores.azure._store import AzureBlobStore as AzureBlobStore

if TYPE_CHECKING:
    # For annotations elsewhere in cloudmap, so that only this package names the SDK.
    from azure.storage.blob import BlobServiceClient as BlobServiceClient
    from azure.storage.blob import ContainerClient as ContainerClient

__all__ = ["AzureBlobStore"]
