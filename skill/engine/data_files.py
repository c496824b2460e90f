"""Reading the content's YAML files (protocol, prompts, red flags, questions).

With libyaml's C loader when PyYAML has it (the manylinux wheels do): the pure-Python loader took most of
the skill's start-up, about a second, which Lambda pays on every cold start. Both are PyYAML's safe
loader: plain data only, no tags, no objects.
"""

from __future__ import annotations

from pathlib import Path

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path):
    with Path(path).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, C or Python
