"""``python -m dbdicom``: the same as the ``dbdicom`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
