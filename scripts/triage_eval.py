#!/usr/bin/env python3
"""How well the skill recognises red flags: eval/triage_phrases.tsv sent through the endpoint.

    .venv/bin/python scripts/triage_eval.py                    # in process, Flask test client
    .venv/bin/python scripts/triage_eval.py --url http://127.0.0.1:5000/alexa   # a running skill
    .venv/bin/python scripts/triage_eval.py --direct           # the matcher alone, no endpoint
    .venv/bin/python scripts/triage_eval.py [--direct] path/to/phrases.tsv

The evaluation lives in ``simulator/triage_eval.py`` (also ``python -m simulator.triage_eval``).
"""

import sys

from simulator.triage_eval import Router, main, read_phrases  # noqa: F401  (tests/test_triage_matcher.py imports these here)

if __name__ == "__main__":
    sys.exit(main())
