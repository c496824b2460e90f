"""What Alexa hears: invocation phrases, intent resolution against the interaction model, slots.

Pure Python (stdlib and ``skill.interaction_model`` only) and deterministic: the same text and model
always give the same answer.

**Invocation** (``parse_invocation``). A person reaches a skill with Amazon's documented launch phrases
("open / start / launch / begin / load / play / resume / run / use / talk to <invocation name>", and
"ask / tell <invocation name>" with nothing after) or with a one-shot ("ask <name> to / that / about /
for / if / whether ...", "tell <name> to / that ...", "ask|tell <name> ..." with no connecting word,
"<launch phrase> <name> and ..."). A leading wake word ("alexa", "alexa,") is optional; case and
punctuation do not matter. The connecting word is dropped from the remainder.

**Intent resolution** (``Resolver.resolve``). The utterance is normalised (``normalise``: lowercase,
punctuation other than apostrophes becomes a space, spaces collapsed, nothing expanded) and matched
against every sample of every intent, each compiled once into a pattern:

- a literal word must equal the utterance's token at that place;
- a custom slot (``{step}`` of type STEP_NAME) takes the longest token span that equals a value or a
  synonym of its type (normalised the same way), backing off to shorter ones if the rest of the
  pattern then fails;
- an ``AMAZON.SearchQuery`` slot takes one or more tokens, greedily (to the end of the utterance,
  unless literal words follow it, in which case it backs off until they match);
- any other ``AMAZON.*`` slot type takes exactly one token; ``AMAZON.NUMBER`` only a number, in digits
  or words up to sixty, and its value is sent in digits as Alexa does ("five" -> "5").

Built-in intents also answer Amazon's own phrasings (``BUILTIN_PHRASES``), as on a real device; a
built-in phrase is used only when the model does not already give that exact phrase to another intent.

**Scoring** (``Score.key``, smaller is better; the first difference decides):

1. a strict match (every custom slot resolved to a value) beats a lenient one (see below);
2. an exact match (a sample without slots, or a built-in phrase) beats a match with slots;
3. more literal words matched;
4. fewer SearchQuery (free-text) slots, i.e. a custom slot beats SearchQuery;
5. fewer tokens captured by SearchQuery slots;
6. the intent's order in the model (built-in intents missing from the model are never used);
7. the sample's order within the intent (built-in phrases come after the model's samples).

**Lenient custom slots.** Alexa sometimes fills a custom slot with words that are not one of its
values. The resolver does that only when no sample of any intent matches strictly: then a custom slot
takes any one or more tokens, as SearchQuery does, and its entity resolution says
``ER_SUCCESS_NO_MATCH``. Only samples with at least one literal word (a carrier phrase) may match this
way, so a bare ``{symptom}`` sample does not swallow every sentence. When nothing matches at all, the
result is ``AMAZON.FallbackIntent``.

**Slots** come out in Alexa's request JSON shape: every slot the intent declares is present; an
unfilled one is ``{"name", "confirmationStatus"}`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterator, NamedTuple

from skill.interaction_model import load_model

# The same placeholder skill id as the simulator's envelopes, so authorities read consistently.
DEFAULT_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-00000000b5c0"
FALLBACK_INTENT = "AMAZON.FallbackIntent"
SEARCH_QUERY = "AMAZON.SearchQuery"

# ---------------------------------------------------------------------------------------- invocation
WAKE_WORDS = ("alexa",)
# Amazon's documented launch phrases ("Understand How Users Invoke Custom Skills").
LAUNCH_PHRASES = ("open", "start", "launch", "begin", "load", "play", "resume", "run", "use", "talk to")
# "ask <name>" / "tell <name>": a launch with nothing after, a one-shot with something after.
ONE_SHOT_PHRASES = ("ask", "tell")
# Connecting words between the invocation name and the request; dropped from the remainder.
CONNECTING_WORDS = ("to", "that", "about", "for", "if", "whether")
# After a launch phrase: "open <name> and <request>" is a one-shot.
LAUNCH_AND = "and"
# Courtesy words that may end a launch phrase ("open <name> please").
LAUNCH_COURTESY = ("please",)

# ------------------------------------------------------------------------------ built-in phrasings
# Amazon's common phrasings for its built-in intents. Alexa understands these without samples; the
# model's own samples for a built-in intent extend them. Used only for built-in intents the model
# declares, and never for a phrase the model gives to another intent.
BUILTIN_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.YesIntent": ("yes", "yeah", "yep", "sure", "ok", "okay", "please do"),
    "AMAZON.NoIntent": ("no", "nope", "no thanks", "not now"),
    "AMAZON.HelpIntent": ("help", "help me", "what can i say"),
    "AMAZON.StopIntent": ("stop", "quit", "exit", "shut up", "be quiet", "off"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "forget it"),
    "AMAZON.NextIntent": ("next", "skip", "skip this"),
    "AMAZON.PreviousIntent": ("previous", "back", "go back"),
    "AMAZON.RepeatIntent": ("repeat", "say that again", "repeat that", "what"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again"),
    "AMAZON.PauseIntent": ("pause",),
    "AMAZON.ResumeIntent": ("resume", "continue", "carry on"),
    "AMAZON.NavigateHomeIntent": ("go home",),
    "AMAZON.LoopOnIntent": ("loop", "loop on", "turn on loop"),
    "AMAZON.LoopOffIntent": ("loop off", "stop looping", "turn off loop"),
    "AMAZON.ShuffleOnIntent": ("shuffle", "shuffle on", "turn on shuffle"),
    "AMAZON.ShuffleOffIntent": ("shuffle off", "stop shuffling", "turn off shuffle"),
}
# While a skill's audio is on the device (playing, or the last audio played), these reach that skill
# without its name: "Alexa, pause", "Alexa, resume", "Alexa, next".
PLAYBACK_INTENTS = frozenset({
    "AMAZON.PauseIntent", "AMAZON.ResumeIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NextIntent",
    "AMAZON.PreviousIntent", "AMAZON.RepeatIntent", "AMAZON.StartOverIntent", "AMAZON.LoopOnIntent",
    "AMAZON.LoopOffIntent", "AMAZON.ShuffleOnIntent", "AMAZON.ShuffleOffIntent"})
# What Alexa sends for a playback word said over the skill's audio outside a session, where it differs from the
# word's intent. Alexa's help: "when your skill is not in an active session but is playing audio, or was the skill
# most recently playing audio, utterances such as 'stop' send your skill an AMAZON.PauseIntent instead of an
# AMAZON.StopIntent."
SENT_OVER_AUDIO = {"AMAZON.StopIntent": "AMAZON.PauseIntent"}

NUMBER = "AMAZON.NUMBER"
_NUMBER_WORDS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())} | {"thirty": 30, "forty": 40, "forty five": 45, "fifty": 50,
                                                      "sixty": 60}


def number_value(token: str) -> str | None:
    """An AMAZON.NUMBER slot's value for one spoken token, in digits; None when it is no number."""
    if token.isdigit():
        return str(int(token))
    return str(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else None


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NOT_WORD = re.compile(r"[^\w\s']|_")
_SLOT_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def normalise(text: str) -> str:
    """Lowercase; punctuation other than apostrophes becomes a space (quote marks around a word
    go too); spaces collapsed. Nothing is expanded: "i'm" stays "i'm", "2" stays "2"."""
    text = _NOT_WORD.sub(" ", (text or "").translate(_APOSTROPHES).lower())
    return " ".join(t for t in (tok.strip("'") for tok in text.split()) if t)


@dataclass(frozen=True)
class Invocation:
    """How the text addressed the skill.

    ``kind`` is "launch" (a LaunchRequest) or "one_shot" (an IntentRequest for ``remainder``, the
    request with the connecting word dropped). ``matched`` is the normalised words that addressed the
    skill: launch phrase, invocation name and connecting word, without the wake word.
    """

    kind: str
    remainder: str | None
    matched: str


def parse_invocation(text: str, invocation_name: str) -> Invocation | None:
    """The launch or one-shot in ``text`` for the skill called ``invocation_name``; None when the text
    does not address the skill (then it is an in-session utterance, or not for this skill at all)."""
    tokens = _strip_wake_word(normalise(text).split())
    name = normalise(invocation_name).split()
    if not tokens or not name:
        return None
    for phrase in LAUNCH_PHRASES + ONE_SHOT_PHRASES:
        verb = phrase.split()
        n = len(verb)
        if tokens[:n] != verb or tokens[n:n + len(name)] != name:
            continue
        head = tokens[:n + len(name)]
        rest = tokens[n + len(name):]
        if phrase in ONE_SHOT_PHRASES:
            if rest and rest[0] in CONNECTING_WORDS:
                head, rest = head + rest[:1], rest[1:]
        elif rest and rest[0] == LAUNCH_AND:
            head, rest = head + rest[:1], rest[1:]
        elif rest and all(word in LAUNCH_COURTESY for word in rest):
            head, rest = head + rest, []
        elif rest:
            continue  # "open <name> <something else>": not a phrase Alexa routes to the skill
        if rest:
            return Invocation("one_shot", " ".join(rest), " ".join(head))
        return Invocation("launch", None, " ".join(head))
    return None


def _strip_wake_word(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] in WAKE_WORDS:
        tokens = tokens[1:]
    return tokens


# --------------------------------------------------------------------------------- compiled samples
@dataclass(frozen=True)
class _SlotRef:
    name: str
    type: str | None  # None: the sample names a slot the intent does not declare (free text)

    @property
    def free_text(self) -> bool:
        return self.type is None or self.type == SEARCH_QUERY

    @property
    def custom(self) -> bool:
        return self.type is not None and not self.type.startswith("AMAZON.")


@dataclass(frozen=True)
class _Pattern:
    intent: str
    intent_order: int
    sample: str
    sample_order: int
    elements: tuple  # str (a literal word) or _SlotRef
    builtin: bool  # an Amazon built-in phrase rather than one of the model's samples

    @property
    def literals(self) -> tuple[str, ...]:
        return tuple(e for e in self.elements if isinstance(e, str))

    @property
    def slots(self) -> tuple[_SlotRef, ...]:
        return tuple(e for e in self.elements if isinstance(e, _SlotRef))


@dataclass(frozen=True)
class _Values:
    """A custom slot type's values and synonyms, by normalised token sequence."""

    by_tokens: dict  # tuple[str, ...] -> (canonical value, id)
    lengths: tuple[int, ...]  # the distinct phrase lengths, longest first


class Score(NamedTuple):
    """How well a sample matched. ``key()`` orders matches, smaller first (see the module docstring)."""

    strict: bool  # every custom slot resolved to a value (False: lenient NO_MATCH filling)
    exact: bool  # no slots at all
    literal_words: int
    free_text_slots: int  # SearchQuery slots (and custom slots filled leniently)
    free_text_tokens: int
    intent_order: int
    sample_order: int

    def key(self) -> tuple:
        return (not self.strict, not self.exact, -self.literal_words, self.free_text_slots,
                self.free_text_tokens, self.intent_order, self.sample_order)


_CRITERIA = (
    "a strict match beats lenient slot filling",
    "an exact sample beats one with slots",
    "more literal words matched",
    "a custom slot beats free text (SearchQuery)",
    "fewer words captured as free text",
    "earlier intent in the model",
    "earlier sample in the intent",
)


@dataclass(frozen=True)
class _Capture:
    slot: _SlotRef
    start: int
    end: int


@dataclass(frozen=True)
class _Match:
    pattern: _Pattern
    captures: tuple[_Capture, ...]
    score: Score


@dataclass
class Resolution:
    """What Alexa would send for an utterance: the intent, its slots as request JSON, and why."""

    intent: str
    slots: dict
    sample: str | None  # the sample (or built-in phrase) that matched; None for the fallback
    explanation: list[str]
    score: Score | None  # None for the fallback
    utterance: str = ""  # the normalised utterance


@dataclass
class Turn:
    """What Alexa does with something a person said.

    ``request_type`` is "LaunchRequest", "IntentRequest", or None when Alexa would not route the
    text to this skill at all (out of session, and it does not address the skill).
    """

    text: str
    request_type: str | None
    resolution: Resolution | None
    invocation: Invocation | None

    @property
    def not_for_skill(self) -> bool:
        return self.request_type is None


class Resolver:
    """Resolves utterances against one interaction model. Samples are compiled once, here."""

    def __init__(self, model: dict | None = None, skill_id: str = DEFAULT_SKILL_ID):
        self.model = model if model is not None else load_model()
        self.skill_id = skill_id
        lm = self.model["interactionModel"]["languageModel"]
        self.invocation_name: str = lm.get("invocationName", "")
        self._values: dict[str, _Values] = {t["name"]: _compile_type(t) for t in lm.get("types", [])}
        self._declared: dict[str, tuple[tuple[str, str], ...]] = {}
        self._patterns: list[_Pattern] = []
        self._compile(lm.get("intents", []))

    # ------------------------------------------------------------------------------- compile
    def _compile(self, intents: list[dict]) -> None:
        model_phrases: dict[str, str] = {}
        for intent in intents:
            for sample in intent.get("samples", []):
                if not _SLOT_REF.search(sample):
                    model_phrases.setdefault(normalise(sample), intent["name"])
        for order, intent in enumerate(intents):
            name = intent["name"]
            slot_types = {s["name"]: s["type"] for s in intent.get("slots", []) or []}
            self._declared[name] = tuple((s["name"], s["type"]) for s in intent.get("slots", []) or [])
            seen: set[tuple] = set()
            samples = [(s, False) for s in intent.get("samples", [])]
            for phrase in BUILTIN_PHRASES.get(name, ()):
                if model_phrases.get(normalise(phrase), name) == name:
                    samples.append((phrase, True))
            for sample_order, (sample, builtin) in enumerate(samples):
                elements = _compile_sample(sample, slot_types)
                if not elements or elements in seen:
                    continue
                seen.add(elements)
                self._patterns.append(_Pattern(name, order, sample, sample_order, elements, builtin))

    # ------------------------------------------------------------------------------- resolve
    def resolve(self, utterance: str) -> Resolution:
        """The intent and slots Alexa would send for ``utterance`` (said inside a session)."""
        text = normalise(utterance)
        tokens = tuple(text.split())
        matches = self._matches(tokens, strict=True)
        if not matches:
            matches = self._matches(tokens, strict=False)
        if not matches:
            return Resolution(FALLBACK_INTENT, {}, None, [
                f'utterance: "{text}"',
                "no sample of any intent matches, even with lenient custom-slot filling"
                " (which needs a carrier phrase)",
                f"→ {FALLBACK_INTENT}",
            ], None, text)
        matches.sort(key=lambda m: m.score.key())
        best = matches[0]
        runner_up = next((m for m in matches[1:] if m.pattern.intent != best.pattern.intent), None)
        slots = self._slots_json(best, tokens)
        return Resolution(best.pattern.intent, slots, best.pattern.sample,
                          self._explain(text, tokens, best, runner_up), best.score, text)

    def resolve_turn(self, text: str, in_session: bool = False, owns_audio: bool = False) -> Turn:
        """What Alexa sends the skill for ``text``: a launch, a one-shot, an in-session intent, or
        nothing (``request_type`` None) when out of session and the text does not address the skill.
        ``owns_audio``: the device's audio is this skill's, so playback intents reach it without its name."""
        invocation = parse_invocation(text, self.invocation_name)
        if invocation is not None:
            if invocation.kind == "launch":
                return Turn(text, "LaunchRequest", None, invocation)
            return Turn(text, "IntentRequest", self.resolve(invocation.remainder or ""), invocation)
        spoken = " ".join(_strip_wake_word(normalise(text).split()))
        if not in_session:
            resolution = self.resolve(spoken) if owns_audio else None
            if resolution is not None and resolution.intent in PLAYBACK_INTENTS:
                sent = SENT_OVER_AUDIO.get(resolution.intent)
                if sent is not None:
                    resolution = replace(resolution, intent=sent, explanation=resolution.explanation + [
                        f"over the skill's audio, outside a session, Alexa sends {sent}"])
                return Turn(text, "IntentRequest", resolution, None)
            return Turn(text, None, None, None)
        return Turn(text, "IntentRequest", self.resolve(spoken), None)

    def intents(self) -> list[str]:
        """The model's intent names, in model order."""
        return list(self._declared)

    # ------------------------------------------------------------------------------- matching
    def _matches(self, tokens: tuple[str, ...], strict: bool) -> list[_Match]:
        found = []
        vocabulary = set(tokens)
        for pattern in self._patterns:
            if not strict and (not pattern.literals or all(not s.custom for s in pattern.slots)):
                continue  # lenient filling needs a carrier phrase and a custom slot to fill
            if len(pattern.elements) > len(tokens) or not vocabulary.issuperset(pattern.literals):
                continue
            captures = next(self._match(pattern.elements, 0, tokens, 0, strict), None)
            if captures is None:
                continue
            free = [c for c in captures if c.slot.free_text or (c.slot.custom and not strict)]
            score = Score(
                strict=strict,
                exact=not captures,
                literal_words=len(pattern.literals),
                free_text_slots=len(free),
                free_text_tokens=sum(c.end - c.start for c in free),
                intent_order=pattern.intent_order,
                sample_order=pattern.sample_order,
            )
            found.append(_Match(pattern, tuple(captures), score))
        return found

    def _match(self, elements: tuple, i: int, tokens: tuple[str, ...], pos: int,
               strict: bool) -> Iterator[list[_Capture]]:
        """Every way ``elements[i:]`` matches ``tokens[pos:]``, preferred (longest slot) first."""
        if i == len(elements):
            if pos == len(tokens):
                yield []
            return
        element = elements[i]
        remaining = len(tokens) - pos
        if isinstance(element, str):
            if remaining and tokens[pos] == element:
                yield from self._match(elements, i + 1, tokens, pos + 1, strict)
            return
        # The fewest tokens the rest of the pattern needs: one per element after this one.
        room = remaining - (len(elements) - i - 1)
        if room < 1:
            return
        if element.custom and strict:
            values = self._values.get(element.type)
            lengths = [n for n in values.lengths if n <= room] if values else []
            spans = [n for n in lengths if tokens[pos:pos + n] in values.by_tokens]
        elif element.custom or element.free_text:
            spans = range(room, 0, -1)
        else:  # another AMAZON.* type: one token (a number, for AMAZON.NUMBER)
            spans = [1] if element.type != NUMBER or number_value(tokens[pos]) is not None else []
        for n in spans:
            for rest in self._match(elements, i + 1, tokens, pos + n, strict):
                yield [_Capture(element, pos, pos + n), *rest]

    # ------------------------------------------------------------------------------- output
    def _lookup(self, slot: _SlotRef, words: tuple[str, ...]):
        values = self._values.get(slot.type) if slot.custom else None
        return values.by_tokens.get(words) if values else None

    def _slots_json(self, match: _Match, tokens: tuple[str, ...]) -> dict:
        by_name = {c.slot.name: c for c in match.captures}
        slots = {}
        for name, slot_type in self._declared.get(match.pattern.intent, ()):
            capture = by_name.get(name)
            if capture is None:
                slots[name] = {"name": name, "confirmationStatus": "NONE"}
                continue
            words = tokens[capture.start:capture.end]
            slot = {"name": name, "value": " ".join(words), "confirmationStatus": "NONE", "source": "USER"}
            if slot_type == NUMBER:
                slot["value"] = number_value(words[0])
            if capture.slot.custom:
                authority = {"authority": f"amzn1.er-authority.echo-sdk.{self.skill_id}.{slot_type}"}
                resolved = self._lookup(capture.slot, words)
                if resolved:
                    authority["status"] = {"code": "ER_SUCCESS_MATCH"}
                    authority["values"] = [{"value": {"name": resolved[0], "id": resolved[1]}}]
                else:
                    authority["status"] = {"code": "ER_SUCCESS_NO_MATCH"}
                slot["resolutions"] = {"resolutionsPerAuthority": [authority]}
            slots[name] = slot
        # A slot the sample names but the intent does not declare cannot be sent; it is ignored.
        return slots

    def _explain(self, text: str, tokens: tuple[str, ...], best: _Match, runner_up: _Match | None) -> list[str]:
        pattern = best.pattern
        source = "built-in phrase" if pattern.builtin else "sample"
        lines = [f'utterance: "{text}"',
                 f'matched {pattern.intent} {source} "{pattern.sample}"'
                 + ("" if best.score.strict else " (lenient: no sample matched outright)")]
        by_name = {c.slot.name: c for c in best.captures}
        for name, slot_type in self._declared.get(pattern.intent, ()):
            capture = by_name.get(name)
            if capture is None:
                lines.append(f"slot {name} ({slot_type}): not filled")
                continue
            words = " ".join(tokens[capture.start:capture.end])
            if capture.slot.custom:
                resolved = self._lookup(capture.slot, tokens[capture.start:capture.end])
                if resolved:
                    lines.append(f'slot {name} ({slot_type}): "{words}" → value "{resolved[0]}", '
                                 f'id "{resolved[1]}" (ER_SUCCESS_MATCH)')
                else:
                    lines.append(f'slot {name} ({slot_type}): "{words}" is no value or synonym '
                                 f"(ER_SUCCESS_NO_MATCH)")
            elif capture.slot.free_text:
                lines.append(f'slot {name} ({slot_type}): free text captured "{words}"')
            else:
                lines.append(f'slot {name} ({slot_type}): "{words}"')
        if runner_up is None:
            lines.append("runner-up: none (no other intent matches)")
        else:
            reason = next(c for c, a, b in zip(_CRITERIA, best.score.key(), runner_up.score.key()) if a != b)
            lines.append(f'runner-up: {runner_up.pattern.intent} sample "{runner_up.pattern.sample}"'
                         f" (lost on: {reason})")
        return lines


def _compile_type(slot_type: dict) -> _Values:
    by_tokens: dict[tuple[str, ...], tuple[str, str]] = {}
    for value in slot_type.get("values", []):
        name = value.get("name", {})
        canonical = name.get("value", "")
        for phrase in [canonical, *name.get("synonyms", [])]:
            words = tuple(normalise(phrase).split())
            if words:
                by_tokens.setdefault(words, (canonical, value.get("id") or canonical))
    lengths = tuple(sorted({len(w) for w in by_tokens}, reverse=True))
    return _Values(by_tokens, lengths)


def _compile_sample(sample: str, slot_types: dict[str, str]) -> tuple:
    elements: list = []
    for k, piece in enumerate(_SLOT_REF.split(sample)):
        if k % 2:  # a {slot} reference
            elements.append(_SlotRef(piece, slot_types.get(piece)))
        else:
            elements.extend(normalise(piece).split())
    return tuple(elements)


_DEFAULT: Resolver | None = None


def default_resolver() -> Resolver:
    """A resolver for the en-US model with the default skill id, built once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Resolver(load_model("en-US"))
    return _DEFAULT


def resolve_turn(text: str, in_session: bool, resolver: Resolver | None = None) -> Turn:
    """``Resolver.resolve_turn`` with the en-US model unless a resolver is given."""
    return (resolver or default_resolver()).resolve_turn(text, in_session)
