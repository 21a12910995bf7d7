"""``python -m rnnlab`` runs the command line, as the ``rnnlab`` script does."""

import sys

from rnnlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
