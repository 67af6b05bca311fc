"""Amazon S3 and S3-compatible services: `S3Store`, through boto3 or obstore.

The package holds the store (`_store`), its one error mapping for both engines
(`_errors`), the boto3 client set-up (`_client`), conditional uploads
(`_upload`), the obstore engine (`_obstore`) and how targets name a bucket
(`_names`: URL scheme, ini names and options). Importing it loads no SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmap.stores.s3._store import S3Store as S3Store

if TYPE_CHECKING:
    # For annotations elsewhere in cloudmap, so that only this package names boto3.
    from mypy_boto3_s3 import S3Client as S3Client

__all__ = ["S3Store"]
