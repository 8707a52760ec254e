"""``python -m advcert``: the same entry point as the ``advcert`` console script."""

import sys

from advcert.cli import main

sys.exit(main())
