"""The care protocol's types and the checks on its graph: a leaf module, importing nothing of the engine.

``parse_protocol`` reads protocol.yaml's steps and checks them the way state-machine libraries check a
machine at load time: one start, every target exists, every step reachable and able to reach an end,
every role the engine relies on declared once on a step of the right kind. The names the protocol may
use (router conditions, facts a step records, lines a step includes) belong to the engine's code
(``rules.py``); the loader is handed them (``EngineNames``) rather than importing that code, so the
content can be checked without the engine and the engine's modules depend only downward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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
class EngineNames:
    """What the engine's code gives a meaning to, for the content check: the router conditions, recorded
    facts and included lines protocol.yaml may name (``rules.py``'s tables), and the side questions a
    stored record may be on (``side_questions.py``)."""

    conditions: frozenset
    records: frozenset
    includes: frozenset
    side_questions: frozenset
    # The prompt keys of the clarifying question asked about one red flag ("do your legs feel weak or numb?").
    clarify_prompts: Callable[[str], tuple] = field(default=lambda flag: ())

def _transition(value) -> Transition:
    if isinstance(value, str):
        return Transition(go=value)
    return Transition(go=value["go"], record=value.get("record"))


def parse_protocol(raw: dict, names: EngineNames) -> Protocol:
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
    problems = check_protocol(protocol, names)
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


def check_protocol(p: Protocol, names: EngineNames) -> list[str]:
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
            if transition.record and transition.record not in names.records:
                problems.append(f"{where}: unknown record {transition.record!r}")
        for condition, _ in step.route:
            if condition not in names.conditions:
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
            if name not in names.includes:
                problems.append(f"{where}: unknown include {name!r}")
        if step.record and (not step.then or step.record not in names.records):
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



def packs(protocol: Protocol) -> list[str]:
    """The compress kinds (cold, heat): entries of settings.compress that carry timings."""
    return [name for name, spec in protocol.settings.get("compress", {}).items() if isinstance(spec, dict)]

