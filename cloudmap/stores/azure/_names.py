"""How targets name an Azure container, read by the registry in `cloudmap.stores`."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap._env import expand_env
from cloudmap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["AzureNames"]

# cshelve's secret-bearing auth types: the argument, the default variable.
_SECRETS = {
    "connection_string": ("connection_string", "AZURE_STORAGE_CONNECTION_STRING"),
    "access_key": ("credential", "AZURE_STORAGE_ACCESS_KEY"),
}


class AzureNames:
    """The URL scheme, ini names and options, and extra `AzureBlobStore` declares."""

    url_schemes = ("az",)
    url_options = MappingProxyType(
        {
            "account": "account_name",
            "endpoint": "account_url",
            "account_url": "account_url",
            "connection_string": "connection_string",
            "account_key": "credential",
            "sas_token": "credential",
            "engine": "engine",
        }
    )
    ini_providers = ("azure-blob",)
    ini_location = ("container_name",)
    ini_options = MappingProxyType(
        {
            "auth_type": "",
            "environment_key": "",
            "account_url": "account_url",
            "engine": "engine",
        }
    )
    extra = "azure"

    @classmethod
    def ini_arguments(cls, values: Mapping[str, str], *, where: str) -> dict[str, Any]:
        """Cshelve's `auth_type`; the secret is in the `environment_key` variable."""
        auth = values.get("auth_type", "passwordless")
        if auth in {"passwordless", "anonymous"}:
            return {}  # the store falls back on the SDK's default credential chain
        if auth not in _SECRETS:
            msg = (
                f"{where} auth_type: {auth!r} is not one of "
                "access_key, connection_string, passwordless, anonymous"
            )
            raise ConfigError(msg)
        argument, default = _SECRETS[auth]
        variable = values.get("environment_key", default)
        where = f"{where} environment_key"
        return {argument: expand_env(f"${{{variable}}}", where=where)}
