"""``python -m convgrad.cli`` = the ``convgrad`` command."""

import sys

from . import main

sys.exit(main())
