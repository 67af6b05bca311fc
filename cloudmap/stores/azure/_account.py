"""Where an Azure Blob store finds its account when none is passed.

The order is the one the Azure SDKs and adlfs use:

1. `AZURE_STORAGE_CONNECTION_STRING`;
2. the account name (`account_name=`, `az://...?account=`, or
   `AZURE_STORAGE_ACCOUNT_NAME`) with `AZURE_STORAGE_ACCOUNT_KEY`, else
   `AZURE_STORAGE_SAS_TOKEN`, else `DefaultAzureCredential` when
   `azure-identity` is installed.

Nothing found raises one `MissingCredentialsError` naming the variables.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

from cloudmap.errors import MissingCredentialsError

__all__ = ["AzureAccount", "discover_account"]

CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_NAME = "AZURE_STORAGE_ACCOUNT_NAME"
ACCOUNT_KEY = "AZURE_STORAGE_ACCOUNT_KEY"
SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class AzureAccount:
    """A connection string, or else an account URL, with a credential."""

    connection_string: str | None = None
    account_url: str = ""
    credential: Any = None


def discover_account(
    container: str, *, account_name: str | None, credential: Any
) -> AzureAccount:
    """The account and credential to use for `container`, from the environment.

    Raises:
        MissingCredentialsError: no connection string or account name was
            found, or an account name came without any credential.
    """
    environ = os.environ
    if account_name is None and environ.get(CONNECTION_STRING):
        return AzureAccount(
            connection_string=environ[CONNECTION_STRING], credential=credential
        )
    name = account_name or environ.get(ACCOUNT_NAME)
    where = f"az://{container}"
    if not name:
        msg = (
            f"{where}: no Azure storage account found: set {CONNECTION_STRING}, "
            f"or {ACCOUNT_NAME} with {ACCOUNT_KEY} or {SAS_TOKEN} (or install "
            "azure-identity for DefaultAzureCredential); or pass ?account=NAME, "
            "?endpoint=URL or ?connection_string=$VAR in the URL"
        )
        raise MissingCredentialsError(msg, store=where)
    url = f"https://{name}.blob.core.windows.net"
    if credential is None:
        credential = _credential(name, where=f"az://{name}/{container}")
    return AzureAccount(account_url=url, credential=credential)


def _credential(name: str, *, where: str) -> Any:
    """The account's key, else its SAS token, else `DefaultAzureCredential`."""
    if os.environ.get(ACCOUNT_KEY):
        return os.environ[ACCOUNT_KEY]
    if os.environ.get(SAS_TOKEN):
        return os.environ[SAS_TOKEN].lstrip("?")
    if importlib.util.find_spec("azure.identity") is not None:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415

        return DefaultAzureCredential()
    msg = (
        f"{where}: no credential for account {name!r}: set {ACCOUNT_KEY} or "
        f"{SAS_TOKEN}, or pip install azure-identity to use DefaultAzureCredential"
    )
    raise MissingCredentialsError(msg, store=where)
