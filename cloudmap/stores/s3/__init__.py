"""Amazon S3 and S3-compatible services: `S3Store`, through boto3 or obstore.

The package holds the store (`_store`), its one error mapping for both engines
(`_errors`), the boto3 client set-up (`_client`), conditional uploads
(`_upload`) and the obstore engine (`_obstore`). Importing it loads no SDK.
"""

from __future__ import annotations

from cloudmap.stores.s3._store import S3Store as S3Store

__all__ = ["S3Store"]
