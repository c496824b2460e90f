"""Loads the care protocol, the prompts and the locale table, and checks them once at start-up.

The checks follow what state-machine libraries do at load time: one start, every target exists,
every step is reachable and can reach an end, and every step has the words it needs in every
prompts file. A content mistake stops the skill from starting instead of surprising a user.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from skill.engine.data_files import read_yaml
from skill.engine.record import Known
from skill.engine.rules import CONDITIONS, INCLUDES, RECORDS
from skill.engine.side_questions import SIDE_QUESTIONS
from skill.engine.triage import RedFlags, load_red_flags
from skill.engine.understanding import Understanding, load_understanding

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

STEP_KINDS = {"info", "screening", "router", "outcome", "end"}
ANSWERS = {"yes", "no", "unsure", "better", "worse"}
# The steps the engine names itself, by role, and the kind of step each role needs. Declared in
# protocol.yaml (`role:`), checked here, so a renamed step cannot surprise anyone at run time.
ROLES = {
    "screening_start": "pass-through",  # opens the safety questions
    "comfort_start": "info",  # where self-care starts once help is arranged
    "compress": "router",  # picks cold or heat for today
    "pack_on": "router",  # the pack is on: the timer and reminders for it, if they may be offered
    "breathing": "info",  # the guided breathing ("start a breathing session" goes there)
    "emergency": "outcome",
    "urgent": "outcome",
    "summary": "end",  # sums up the plan, with a card
    "goodbye": "end",  # a kind farewell when the person declines to go on
}
# Targets that are not steps: stay here and take your time; the step asked for before screening.
SPECIAL_TARGETS = {"wait", "requested_step", "return_step"}
PLACEHOLDERS = {"emergency_number", "urgent_action", "title", "due", "pack", "minutes", "every_hours", "n",
                "heat_minutes", "heat_every_hours", "when", "time", "times", "first", "second", "others"}
# Seed typos that must never reach a user (clinical.md).
FORBIDDEN_WORDS = ("trratment", "water bowel", "the flower")


class ContentError(ValueError):
    """The content files are inconsistent; the message lists every problem found."""


@dataclass(frozen=True)
class Transition:
    go: str
    record: str | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str = "info"
    next: str | None = None
    then: str | None = None
    on: dict = field(default_factory=dict)
    tier: int | None = None
    flag: str | None = None
    pack: str | None = None
    include: tuple = ()
    route: tuple = ()
    role: str | None = None
    record: str | None = None  # a fact recorded when the guide passes through (a `then` step)
    plan: str | None = None  # the compress plan this step stands for
    plan_next: str | None = None  # what follows it ("from tomorrow, moist heat")

    @property
    def is_question(self) -> bool:
        """A step the person stays on, answering its question."""
        return self.kind in ("info", "screening") and not self.then


@dataclass(frozen=True)
class Protocol:
    start: str
    settings: dict
    steps: dict
    jump_targets: dict
    roles: dict  # role -> step id

    def role(self, name: str) -> Step:
        return self.steps[self.roles[name]]


@dataclass(frozen=True)
class LocaleInfo:
    name: str
    prompts: str
    spoken: dict
    written: dict
    clock_hours: int  # 12 ("3:40 PM") or 24 ("15:40")


def _transition(value) -> Transition:
    if isinstance(value, str):
        return Transition(go=value)
    return Transition(go=value["go"], record=value.get("record"))


def parse_protocol(raw: dict) -> Protocol:
    steps = {}
    for step_id, spec in (raw.get("steps") or {}).items():
        spec = spec or {}
        steps[step_id] = Step(
            id=step_id,
            kind=spec.get("kind", "info"),
            next=spec.get("next"),
            then=spec.get("then"),
            on={str(k).lower(): _transition(v) for k, v in (spec.get("answers") or {}).items()},
            tier=spec.get("tier"),
            flag=spec.get("flag"),
            pack=spec.get("pack"),
            include=tuple(spec.get("include") or ()),
            route=tuple((rule["when"], rule["go"]) for rule in spec.get("route") or ()),
            role=spec.get("role"),
            record=spec.get("record"),
            plan=spec.get("plan"),
            plan_next=spec.get("plan_next"),
        )
    protocol = Protocol(
        start=raw.get("start"),
        settings=raw.get("settings") or {},
        steps=steps,
        jump_targets=dict(raw.get("jump_targets") or {}),
        roles={step.role: step.id for step in steps.values() if step.role},
    )
    problems = check_protocol(protocol)
    if problems:
        raise ContentError("protocol.yaml:\n  " + "\n  ".join(problems))
    return protocol


def _targets(step: Step) -> list[str]:
    targets = [t.go for t in step.on.values()]
    targets += [go for _, go in step.route]
    targets += [t for t in (step.next, step.then) if t]
    return targets


def _role_kind(step: Step) -> str:
    return "pass-through" if step.then else step.kind


def check_roles(p: Protocol) -> list[str]:
    """Every role declared once, on a step of the kind the engine needs, and no unknown role."""
    problems = []
    declared: dict[str, list[str]] = {}
    for step in p.steps.values():
        if step.role is None:
            continue
        if step.role not in ROLES:
            problems.append(f"step {step.id}: unknown role {step.role!r} (roles: {', '.join(ROLES)})")
            continue
        declared.setdefault(step.role, []).append(step.id)
        if _role_kind(step) != ROLES[step.role]:
            problems.append(f"step {step.id}: role {step.role} needs a {ROLES[step.role]} step, not "
                            f"{_role_kind(step)}")
    for role in ROLES:
        holders = declared.get(role, [])
        if not holders:
            problems.append(f"role {role!r} is declared on no step (the engine needs a {ROLES[role]} step for it)")
        elif len(holders) > 1:
            problems.append(f"role {role!r} is declared on several steps: {', '.join(holders)}")
    for target in (go for _, go in p.steps[declared["compress"][0]].route) if "compress" in declared else ():
        picked = p.steps.get(target)
        if picked is not None and not (picked.pack and picked.plan and picked.is_question):
            problems.append(f"step {target}: the compress router picks it, so it needs a pack and a plan "
                            f"(its line in compress_plan)")
    if "breathing" in declared:
        step = p.steps[declared["breathing"][0]]
        if "paced_breathing" not in step.include or not step.next:
            problems.append(f"step {step.id}: the breathing role needs include paced_breathing and a next step "
                            f"(where the guide goes on once the track has finished)")
        if step.id not in p.jump_targets.values():
            problems.append(f"step {step.id}: the breathing role needs a jump target (\"start a breathing session\")")
    if "emergency" in declared and p.steps[declared["emergency"][0]].tier != 1:
        problems.append(f"step {declared['emergency'][0]}: the emergency role needs tier 1")
    if "urgent" in declared and p.steps[declared["urgent"][0]].tier != 2:
        problems.append(f"step {declared['urgent'][0]}: the urgent role needs tier 2")
    return problems


def check_protocol(p: Protocol) -> list[str]:
    problems = []
    if p.start not in p.steps:
        problems.append(f"start step {p.start!r} does not exist")
    for step in p.steps.values():
        where = f"step {step.id}"
        if step.kind not in STEP_KINDS:
            problems.append(f"{where}: unknown kind {step.kind!r}")
        for target in _targets(step):
            if target not in p.steps and target not in SPECIAL_TARGETS:
                problems.append(f"{where}: target {target!r} does not exist")
        for answer, transition in step.on.items():
            if answer not in ANSWERS:
                problems.append(f"{where}: unknown answer {answer!r} (YAML reads bare yes/no as booleans: quote them)")
            if transition.record and transition.record not in RECORDS:
                problems.append(f"{where}: unknown record {transition.record!r}")
        for condition, _ in step.route:
            if condition not in CONDITIONS:
                problems.append(f"{where}: unknown condition {condition!r}")
        if step.kind == "router" and (not step.route or step.route[-1][0] != "always"):
            problems.append(f"{where}: a router must end with an 'always' rule")
        if step.kind == "info" and not step.then and not ("yes" in step.on and "no" in step.on and step.next):
            problems.append(f"{where}: a question step needs next and answers for yes and no")
        if step.kind == "screening":
            if step.tier not in (1, 2) or not {"yes", "no", "unsure"} <= set(step.on):
                problems.append(f"{where}: a screening step needs a tier (1 or 2) and yes, no and unsure answers")
            elif step.tier == 1 and step.on["unsure"].go != step.on["yes"].go:
                problems.append(f"{where}: 'not sure' must count as yes for a tier-1 question")
        if step.pack and step.pack not in (*packs(p), "in_use"):
            problems.append(f"{where}: pack {step.pack!r} has no compress settings")
        for name in step.include:
            if name not in INCLUDES:
                problems.append(f"{where}: unknown include {name!r}")
        if step.record and (not step.then or step.record not in RECORDS):
            problems.append(f"{where}: record {step.record!r} needs a known fact on a `then` step")
    problems += check_roles(p)
    for name, target in p.jump_targets.items():
        if target not in p.steps:
            problems.append(f"jump target {name!r}: step {target!r} does not exist")
    if problems:
        return problems

    # Every step reachable from the start or a named jump target.
    seen, todo = set(), [p.start, *p.jump_targets.values()]
    while todo:
        step_id = todo.pop()
        if step_id in seen or step_id in SPECIAL_TARGETS:
            continue
        seen.add(step_id)
        todo.extend(_targets(p.steps[step_id]))
    problems += [f"step {s}: unreachable from the start and the jump targets" for s in p.steps if s not in seen]

    # Every step can reach an end or a triage outcome.
    ends = {s.id for s in p.steps.values() if s.kind in ("end", "outcome")}
    changed = True
    while changed:
        changed = False
        for step in p.steps.values():
            if step.id not in ends and any(t in ends for t in _targets(step)):
                ends.add(step.id)
                changed = True
    problems += [f"step {s}: can never reach an end" for s in p.steps if s not in ends]
    return problems


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


def packs(protocol: Protocol) -> list[str]:
    """The compress kinds (cold, heat): entries of settings.compress that carry timings."""
    return [name for name, spec in protocol.settings.get("compress", {}).items() if isinstance(spec, dict)]


def required_prompt_keys(protocol: Protocol) -> list[str]:
    """Every key the engine can ask a prompts file for."""
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
    keys += ["next_compress.due_later", "next_compress.due_now", "durations.minutes", "durations.one_hour",
             "durations.hours", "breathing.first_in", "breathing.first_out", "breathing.in", "breathing.out",
             "breathing.audio_title", "breathing.audio_start", "breathing.audio_nearest", "breathing.audio_resume", "breathing.audio_done", "breathing.audio_failed",
             "breathing.audio_help", "breathing.audio_unsupported", "breathing.spoken_instead",
             "emergency.say", "emergency.card_title", "emergency.reminder", "emergency.ask_got_help",
             "emergency.ask_got_help_reprompt", "emergency.got_help", "urgent.say", "urgent.ask",
             "urgent.reprompt", "urgent.card_title", "urgent.screening_first", f"titles.{protocol.roles.get('urgent')}",
             "help.screening", "help.question", "help.offer", "compress_plan.changed", "urgent.reminder",
             "emergency.since", "events.report_signs", "timers.set", "timers.failed", "timers.asking_permission",
             "timers.declined", "timers.take_off", "timers.left", "timers.left_one", "timers.cancelled",
             "timers.none_running", "timers.when_pack_on", "clock.at", "clock.in_minutes", "clock.in_a_minute",
             "clock.am", "clock.pm", "lists.two", "lists.more", "next_compress.due_at"]
    keys += [f"reminders.{name}" for name in ("times", "set", "failed", "asking_permission", "declined", "cancelled",
                                              "none_set", "when_pack_on", "none_today")]
    keys += [f"reminders.text_{pack}" for pack in packs(protocol)]
    keys += [f"timers.{kind}_{pack}" for pack in packs(protocol) for kind in ("name", "label", "announce")]
    keys += [f"events.{name}" for name in (
        "welcome_back", "resume_ask", "resume_reprompt", "done_ask", "done_reprompt", "restart", "two_weeks",
        "wait", "wait_ask", "wait_reprompt", "paused", "stop", "back_at_start", "fallback", "unknown_step",
        "screening_finish_first", "screening_needs_answer", "pain_better", "pain_worse", "symptom_unmatched",
        "heat_worse", "delete_ask", "delete_reprompt", "deleted", "delete_kept", "save_failed", "load_failed",
        "delete_failed", "error", "error_ask", "remark", "pain_remark", "pain_same", "question_other", "question_off_topic", "moment",
        "unsupported")]
    for name, question in SIDE_QUESTIONS.items():
        if name != "clarify_red_flag":  # its words are per red flag: red_flag_prompt_keys
            keys += list(question.keys(None))
    return keys


# Where each tier's advice lives in a prompts file.
REASON_KEYS = {1: "emergency.reasons", 2: "urgent.reasons", 3: "routine"}


def red_flag_prompt_keys(red_flags: RedFlags) -> list[str]:
    """Every flag's reason, and the clarifying question of every flag with ambiguous phrases."""
    keys = [f"{REASON_KEYS[red_flags.tier_of(flag)]}.{flag}" for flag in red_flags.ids()]
    for flag in red_flags.ambiguous_ids():
        question, reprompt = SIDE_QUESTIONS["clarify_red_flag"].keys(flag)
        keys += [question, reprompt, f"clarify.{flag}.pain_only", f"clarify.{flag}.help"]
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


