"""Replication from a cshelve-style ini file: every write reaches two stores.

Run: python examples/replication_ini.py [DIRECTORY]
The ini file and both replicas live in DIRECTORY (default: a temporary one).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cloudmap

CONFIG = """
[default]
providers        = primary, backup
provider_routing = all

[primary]
provider    = filesystem
folder_path = {root}/primary

[backup]
provider    = filesystem
folder_path = {root}/backup

[backup.compression]
algorithm = zlib
level     = 9
"""


def main(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    ini = root / "replicated.ini"
    ini.write_text(CONFIG.format(root=root))
    with cloudmap.open(ini) as db:
        db["user:1"] = {"name": "Alice"}
        db["user:2"] = {"name": "Bob"}
        print(f"wrote {sorted(db)} through {ini.name}")
    for replica in ("primary", "backup"):
        with cloudmap.open(root / replica, "r") as single:
            print(f"{replica}: {sorted(single)}")
    with cloudmap.open(root / "primary", "r") as primary:
        assert primary["user:1"] == {"name": "Alice"}
    backup_file = root / "backup" / "user:1"
    primary_file = root / "primary" / "user:1"
    print(
        f"backup stores zlib-compressed bytes ({backup_file.stat().st_size} bytes; "
        f"primary {primary_file.stat().st_size})"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
