"""The interaction models copied, validated, to where the ASK CLI deploys them from: `make skill-package`.

A build-time tool, left out of the Lambda artefact (serverless.yml); the skill itself only loads the models
(skill/interaction_model.py, for the carrier check at start-up).
"""

from __future__ import annotations

import json
from pathlib import Path

from skill.interaction_model import MODELS_DIR, model_locales, validate_model

SKILL_PACKAGE = MODELS_DIR.parent / "skill-package"


def export_to_skill_package(package: Path = SKILL_PACKAGE, models_dir: Path = MODELS_DIR) -> list[Path]:
    """Copy every model, validated, to where the ASK CLI deploys it from
    (``skill-package/interactionModels/custom/<locale>.json``): interaction_models/ stays the one source, and
    the copy is never edited (or committed). Raises ValueError naming every problem, copying nothing."""
    problems = []
    for locale in model_locales(models_dir):
        model = json.loads((models_dir / f"{locale}.json").read_text(encoding="utf-8"))
        problems += [f"{locale}: {problem}" for problem in validate_model(model)]
    if problems:
        raise ValueError("the interaction models are not valid:\n  " + "\n  ".join(problems))
    target = package / "interactionModels" / "custom"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.json"):
        stale.unlink()
    copied = []
    for locale in model_locales(models_dir):
        copy = target / f"{locale}.json"
        copy.write_bytes((models_dir / f"{locale}.json").read_bytes())
        copied.append(copy)
    return copied


if __name__ == "__main__":  # `make skill-package`: before `ask deploy`
    for path in export_to_skill_package():
        print(f"wrote {path.relative_to(SKILL_PACKAGE.parent)}")