def check_prompts(protocol: Protocol, prompts: Prompts, red_flags: RedFlags | None = None,
                  understanding: Understanding | None = None) -> list[str]:
    problems = []
    extra = red_flag_prompt_keys(red_flags) if red_flags is not None else []
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


@dataclass(frozen=True)
class Content:
    protocol: Protocol
    prompts: dict  # name -> Prompts
    locales: dict  # locale -> LocaleInfo
    default_locale: str
    red_flags: RedFlags
    understanding: Understanding

    def locale(self, name: str | None) -> LocaleInfo:
        return self.locales.get(name or "") or self.locales[self.default_locale]

    def prompts_for(self, locale: str | None) -> Prompts:
        return self.prompts[self.locale(locale).prompts]

    @functools.cached_property
    def known(self) -> Known:
        """The names a stored record may hold."""
        return Known(steps=frozenset(self.protocol.steps), flags=frozenset(self.red_flags.ids()),
                     side_questions=frozenset(SIDE_QUESTIONS),
                     plans=frozenset(step.plan for step in self.protocol.steps.values() if step.plan))


def _read_yaml(path: Path) -> dict:
    return read_yaml(path) or {}


def load_content(directory: Path = CONTENT_DIR) -> Content:
    protocol = parse_protocol(_read_yaml(directory / "protocol.yaml"))
    red_flags = load_red_flags(directory / "red_flags.yaml")
    understanding = load_understanding(directory)
    raw_locales = _read_yaml(directory / "locales.yaml")
    locales, prompts, problems = {}, {}, check_screening_flags(protocol, red_flags)
    for name, spec in (raw_locales.get("locales") or {}).items():
        info = LocaleInfo(name=name, prompts=spec["prompts"], spoken=dict(spec["spoken"]),
                          written=dict(spec["written"]), clock_hours=spec.get("clock_hours"))
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
                         for p in check_prompts(protocol, prompts[info.prompts], red_flags, understanding)]
    default = raw_locales.get("default")
    if default not in locales:
        problems.append(f"locales.yaml: default locale {default!r} is not listed")
    if problems:
        raise ContentError("\n  ".join(["content:"] + problems))
    return Content(protocol=protocol, prompts=prompts, locales=locales, default_locale=default,
                   red_flags=red_flags, understanding=understanding)


@functools.cache
def default_content() -> Content:
    """The shipped content, loaded and checked once per process."""
    return load_content()
