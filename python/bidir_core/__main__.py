"""``python -m bidir_core`` runs the ``bidir`` command line."""

import sys

from bidir_core.cli import main

sys.exit(main())
