"""GCSStore: objects in a Google Cloud Storage bucket, the generation as etag.

Every precondition rides in the request it guards, as a query parameter the
server checks (`ifGenerationMatch`, `ifGenerationNotMatch`):

- create: upload with `ifGenerationMatch=0` (the object must not exist);
- replace: upload with `ifGenerationMatch=<generation>`;
- delete: `ifGenerationMatch=<generation>` on the DELETE;
- conditional read: the media download with `ifGenerationMatch` (412 when
  stale, 404 when gone) or `ifGenerationNotMatch` (304 when unchanged).

The etag is the object's generation as a decimal string: it changes on every
write, even of identical bytes. google-cloud-storage is imported only when a
store is built.

The package: `_store` (the operations), `_client` (client construction, pool
sizing, the response hook and SDK workarounds), `_errors` (SDK exceptions to
cloudmap's errors) and `_wire` (keys, etags and metadata as GCS spells them).
"""

from cloudmap.stores.gcs._client import SDK_DEFAULT as SDK_DEFAULT
from cloudmap.stores.gcs._store import GCSStore as GCSStore

__all__ = ["SDK_DEFAULT", "GCSStore"]
