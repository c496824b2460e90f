"""How well the skill hears what people say: the evaluations and their phrase sets, together.

    .venv/bin/python -m evaluation.triage          # red flags volunteered mid-guide (make eval-triage)
    .venv/bin/python -m evaluation.clarify         # pain or weakness: the clarifying question (make eval-clarify)
    .venv/bin/python -m evaluation.understanding   # natural phrases at every stage (make eval-understanding)

Each sends its set (``sets/``) through the skill as Alexa would and prints the figures; README.md beside
this file describes the sets, how answers are judged, and the figures so far. A developer's tool, run from
the checkout: it reads the interaction models and tests/third_party from there, so it is not installed with
the skill (pyproject.toml) and never packaged for Lambda (serverless.yml).
"""

from pathlib import Path

SETS = Path(__file__).resolve().parent / "sets"
