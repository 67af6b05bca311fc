"""`python -m cloudmap`: the same as the `cloudmap` command."""

import sys

from cloudmap.cli import main

if __name__ == "__main__":
    sys.exit(main())
