"""``python -m recogenre``: the same as the ``recogenre`` command."""

import sys

from recogenre.cli import main

if __name__ == "__main__":
    sys.exit(main())
