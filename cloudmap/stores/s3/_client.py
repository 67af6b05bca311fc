"""The boto3 client of `S3Store`: construction, endpoint options, pool, logs.

The client built here makes one attempt per request (`total_max_attempts=1`):
a conditional write retried inside botocore after its first attempt landed
would fail its own precondition and report a false conflict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from cloudmap._redact import redact_from_logs
from cloudmap.errors import ConfigError
from cloudmap.stores.s3._errors import s3_errors

if TYPE_CHECKING:
    from collections.abc import Mapping

    from botocore.config import Config
    from mypy_boto3_s3 import S3Client

    from cloudmap.stores.s3._obstore import ObstoreEngine

__all__ = [
    "ENDPOINT_OPTIONS",
    "Clients",
    "connect",
    "create_bucket",
    "endpoint_config",
    "make_client",
    "redact_botocore_logs",
    "reject_with_client",
]

ENDPOINT_OPTIONS = (
    "addressing_style",
    "request_checksum_calculation",
    "response_checksum_validation",
    "config",
)
"""The names of `endpoint_config`'s arguments, in order."""
_CHECKSUM_SETTINGS = frozenset({"when_supported", "when_required"})
_ADDRESSING_STYLES = frozenset({"auto", "path", "virtual"})
_BOTOCORE_LOGGERS = ("botocore.auth", "botocore.endpoint", "botocore.parsers")


class Clients(NamedTuple):
    """What an `S3Store` sends its requests through."""

    boto3: S3Client
    owned: bool  # built here, so closed by the store
    obstore: ObstoreEngine | None  # engine="obstore"


def connect(  # S3Store's own arguments, passed on
    bucket: str,
    *,
    name: str,
    client: S3Client | None,
    engine: str,
    endpoint_url: str | None,
    region_name: str | None,
    credentials: Mapping[str, str | None],
    max_pool_connections: int,
    options: tuple[str | None, str | None, str | None, Config | None],
) -> Clients:
    """The clients of `S3Store`: the injected boto3 client or a new one, and obstore.

    `credentials` holds the access key, secret, token and profile arguments;
    `options` those of `endpoint_config`.

    Raises:
        ConfigError: arguments that contradict each other or that botocore refused.
    """
    owned = client is None
    if client is not None:
        reject_with_client(
            {"endpoint_url": endpoint_url, "region_name": region_name}
            | dict(credentials)
            | dict(zip(ENDPOINT_OPTIONS, options, strict=True))
        )
    else:
        client = make_client(
            endpoint_url=endpoint_url,
            region_name=region_name,
            max_pool_connections=max_pool_connections,
            config=endpoint_config(*options),
            **credentials,
        )
    redact_botocore_logs(
        credentials["aws_secret_access_key"], credentials["aws_session_token"]
    )
    fast: ObstoreEngine | None = None
    if engine == "obstore":
        if not owned:
            msg = "engine='obstore' builds its own clients: pass no client="
            raise ConfigError(msg)
        from cloudmap.stores.s3._obstore import make_obstore_engine  # noqa: PLC0415

        fast = make_obstore_engine(
            bucket,
            name=name,
            # boto3's own resolution, AWS_ENDPOINT_URL_S3 and profiles included.
            endpoint_url=endpoint_url or client.meta.endpoint_url,
            region_name=client.meta.region_name,
            addressing_style=options[0],
            **credentials,
        )
    elif engine != "boto3":
        msg = f"engine must be 'boto3' or 'obstore', not {engine!r}"
        raise ConfigError(msg)
    return Clients(client, owned, fast)


def reject_with_client(given: Mapping[str, object]) -> None:
    """Refuse connection arguments next to an injected client.

    Raises:
        ConfigError: one of `given` is not None.
    """
    named = [name for name, value in given.items() if value is not None]
    if named:
        msg = f"pass either client= or {', '.join(named)}, not both"
        raise ConfigError(msg)


def endpoint_config(
    addressing_style: str | None,
    request_checksum_calculation: str | None,
    response_checksum_validation: str | None,
    config: Config | None,
) -> Config | None:
    """Our endpoint options as a botocore Config, under the caller's `config`."""
    from botocore.config import Config  # noqa: PLC0415

    options: dict[str, Any] = {}
    if addressing_style is not None:
        if addressing_style not in _ADDRESSING_STYLES:
            msg = (
                f"addressing_style must be one of {sorted(_ADDRESSING_STYLES)}, "
                f"not {addressing_style!r}"
            )
            raise ConfigError(msg)
        options["s3"] = {"addressing_style": addressing_style}
    for name, value in (
        ("request_checksum_calculation", request_checksum_calculation),
        ("response_checksum_validation", response_checksum_validation),
    ):
        if value is None:
            continue
        if value.lower() not in _CHECKSUM_SETTINGS:
            msg = f"{name} must be one of {sorted(_CHECKSUM_SETTINGS)}, not {value!r}"
            raise ConfigError(msg)
        options[name] = value.lower()
    if not options:
        return config
    try:
        ours = Config(**options)
    except TypeError as exc:
        # botocore < 1.36 (our floor is boto3 1.35.54): Config has no checksum
        # settings yet; it raises TypeError for the unknown keyword.
        msg = f"this botocore does not know these S3 options (need >= 1.36): {exc}"
        raise ConfigError(msg) from exc
    return ours.merge(config) if config is not None else ours


def make_client(
    *,
    endpoint_url: str | None,
    region_name: str | None,
    aws_access_key_id: str | None,
    aws_secret_access_key: str | None,
    aws_session_token: str | None,
    profile_name: str | None,
    max_pool_connections: int,
    config: Config | None,
) -> S3Client:
    """A boto3 S3 client with `max_pool_connections` and no SDK retries.

    Raises:
        ConfigError: botocore refused the profile, region or endpoint.
    """
    import boto3.session  # noqa: PLC0415  # lazily: `import cloudmap` never loads boto3
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    ours = Config(
        max_pool_connections=max_pool_connections,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    try:
        session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            region_name=region_name,
            profile_name=profile_name,
        )
        return session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=ours.merge(config) if config is not None else ours,
        )
    except BotoCoreError as exc:  # an unknown profile, a bad region or endpoint
        msg = f"cannot build an S3 client: {exc}"
        raise ConfigError(msg) from exc


def redact_botocore_logs(*secrets: str | None) -> None:
    """Mask `secrets` and the session token header in botocore's debug logs."""
    # botocore logs signed requests at DEBUG, the session token included.
    redact_from_logs(
        _BOTOCORE_LOGGERS,
        secrets=secrets,
        headers=["x-amz-security-token"],
    )


def create_bucket(client: S3Client, bucket: str, *, store: str) -> None:
    """Create `bucket` in the client's region; one that we own already is fine."""
    region = client.meta.region_name
    with s3_errors(None, store=store):
        try:
            if region and region != "us-east-1":
                client.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                # us-east-1 refuses a LocationConstraint naming itself.
                client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
