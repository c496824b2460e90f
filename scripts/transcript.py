#!/usr/bin/env python
"""Print a plain-text transcript of one full walk-through of the skill.

    .venv/bin/python scripts/transcript.py [--verbose]

The walk-through lives in ``simulator/transcript.py`` (also ``python -m simulator.transcript``).
"""

import sys

from simulator.transcript import main

if __name__ == "__main__":
    sys.exit(main())
