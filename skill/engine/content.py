"""Loads the care protocol, the prompts and the locale table, and checks them once at start-up.

The protocol's graph is checked by ``protocol.py`` (one start, every target exists, every step reachable
and able to reach an end); here, that every step has the words it needs in every prompts file, and that
the red flags the screening steps name exist. A content mistake stops the skill from starting instead of
surprising a user. What the engine's code gives a meaning to comes in as ``EngineNames``: this module
imports no engine code above the data it reads.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

from skill.engine.data_files import read_yaml
from skill.engine.protocol import ContentError, EngineNames, Protocol, packs, parse_protocol
from skill.engine.record import Known
from skill.engine.triage import RedFlags, load_red_flags
from skill.engine.understanding import Understanding, load_understanding

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

PLACEHOLDERS = {"emergency_number", "urgent_action", "title", "due", "pack", "minutes", "every_hours", "n",
                "heat_minutes", "heat_every_hours", "cold_ends", "when", "time", "times", "first", "second", "others",
                "sign"}
# Seed typos that must never reach a user (clinical.md).
FORBIDDEN_WORDS = ("trratment", "water bowel", "the flower")


@dataclass(frozen=True)
class LocaleInfo:
    name: str
    prompts: str
    spoken: dict
    written: dict
    clock_hours: int  # 12 ("3:40 PM") or 24 ("15:40")


class Prompts:
    """The words for one language, addressed by dotted keys."""

    def __init__(self, name: str, tree: dict):
        self.name = name
        self._tree = tree

    def get(self, key: str) -> str | None:
        node = self._tree
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, str) else None

    def text(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(f"prompts/{self.name}.yaml has no text for {key!r}")
        return value

    def keys(self, prefix: str = "") -> list[str]:
        out = []

        def walk(node, path):
            for k, v in node.items():
                full = f"{path}.{k}" if path else str(k)
                if isinstance(v, dict):
                    walk(v, full)
                else:
                    out.append(full)

        walk(self._tree, "")
        return [k for k in out if k.startswith(prefix)]


def required_prompt_keys(protocol: Protocol) -> list[str]:
    """The keys the protocol implies: each step's words, its title, its compress plan, and each pack's. (The
    keys the code names itself are checked by tests/test_prompt_keys.py, which reads the code, and every
    prompts file must have the default locale's keys: ``check_same_keys``.)"""
    keys = []
    for step in protocol.steps.values():
        base = f"steps.{step.id}"
        if step.is_question:
            keys += [f"{base}.ask", f"{base}.reprompt", f"titles.{step.id}"]
            if step.kind == "info":
                keys.append(f"{base}.say")
        elif step.kind == "info" or step.kind == "end":
            keys.append(f"{base}.say")
        if "paced_breathing" in step.include:
            keys.append(f"{base}.outro")
        keys += [f"compress_plan.{name}" for name in (step.plan, step.plan_next) if name]
    summary = f"steps.{protocol.roles.get('summary')}"
    keys += [f"{summary}.{part}" for part in ("card_title", "rest", "warning", "close")]
    keys += [f"packs.{pack}" for pack in packs(protocol)]
    keys.append(f"titles.{protocol.roles.get('urgent')}")  # ("paused at {title}" names any step)
    keys += [f"reminders.text_{pack}" for pack in packs(protocol)]
    keys += [f"timers.{kind}_{pack}" for pack in packs(protocol) for kind in ("name", "label", "announce")]
    return keys


# Where each tier's advice lives in a prompts file.
REASON_KEYS = {1: "emergency.reasons", 2: "urgent.reasons", 3: "routine"}


def red_flag_prompt_keys(red_flags: RedFlags, names: EngineNames) -> list[str]:
    """Every flag's reason; the plain name of every tier-1 and tier-2 sign, for the questions that confirm it
    (``signs.<flag>``); and the clarifying question of every flag with ambiguous phrases."""
    keys = [f"{REASON_KEYS[red_flags.tier_of(flag)]}.{flag}" for flag in red_flags.ids()]
    keys += [f"signs.{flag}" for flag in red_flags.ids() if red_flags.tier_of(flag) in (1, 2)]
    for flag in red_flags.ambiguous_ids():
        keys += names.clarify_prompts(flag)
    return keys


def check_screening_flags(protocol: Protocol, red_flags: RedFlags) -> list[str]:
    problems = []
    for step in protocol.steps.values():
        if step.kind != "screening":
            continue
        if step.flag not in red_flags.ids():
            problems.append(f"step {step.id}: flag {step.flag!r} is not in red_flags.yaml")
        elif red_flags.tier_of(step.flag) != step.tier:
            problems.append(f"step {step.id}: tier {step.tier} but flag {step.flag} is tier "
                            f"{red_flags.tier_of(step.flag)}")
    return problems


def question_prompt_keys(understanding: Understanding) -> list[str]:
    """The fixed answer of every question in questions.yaml (computed ones have none)."""
    return [f"questions.{q.id}" for q in understanding.questions if q.answer is None]


def check_prompts(protocol: Protocol, prompts: Prompts, names: EngineNames, red_flags: RedFlags | None = None,
                  understanding: Understanding | None = None) -> list[str]:
    problems = []
    extra = red_flag_prompt_keys(red_flags, names) if red_flags is not None else []
    extra += question_prompt_keys(understanding) if understanding is not None else []
    for key in required_prompt_keys(protocol) + extra:
        if prompts.get(key) is None:
            problems.append(f"missing text for {key}")
    formatter = string.Formatter()
    for key in prompts.keys():
        text = prompts.get(key)
        lowered = text.lower()
        for word in FORBIDDEN_WORDS:
            if word in lowered:
                problems.append(f"{key}: contains the seed typo {word!r}")
        for _, name, _, _ in formatter.parse(text):
            if name is not None and name not in PLACEHOLDERS:
                problems.append(f"{key}: unknown placeholder {{{name}}}")
        if re.search(r"[<>&]", text):
            problems.append(f"{key}: plain text only (no SSML or markup)")
    return problems


def check_same_keys(prompts: dict, default: str) -> list[str]:
    """Every prompts file has the words the default locale's file has (which tests/test_prompt_keys.py
    keeps to the keys the content and the code use): a key the code names is never missing in one locale."""
    if default not in prompts:
        return []
    wanted = set(prompts[default].keys())
    return [f"prompts/{name}.yaml: missing text for {key} (prompts/{default}.yaml has it)"
            for name, other in prompts.items() for key in sorted(wanted - set(other.keys()))]


@dataclass(frozen=True)
class Content:
    protocol: Protocol
    prompts: dict  # name -> Prompts
    locales: dict  # locale -> LocaleInfo
    default_locale: str
    red_flags: RedFlags
    understanding: Understanding
    names: EngineNames  # what the engine's code gives a meaning to, the content checked against it
    unlisted: LocaleInfo  # for a locale not in ``locales``: no country's emergency number

    def locale(self, name: str | None) -> LocaleInfo:
        if not name:
            return self.locales[self.default_locale]
        return self.locales.get(name) or self.unlisted

    def prompts_for(self, locale: str | None) -> Prompts:
        return self.prompts[self.locale(locale).prompts]

    @functools.cached_property
    def known(self) -> Known:
        """The names a stored record may hold."""
        return Known(steps=frozenset(self.protocol.steps), flags=frozenset(self.red_flags.ids()),
                     side_questions=self.names.side_questions,
                     plans=frozenset(step.plan for step in self.protocol.steps.values() if step.plan))


# locales.yaml's entry for a request in a locale it does not list.
UNLISTED = "unlisted"


def _read_yaml(path: Path) -> dict:
    return read_yaml(path) or {}


def read_content(directory: Path, names: EngineNames) -> Content:
    """The content files in ``directory``, checked against the engine's ``names`` (``skill.engine.load_content``
    hands it the shipped engine's)."""
    protocol = parse_protocol(_read_yaml(directory / "protocol.yaml"), names)
    red_flags = load_red_flags(directory / "red_flags.yaml")
    understanding = load_understanding(directory)
    raw_locales = _read_yaml(directory / "locales.yaml")
    locales, prompts, problems = {}, {}, check_screening_flags(protocol, red_flags)
    specs = {**(raw_locales.get("locales") or {}), UNLISTED: raw_locales.get(UNLISTED)}
    for name, spec in specs.items():
        if not isinstance(spec, dict):
            problems.append(f"locales.yaml {name}: missing")
            continue
        info = LocaleInfo(name=name, prompts=spec.get("prompts"), spoken=dict(spec.get("spoken") or {}),
                          written=dict(spec.get("written") or {}), clock_hours=spec.get("clock_hours"))
        if info.clock_hours not in (12, 24):
            problems.append(f"locales.yaml {name}: clock_hours must be 12 or 24, not {info.clock_hours!r}")
        for table in ("spoken", "written"):
            missing = {"emergency_number", "urgent_action"} - set(getattr(info, table))
            if missing:
                problems.append(f"locales.yaml {name}.{table}: missing {sorted(missing)}")
        locales[name] = info
        if info.prompts not in prompts:
            path = directory / "prompts" / f"{info.prompts}.yaml"
            if not path.exists():
                problems.append(f"locales.yaml {name}: no prompts file {path.name}")
                continue
            prompts[info.prompts] = Prompts(info.prompts, _read_yaml(path))
            problems += [f"prompts/{info.prompts}.yaml: {p}"
                         for p in check_prompts(protocol, prompts[info.prompts], names, red_flags, understanding)]
    unlisted = locales.pop(UNLISTED, None)
    default = raw_locales.get("default")
    if default not in locales:
        problems.append(f"locales.yaml: default locale {default!r} is not listed")
    else:
        problems += check_same_keys(prompts, locales[default].prompts)
    if problems:
        raise ContentError("\n  ".join(["content:"] + problems))
    return Content(protocol=protocol, prompts=prompts, locales=locales, default_locale=default,
                   red_flags=red_flags, understanding=understanding, names=names, unlisted=unlisted)

