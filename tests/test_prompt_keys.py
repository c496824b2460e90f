"""Every prompt key the code names has words in every prompts file, and every prompt has a use.

The content check at start-up knows the keys the content implies (each step's ask and reprompt, each red
flag's reason, each question's answer: ``content.required_prompt_keys``) and that every prompts file has
the keys of the default locale's. The keys the code names itself ("events.stop", f"timers.name_{pack}")
are found here by reading the code: string literals shaped like a key of a prompts file's sections, and
f-strings as patterns. A key in the prompts that neither the content nor the code uses is an error too: a
clinician rewording it would be changing words nobody hears.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from skill.engine import default_content
from skill.engine.content import Prompts, required_prompt_keys

ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = ROOT / "skill"  # (the simulator and the evaluation tools read prompts, they give them no use)
# Strings shaped like a key that name a file ("questions.yaml").
FILE_SUFFIXES = (".yaml", ".json", ".py", ".tsv", ".md")
CONTENT = default_content()
# One part of a key built in code ("steps.{step.id}.ask"): no dot, so a pattern matches one part only.
KEY_PART = r"[a-z0-9_]+"


def code_references(sources: dict[str, str], sections: set[str]) -> tuple[dict[str, str], list[str]]:
    """The prompt keys named in ``sources`` (path -> Python text): the literal keys, each with where it is,
    and the patterns of keys built with f-strings (``timers.name_{pack}`` -> ``timers\\.name_[a-z0-9_]+``).
    A string counts when its first part is one of the prompts file's ``sections``."""
    literals: dict[str, str] = {}
    patterns: list[str] = []
    shaped = re.compile(rf"^({'|'.join(map(re.escape, sorted(sections)))})(\.{KEY_PART})+$")
    for path, text in sources.items():
        tree = ast.parse(text, path)
        in_fstrings = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
                if shaped.match(node.value) and not node.value.endswith(FILE_SUFFIXES):
                    literals.setdefault(node.value, f"{path}:{node.lineno}")
            elif isinstance(node, ast.JoinedStr):
                pattern = "".join(re.escape(part.value) if isinstance(part, ast.Constant) else KEY_PART
                                  for part in node.values)
                # Only a key whose section is written out: "{base}.rest" could be any key, and would hide every
                # unused one (such keys come from the content: required_prompt_keys).
                if re.match(rf"^({'|'.join(map(re.escape, sorted(sections)))})\\\.", pattern):
                    patterns.append(pattern)
    return literals, patterns


def check_prompt_keys(prompts: dict[str, Prompts], content_keys: set[str], sources: dict[str, str]) -> list[str]:
    """The problems: keys the code names that a prompts file lacks, and keys nothing uses."""
    sections = {key.split(".")[0] for prompt in prompts.values() for key in prompt.keys()}
    literals, patterns = code_references(sources, sections)
    problems = [f"{where}: {key!r} has no text in prompts/{name}.yaml"
                for key, where in sorted(literals.items()) for name, prompt in prompts.items()
                if prompt.get(key) is None and not prompt.keys(key + ".")]  # (a section named whole: a prefix)
    used = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)")
    for name, prompt in prompts.items():
        unused = [key for key in prompt.keys()
                  if key not in content_keys and key not in literals and not used.fullmatch(key)]
        problems += [f"prompts/{name}.yaml: {key!r} is used by nothing in the content or the code" for key in unused]
    return problems


def code_sources() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text() for path in sorted(CODE_DIR.rglob("*.py"))}


def content_keys() -> set[str]:
    from skill.engine.content import question_prompt_keys, red_flag_prompt_keys

    return (set(required_prompt_keys(CONTENT.protocol))
            | set(red_flag_prompt_keys(CONTENT.red_flags, CONTENT.names))
            | set(question_prompt_keys(CONTENT.understanding)))


def test_every_key_the_code_names_has_words_and_every_prompt_is_used():
    problems = check_prompt_keys(CONTENT.prompts, content_keys(), code_sources())
    assert not problems, "\n".join(problems)


def test_the_scan_finds_the_keys_code_names_and_reports_missing_and_unused_ones():
    # The check above can fail: a key named in code with no words, and words nobody uses, are reported.
    prompts = {"xx": Prompts("xx", {"events": {"stop": "Bye.", "kept": "Kept.", "orphan": "Nobody says me."},
                                    "timers": {"name_cold": "cold pack"}, "steps": {"rest": {"ask": "Ready?"}}})}
    source = ('say("events.stop")\nsay("events.gone")\nname = f"timers.name_{pack}"\n'
              'note = "events.kept is not a key"\nKEPT = {"k": "events.kept"}\n')
    problems = check_prompt_keys(prompts, {"steps.rest.ask"}, {"code.py": source})
    assert problems == ["code.py:2: 'events.gone' has no text in prompts/xx.yaml",
                        "prompts/xx.yaml: 'events.orphan' is used by nothing in the content or the code"], problems
