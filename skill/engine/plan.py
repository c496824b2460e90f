"""What the engine hands to a renderer: events in, plans out. No wording, no SSML, no Alexa.

A plan names prompt keys (``steps.rest.say``) with parameters; the renderer looks the words up
for the request's locale. The Alexa renderer, the simulator and the audio build share the keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Everything a person can do, whatever the platform. Handlers translate intents into these.
EVENT_KINDS = frozenset(
    {
        "launch",  # "open back spasm coach"
        "start",  # "my back is spasming" (one-shot or in session)
        "yes",
        "no",
        "unsure",  # "not sure" — counts as yes for tier-1 screening questions
        "better",  # "the pain has eased"
        "worse",  # "it hurts more"
        "heat_worse",  # "heat makes it worse"
        "next",
        "back",
        "repeat",
        "start_over",
        "jump",  # with a target: a name from protocol.yaml's jump_targets
        "pause",
        "resume",
        "help",
        "stop",
        "cancel",
        "fallback",
        "delete_data",
        # The person described something ("I can't feel my legs"): ``text`` is what they said,
        # ``carrier`` the meaning of the carrier phrase the platform cut off it, ``flag`` a
        # red_flags.yaml id the platform already resolved. The engine decides whether it is a red flag.
        "describe",
        "session_ended",
    }
)


@dataclass(frozen=True)
class Event:
    kind: str
    target: str | None = None  # jump: the name of a place ("breathing")
    text: str = ""  # describe: what the person said
    carrier: str = ""  # describe: the meaning of the words the platform cut off ("i cannot", "my legs")
    flag: str | None = None  # describe: a red flag the platform resolved by name
    # The request opened a session (a launch, a one-shot, or an utterance Alexa could not resolve):
    # whatever it says, the engine first runs the same coming-back logic as a launch.
    opens_session: bool = False

    def __post_init__(self):
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")


@dataclass(frozen=True)
class Line:
    """One piece of speech: a prompt key and the values for its placeholders."""

    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Breathing:
    """A paced breathing session: the renderer turns it into speech with timed pauses."""

    breaths: int
    inhale_seconds: int
    exhale_seconds: int


@dataclass
class Card:
    title: Line
    lines: list[Line]


@dataclass
class Plan:
    lines: list[Line | Breathing] = field(default_factory=list)
    question: Line | None = None
    reprompt: Line | None = None
    end_session: bool = True
    card: Card | None = None
    # The person confirmed "delete my data": the caller must erase their stored state.
    forget_user: bool = False
    # A triage outcome reached this turn: "emergency" (tier 1) or "urgent" (tier 2).
    triage: str | None = None
    # What free words were read as (understanding's kinds: answer, question, remark...), for the log.
    heard: str | None = None

    @property
    def silent(self) -> bool:
        return not self.lines and self.question is None


@dataclass
class Turn:
    state: dict
    plan: Plan
