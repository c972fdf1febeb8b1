"""``python -m hwloop.sim.cli``: the ``hwloop`` command."""
import sys

from ._main import main

sys.exit(main())
