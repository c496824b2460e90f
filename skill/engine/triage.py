"""Recognises a red flag in what a person says, in one turn: "I can't feel my legs" -> t1_legs.

Pure Python (stdlib and PyYAML only). The phrase list is data, ``skill/content/red_flags.yaml``,
written for a clinician to read; its header documents the pattern syntax. This module:

- ``matching_form(text)``: the one form both the phrases and the utterances are matched in
  (lowercase, contractions expanded, "not sure"/"don't know" -> "unsure", punctuation -> "." breaks).
- ``load_red_flags(path)`` / ``default_red_flags()``: parse, validate and compile the phrase list.
- ``MatcherWords``: the English words the rules below work with (negation cues, clause breaks, subjects,
  fillers, stop words...), the file's ``matcher_words``, where each list's comment says what it does.
- ``RedFlags.match(text)``: the most severe red flag described and not negated, or None; a match
  only through a flag's ``ambiguous`` phrases (pain alone could explain them) says so.
- ``RedFlags.means_pain_only(flag, text)``: the answer to the clarifying question says "only the pain".
- ``described_text(carrier, text)``: puts back the meaning of a carrier phrase ("i cannot",
  "my legs") that a platform cut off what was said, before matching.

Negation (NegEx-style, deliberately simple):
- a match is negated when a negation cue (no, not, never, without, none, neither, nor, nothing)
  stands at most ``NEGATION_WINDOW`` (4) words before the match's first word, in the same clause;
  filler words (a, the, any, is, have, do...) are not counted ("i do not think there is any blood
  in my pee" stays negated);
- clauses end at punctuation and at the clause breaks (but, and, however, though...);
  a new subject ("my", "i", "both", "there", "it") also starts a clause unless it follows a
  preposition or a verb of thinking ("i don't think my legs are numb" stays negated;
  "no fever my legs are numb" and "no, i can't feel my legs" do not);
- "or"/"nor" inside a negated stretch carry the negation on ("no numbness or tingling in my legs");
- words inside the matched phrase never negate it ("no feeling in my legs", "i can't pee"), and a
  gap ("...") in a phrase never spans a negation cue or a clause break;
- only negation *before* a phrase is recognised: "numbness between my legs? no" still escalates
  (the safe direction).
Uncertainty is not negation: "not sure", "don't know", "can't tell", "no idea" become "unsure",
so "I'm not sure if I have numbness down there" escalates (clinical.md: "not sure" counts as yes).
"Can no longer", "can hardly", "can barely", "could hardly", "unable to", "not able to" become "cannot": a loss of
function, so "I can no longer feel my feet" -> t1_legs (decided: loss of feeling in both feet is
the tier-1 "numbness in both legs").

Speed: each phrase is compiled once, behind the words one of which it needs; an utterance runs only
the phrases whose key words it contains (about 50 microseconds for a typical sentence).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from skill.engine.data_files import read_yaml

RED_FLAGS_PATH = Path(__file__).resolve().parent.parent / "content" / "red_flags.yaml"

# Every tier-1 and tier-2 item of clinical.md must have an entry (checked at load time).
REQUIRED_IDS = (
    "t1_saddle", "t1_bladder", "t1_bowel", "t1_legs", "t1_foot_drop", "t1_sexual", "t1_trauma",
    "t1_chest", "t1_collapse", "t1_heart", "t1_belly_pulse", "t1_belly_back",
    "t2_fever", "t2_urinary", "t2_cancer", "t2_weight_loss", "t2_night_pain", "t2_osteoporosis",
    "t2_immune", "t2_lump", "t2_upper_belly", "t2_belly_spread",
)

BOUNDARY = "."  # the clause-break token matching_form() puts where punctuation was
NEGATION_WINDOW = 4
# The English words the negation, clause and "only the pain" rules work with are data, in red_flags.yaml's
# ``matcher_words`` (each list's comment there says what it does): see ``MatcherWords``.
MATCHER_WORD_LISTS = ("negation_cues", "clause_breaks", "list_words", "subjects", "linkers", "fillers", "stop_words",
                      "recent_words", "animals", "restrictors", "hedges")

# The cue of a match made no sign by a flag's unless words: explained ("hot under the heat pad"), not denied.
UNLESS_CUE = "unless"
# A flag's lists of words that make a sign no sign here (red_flags.yaml's header, "NOT THIS PERSON'S").
NOT_A_SIGN_KEYS = ("unless", "unless_anywhere", "not_meant", "someone_else")

GAP_WORDS = 3  # "..." in a phrase: up to this many words

_CONTRACTIONS = [  # applied in order, on lowercased text with straight apostrophes
    (r"\b(?:can't|cant|can not|cannot)\b", "cannot"),
    (r"\b(?:won't|wont)\b", "will not"),
    (r"\bain't\b", "is not"),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\b(do|does|did|have|has|had|is|are|was|were|could|would|should)nt\b", r"\1 not"),
    (r"\b(?:i'm|im)\b", "i am"),
    (r"\blet's\b", "let us"),
    (r"\b(i|you|we|they)'ve\b", r"\1 have"),
    (r"\bive\b", "i have"),
    (r"\b(\w+)'re\b", r"\1 are"),
    (r"\b(\w+)'ll\b", r"\1 will"),
    (r"\b(i|you|we|they|he|she)'d\b", r"\1 would"),
    # "'s" is nearly always "is" in symptom talk ("my heart's racing"); a possessive reads harmlessly. Before "been"
    # it can only be "has" ("she's been poorly", "it's been waking me"), so that rule comes first.
    (r"\b(\w+)'s been\b", r"\1 has been"),
    (r"\b(\w+)'s\b", r"\1 is"),
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bkinda\b", "kind of"),
    # "me legs" (British and Irish speech) is "my legs"; "hay fever" is no fever.
    (r"\bme (legs|leg|feet|foot|backside|bum|bottom|arse|bits|back|bladder|waterworks|thighs|thigh)\b", r"my \1"),
    (r"\bhay fever\b", "hayfever"),
    # A figure of speech, not a collision: "i feel like i've been hit by a truck".
    (r"\b(feel|feels|felt) like (?:i have|i've|i|i am|i'm|i had) been (?:hit|run over) by a (?:truck|bus|train|lorry|steamroller)\b",
     r"\1 terrible"),
]
# Loss of function: one form, "cannot" ("i can no longer feel my feet" -> "i cannot feel my feet").
_CANNOT = [
    (r"\bcannot (?:hardly|barely|scarcely)\b", "cannot"),
    (r"\bcan (?:no longer|hardly|barely|scarcely)\b", "cannot"),
    # "When I wiped I could hardly feel the paper": the same loss, told afterwards.
    (r"\bcould (?:hardly|barely|scarcely)\b", "cannot"),
    (r"\b(?:(?:am|is|are|was|were|have|has|had) )?(?:not|no longer) (?:been )?able to\b", "cannot"),
    (r"\b(?:(?:am|is|are|was|were) )?unable to\b", "cannot"),
]
# Fillers inside a loss of function: "i can't really feel my bum" -> "i cannot feel my bum".
_FILLER = [
    (r"\b(cannot|could not|do not|did not) (?:really|properly|quite|fully|even|actually|seem to) ", r"\1 "),
    # A word that only says how suddenly or how much, before what happened to a leg or the bottom: "my legs
    # just went weak", "both legs suddenly went dead", "my legs are just so weak" say what the phrases say.
    (r"\b((?:legs?|feet|foot|bottom|bum|backside|groin|privates|bits|they|it|i|am|are|is|was|were|have|has|had|"
     r"been) )(?:just|suddenly|really|so|totally|completely|all of a sudden|kind of|kinda|sort of|now|all)"
     r"(?: (?:just|suddenly|really|so|totally|completely|now|all))* "
     r"(?=(?:went|gone|gotten|got|go|goes|going|gave|give|given|giving|feel|feels|felt|weak|weaker|numb|dead|"
     r"floppy|useless|like jelly|buckl\w*|collaps\w*)\b)", r"\1"),
]
# Uncertainty is not negation: "not sure", "don't know", "can't tell", "no idea" -> "unsure".
_UNSURE = [
    (r"\bnot (?:really |quite |too |very |entirely |completely |totally |a hundred percent |100 percent )?"
     r"(?:sure|certain)(?: (?:if|whether|about|of))?\b", "unsure"),
    (r"\b(?:do|does|did) not (?:really )?know(?: (?:if|whether))?\b", "unsure"),
    (r"\b(?:unsure|uncertain)(?: (?:if|whether|about|of))?\b", "unsure"),
    (r"\bno idea(?: (?:if|whether))?\b", "unsure"),
    (r"\bcannot (?:really )?tell (?:if|whether)\b", "unsure"),
    (r"\b(?:dunno|donno|dno)\b", "unsure"),
    (r"\b(?:hard|difficult) to (?:tell|say)\b", "unsure"),
]
# A partner speaking for the person ("she can't feel her legs", "his legs are numb", "my wife's legs
# keep buckling", "my husband can't pee"): one form, the first person, so every phrase serves both. "They" is left alone: it is how people say "my legs".
_RELATIVES = (r"(?:wife|husband|partner|hubby|missus|missis|boyfriend|girlfriend|fiance|fiancee|spouse|other half|"
              r"son|daughter|mum|mummy|mom|mommy|mam|mother|dad|daddy|father|fella|bloke|man|nan|nana|gran|granny|grandma|grandmother|grandad|granddad|"
              r"grandpa|grandfather|brother|sister|friend|flatmate|roommate|aunt|uncle|neighbour|neighbor|patient|relative)")
# Body words after a possessive: "my wife's legs" (normalised "my wife is legs") -> "my legs".
_BODY = (r"(?:legs?|feet|foot|back|bum|bottom|butt|bladder|bowels?|groin|privates|bits|knees?|hips?|temperature|"
         r"heart|chest|pee|urine|wee|stomach|belly|tummy|pain|spine)")
_PARTNER = [
    (rf"\bmy {_RELATIVES}s? is (?={_BODY}\b)", "my "),
    (rf"\b(?:my|our) {_RELATIVES}\b", "she"),
    # "her" as an object ("won't hold her up") is "me", not "my".
    (rf"\b(hold|support|carry|help|lift|pick|get|let|keep|take|move) (?:him|her)\b(?! {_BODY}\b)", r"\1 me"),
    (r"\b(?:he|she) (?:has|have) been\b", "i have been"),
    (r"\b(?:he|she) (?:is)\b", "i am"),
    (r"\b(?:he|she) (was|has|had|does|did|can|cannot|could|will|would|says|said|thinks|feels|felt|keeps)\b", r"i \1"),
    (r"\b(?:he|she)\b", "i"),
    (r"\b(?:his|her)\b", "my"),
    (r"\bhim\b", "me"),
    (r"\b(?:himself|herself)\b", "myself"),
    (r"\bem\b", "them"),
]
_COMPILED = [(re.compile(p), r) for p, r in _CONTRACTIONS + _CANNOT + _FILLER + _UNSURE + _PARTNER]


_PARTNER_COMPILED = [re.compile(p) for p, _ in _PARTNER]


def spoken_for_someone_else(text: str) -> bool:
    """Someone describing another person ("he can't move his legs", "my wife's legs have gone"): the words
    a partner uses, which ``matching_form`` turns into the first person."""
    words = " ".join(re.sub(r"[^a-z' ]+", " ", (text or "").lower().replace("\u2019", "'")).split())
    words = re.sub(r"(?<=[a-z])'s\b", " is", words)
    return any(pattern.search(words) for pattern in _PARTNER_COMPILED[:-1])  # (not "em", which is "them")


def matching_form(text: str, speaker_words: bool = False) -> str:
    """The form phrases and utterances are matched in. ``speaker_words``: without turning a partner's or a
    relative's words into the first person ("my mum had cancer" stays about the mum).

    >>> matching_form("I'm not sure if I can't feel my legs. But no fever!")
    'i am unsure i cannot feel my legs . but no fever'
    """
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = text.replace("&", " and ")
    # Spelled-out initialisms: "h.i.v." -> "hiv", "u.t.i" -> "uti".
    text = re.sub(r"\b(?:[a-z]\.){2,}[a-z]?\b\.?", lambda m: m.group(0).replace(".", ""), text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "long-term", "light-headed"
    for pattern, replacement in _COMPILED[: len(_CONTRACTIONS)]:
        text = pattern.sub(replacement, text)
    text = text.replace("'", "")
    text = re.sub(r"(?<!\d)[.,;:!?]|[.,;:!?](?!\d)|\s[-\u2013\u2014]+\s|[()\[\]\"]", " . ", text)
    text = re.sub(r"[^a-z0-9. ]+", " ", text)
    text = re.sub(r"\b(uh|mm) (huh|hmm)\b", r"\1\2", text)  # "uh huh", "mm hmm": a yes, kept as one word
    text = re.sub(r"\b(?:uh|um|umm|uhm|erm|hmm)\b", " ", text)  # hesitations ("er" stays: the ER)
    for pattern, replacement in _COMPILED[len(_CONTRACTIONS):len(_COMPILED) - (len(_PARTNER) if speaker_words else 0)]:
        text = pattern.sub(replacement, text)
    tokens = []
    for token in text.split():
        if token == BOUNDARY and (not tokens or tokens[-1] == BOUNDARY):
            continue
        tokens.append(token)
    while tokens and tokens[-1] == BOUNDARY:
        tokens.pop()
    return " ".join(tokens)


def described_text(carrier: str, captured: str | None) -> str:
    """What the person said: ``carrier`` (the meaning of the words a platform cut off, "i cannot")
    in front of the captured text, unless the text already starts with it."""
    captured = " ".join((captured or "").split())
    carrier = " ".join((carrier or "").split())
    if not carrier:
        return captured
    said, meant = matching_form(captured), matching_form(carrier)
    if said.startswith(meant + " ") or said == meant:
        return captured
    return f"{carrier} {captured}".strip()


class RedFlagError(ValueError):
    """red_flags.yaml is broken; the message lists every problem found."""


@dataclass(frozen=True)
class Match:
    flag_id: str
    tier: int
    phrase: str  # the pattern, as written in red_flags.yaml
    text: str  # the words it matched, in normalised form
    start: int = 0  # index of the first matched word in the normalised text
    negated: bool = False
    cue: str | None = None  # the word that negated it (explain() only)
    ambiguous: bool = False  # matched one of the flag's ambiguous phrases: ask before escalating


# ---------------------------------------------------------------------- pattern syntax
class _PatternError(ValueError):
    pass


_PATTERN_TOKEN = re.compile(r"\.\.\.|@[a-z0-9_]+|[()\[\]|^$]|[a-z0-9]+|\S")
_START = r"(?:^|(?<=\. ))"  # the start of what was said, or of a sentence
_END = r"(?=\. |$)"  # the end of what was said, or of a sentence


@dataclass(frozen=True)  # hashable by value: the red flags and the other phrase lists share ``prepared``'s cache
class MatcherWords:
    """The matcher's own words (red_flags.yaml, ``matcher_words``), each a set of single normalised words."""

    negation_cues: frozenset
    clause_breaks: frozenset
    list_words: frozenset
    subjects: frozenset
    linkers: frozenset
    fillers: frozenset
    stop_words: frozenset
    recent_words: frozenset
    animals: frozenset
    restrictors: frozenset
    hedges: frozenset

    @functools.cached_property
    def gap(self) -> str:
        """The regex for "..." in a phrase: up to GAP_WORDS words, never a negation cue or a clause break."""
        blocked = "|".join(sorted(self.negation_cues | self.clause_breaks | {re.escape(BOUNDARY)}))
        return rf"(?:(?!(?:{blocked}) )[^ ]+ ){{0,{GAP_WORDS}}}"


class _Parser:
    """pattern := item* ; item := word | "(" alts ")" | "[" alts "]" | "..." | "@list" | "^" | "$"
    alts := seq ("|" seq)*. The parse tree is a list of nodes: ("word", w), ("alt", [seq, ...]),
    ("opt", [seq, ...]), ("gap",), ("start",), ("end",)."""

    def __init__(self, pattern: str, words: dict):
        self.pattern = pattern
        self.words = words
        self.tokens = _PATTERN_TOKEN.findall(pattern)
        self.pos = 0
        self.used: set[str] = set()

    def parse(self):
        seq = self.seq()
        if self.pos != len(self.tokens):
            tok = self.tokens[self.pos]
            raise _PatternError(f"unexpected {tok!r}" + (" (unbalanced bracket)" if tok in ")]|" else ""))
        if not seq:
            raise _PatternError("empty pattern")
        return seq

    def seq(self):
        items = []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            if tok in (")", "]", "|"):
                break
            self.pos += 1
            if tok in ("(", "["):
                alts = self.alts()
                close = ")" if tok == "(" else "]"
                if self.pos >= len(self.tokens) or self.tokens[self.pos] != close:
                    raise _PatternError(f"unbalanced {tok!r}: missing {close!r}")
                self.pos += 1
                items.append(("alt" if tok == "(" else "opt", alts))
            elif tok == "...":
                items.append(("gap",))
            elif tok == "^":
                items.append(("start",))
            elif tok == "$":
                items.append(("end",))
            elif tok.startswith("@"):
                name = tok[1:]
                if name not in self.words:
                    raise _PatternError(f"unknown word list {tok!r}")
                self.used.add(name)
                items.append(("alt", [[("word", w) for w in entry.split()] for entry in self.words[name]]))
            elif re.fullmatch(r"[a-z0-9]+", tok):
                items.append(("word", tok))
            else:
                raise _PatternError(f"character {tok!r} is not allowed (use lowercase words, ( | ), [ ], ..., @list)")
        return items

    def alts(self):
        options = [self.seq()]
        while self.pos < len(self.tokens) and self.tokens[self.pos] == "|":
            self.pos += 1
            options.append(self.seq())
        for option in options:
            if not option:
                raise _PatternError("empty alternative")
        return options


def _regex(seq, gap: str) -> str:
    out = []
    for node in seq:
        kind = node[0]
        if kind == "word":
            out.append(re.escape(node[1]) + " ")
        elif kind == "gap":
            out.append(gap)
        elif kind == "start":
            out.append(_START)
        elif kind == "end":
            out.append(_END)
        else:
            # Longest alternatives first, so the matched text shows the whole phrase.
            options = sorted((_regex(option, gap) for option in node[1]), key=len, reverse=True)
            out.append("(?:" + "|".join(options) + ")" + ("?" if kind == "opt" else ""))
    return "".join(out)


def _can_be_only_stop_words(seq, stop_words: frozenset) -> bool:
    """True if some expansion of ``seq`` is empty or made of stop words only."""
    for node in seq:
        if node[0] == "word" and node[1] not in stop_words:
            return False
        if node[0] == "alt" and not any(_can_be_only_stop_words(option, stop_words) for option in node[1]):
            return False
    return True


def _anchor_set(node, stop_words: frozenset) -> frozenset | None:
    """Words one of which must appear for ``node`` to match, or None if it can match nothing."""
    if node[0] == "word":
        return frozenset([node[1]])
    if node[0] == "alt":
        words = set()
        for option in node[1]:
            option_set = _seq_anchor(option, stop_words)
            if option_set is None:
                return None
            words |= option_set
        return frozenset(words)
    return None  # optional, gap, anchors


def _seq_anchor(seq, stop_words: frozenset) -> frozenset | None:
    """The most telling set of words one of which must appear for ``seq`` to match."""
    best = None
    for node in seq:
        words = _anchor_set(node, stop_words)
        if words is None:
            continue
        rank = (len(words & stop_words) > 0, len(words))
        if best is None or rank < best[0]:
            best = (rank, words)
    return best[1] if best else None


def _literal_runs(seq):
    """Runs of consecutive plain words, to check they are written in normalised form."""
    run = []
    for node in seq:
        if node[0] == "word":
            run.append(node[1])
            continue
        if run:
            yield " ".join(run)
            run = []
        if node[0] in ("alt", "opt"):
            for option in node[1]:
                yield from _literal_runs(option)
    if run:
        yield " ".join(run)


def compile_pattern(pattern: str, words: dict | None = None, matcher_words: MatcherWords | None = None) -> str:
    """The regex for one phrase pattern, matched against normalised text plus a trailing space.

    ``words`` holds the named word lists (``@name``); ``matcher_words`` defaults to the shipped file's.
    Raises ValueError with a readable reason.
    """
    return _compile(pattern, words or {}, matcher_words or default_red_flags().matcher_words)[0]


@functools.lru_cache(maxsize=None)
def _content_matching_form(text: str) -> str:
    """``matching_form`` of a fragment of red_flags.yaml, for the load-time checks: the same few thousand
    fragments come back over and over (a tenth of the calls are new), and loading is the skill's cold start.
    Only the content's words are kept here, never what a person said."""
    return matching_form(text)


def _compile(pattern: str, words: dict, matcher_words: MatcherWords,
             short_words_only: bool = False) -> tuple[str, set, frozenset | None]:
    """``short_words_only``: allow a phrase of stop words alone (an answer such as "^no$")."""
    parser = _Parser(pattern, words)
    seq = parser.parse()
    stop_words = matcher_words.stop_words
    if not short_words_only and _can_be_only_stop_words(seq, stop_words):
        raise _PatternError("can match stop words only (add a word that carries the meaning)")
    for run in _literal_runs(seq):
        if _content_matching_form(run) != run:
            raise _PatternError(f"{run!r} is not in normalised form (write {_content_matching_form(run)!r})")
    return r"(?<![^ ])" + _regex(seq, matcher_words.gap), parser.used, _seq_anchor(seq, stop_words)


# ---------------------------------------------------------------------- the flags
@dataclass(frozen=True)
class RedFlag:
    id: str
    tier: int
    label: str
    phrases: tuple
    # Phrases pain alone can explain ("i cannot lift my legs"): the skill asks one question first.
    ambiguous: tuple = ()
    # Answers to that question that name a sign after all ("a bit weak"), and ones that mean "it's only
    # the pain". A sign wins; neither escalates too.
    clarify_signs: tuple = ()
    pain_only: tuple = ()
    # Words after the sign, in the same clause, that put it long in the past ("a fall years ago"): it is
    # then history, not this spasm's cause, and no red flag.
    past: tuple = ()
    # Words anywhere in the sign's clause, not themselves denied, that make it no sign ("i am on a diet", "it runs
    # in my family"; "i am not on a diet" does not).
    unless: tuple = ()
    # The same, said anywhere in what was said ("i am on a diet and i have lost weight": the "and" ends the
    # clause, but the diet explains the weight) ...
    unless_anywhere: tuple = ()
    # ... except for a mention whose own clause says it was not meant ("but i lost weight without trying").
    not_meant: tuple = ()
    # Words that make it someone else's, read before a partner's words are turned into the first person
    # ("my mum had cancer": her history, not the person's; a partner speaking for the person still counts).
    someone_else: tuple = ()
    # Everyday phrasings of the sign in plain words, for the second line (second_line.py) to compare free
    # words with when no phrase matched them: tier 1 and 2 only, never compiled as phrases.
    examples: tuple = ()


class RedFlags:
    """The validated, compiled phrase list. Build with ``load_red_flags``."""

    def __init__(self, flags: list[RedFlag], words: dict, matcher_words: MatcherWords, no_sign_examples: tuple = ()):
        self._flags = {flag.id: flag for flag in flags}
        # Ordinary things said that are no sign, for the second line to weigh a flag's examples against.
        self.no_sign_examples = no_sign_examples
        self._order = {flag.id: i for i, flag in enumerate(flags)}
        self.words = dict(words)
        self.matcher_words = matcher_words
        self._clause_ends = matcher_words.clause_breaks | {BOUNDARY}  # (what ends a clause, for every match)
        # One compiled regex per phrase, each behind the words one of which must be present: an
        # utterance only runs the few phrases whose key words it contains.
        self._patterns = []  # (flag, phrase, ambiguous, regex)
        self._by_word: dict[str, list[int]] = {}
        self._always: list[int] = []
        def compiled(phrases):
            return [re.compile(f"(?=({_compile(p, self.words, matcher_words)[0]}))") for p in phrases]

        self._clarify = {flag.id: (compiled(flag.clarify_signs), compiled(flag.pain_only)) for flag in flags}
        self._past = {flag.id: compiled(flag.past) for flag in flags if flag.past}
        self._unless = {flag.id: compiled(flag.unless) for flag in flags if flag.unless}
        self._unless_anywhere = {flag.id: compiled(flag.unless_anywhere) for flag in flags if flag.unless_anywhere}
        self._not_meant = {flag.id: compiled(flag.not_meant) for flag in flags if flag.not_meant}
        self._someone_else = {flag.id: compiled(flag.someone_else) for flag in flags if flag.someone_else}
        for flag in flags:
            for phrase, ambiguous in [*((p, False) for p in flag.phrases), *((p, True) for p in flag.ambiguous)]:
                body, _, anchor = _compile(phrase, self.words, matcher_words)
                n = len(self._patterns)
                # A lookahead finds every start position, overlapping ones included.
                self._patterns.append((flag, phrase, ambiguous, re.compile(f"(?=({body}))")))
                if anchor:
                    for word in anchor:
                        self._by_word.setdefault(word, []).append(n)
                else:
                    self._always.append(n)

    # -- queries
    def ids(self) -> tuple:
        return tuple(self._flags)

    def tier_of(self, flag_id: str) -> int:
        return self._flags[flag_id].tier

    def label_of(self, flag_id: str) -> str:
        return self._flags[flag_id].label

    def phrases_of(self, flag_id: str) -> tuple:
        return self._flags[flag_id].phrases

    def examples_of(self, flag_id: str) -> tuple:
        return self._flags[flag_id].examples

    def __len__(self) -> int:
        return len(self._flags)

    # -- matching
    def explain(self, text: str) -> list[Match]:
        """Every phrase found in ``text``, negated ones included, in text order (for debugging)."""
        subject, starts, negators = prepared(text, self.matcher_words)
        tokens = subject.split()
        words = set(tokens)
        found = []
        speaker = None  # (the words as said, only if a flag needs them)
        candidates = set(self._always)
        for token in words:
            candidates.update(self._by_word.get(token, ()))
        for n in sorted(candidates):
            flag, phrase, ambiguous, regex = self._patterns[n]
            for m in regex.finditer(subject):
                index = starts[m.start()]
                cue = (negators[index] or self._long_ago(flag.id, subject, m.start(), words)
                       or self._animal(tokens, index) or self._unless_said(flag.id, tokens, index, m.group(1)))
                if cue is None and flag.id in self._someone_else:
                    speaker = matching_form(text, speaker_words=True).split() if speaker is None else speaker
                    cue = self._someone_elses(flag.id, tokens, index, speaker)
                found.append(Match(flag_id=flag.id, tier=flag.tier, phrase=phrase, text=m.group(1).strip(),
                                   start=index, negated=cue is not None, cue=cue, ambiguous=ambiguous))
        found.sort(key=lambda x: (x.start, x.tier, self._order[x.flag_id]))
        return found

    def _long_ago(self, flag_id: str, subject: str, start: int, words: set) -> str | None:
        """ "past" when words of the flag's ``past`` list follow the sign in its clause ("i had a fall years
        ago"), and nothing in the words brings it back to now ("... and again this morning")."""
        regexes = self._past.get(flag_id, ())
        if not regexes or self.matcher_words.recent_words & words:
            return None
        clause = subject[start:].split(f" {BOUNDARY} ")[0]
        return "past" if any(regex.search(clause) for regex in regexes) else None

    def _clause_around(self, tokens: list[str], index: int, length: int = 1) -> tuple[int, int]:
        """The token range [first, end) of the clause the ``length`` words from token ``index`` are in (clauses end
        at the clause breaks; a break inside those words, the "and" of "pins and needles", ends none)."""
        breaks = self._clause_ends
        first = index
        while first > 0 and tokens[first - 1] not in breaks:
            first -= 1
        end = index + max(length, 1)
        while end < len(tokens) and tokens[end] not in breaks:
            end += 1
        return first, end

    def _said_in(self, regexes, tokens: list[str], span: tuple[int, int], negators: list | None = None) -> bool:
        """One of ``regexes`` matches words wholly inside the token range ``span``; with ``negators``, only words
        not themselves denied ("i am not on a diet")."""
        first, end = span
        stretch = " ".join(tokens[first:end]) + " "
        for regex in regexes:
            for m in regex.finditer(stretch):
                if negators is None or negators[first + len(stretch[:m.start()].split())] is None:
                    return True
        return False

    def _unless_said(self, flag_id: str, tokens: list[str], index: int, sign: str) -> str | None:
        """ "unless" when words of the flag's ``unless`` list are in the sign's clause ("i am trying to lose
        weight", "cancer runs in my family"), or words of its ``unless_anywhere`` list anywhere ("i am on a diet
        and i have lost weight") and the sign's own clause does not say it was not meant ("without trying").
        Unless words are denied by a negation outside the sign ``sign`` (its matched words): "no feeling in my
        skin" denies no skin."""
        if flag_id not in self._unless and flag_id not in self._unless_anywhere:
            return None
        length = len(sign.split())
        negators = _negators(tokens[:index] + [BOUNDARY] * length + tokens[index + length:], self.matcher_words)
        clause = self._clause_around(tokens, index, length)
        if self._said_in(self._unless.get(flag_id, ()), tokens, clause, negators):
            return UNLESS_CUE
        anywhere = self._unless_anywhere.get(flag_id, ())
        if anywhere and self._said_in(anywhere, tokens, (0, len(tokens)), negators) and \
                not self._said_in(self._not_meant.get(flag_id, ()), tokens, clause):
            return UNLESS_CUE
        return None

    def _someone_elses(self, flag_id: str, tokens: list[str], index: int, speaker: list[str]) -> str | None:
        """ "someone else" when the sign's clause, in the speaker's own words (``speaker``: before a relative's
        words became the first person), is about another person ("my mum had cancer"). Per clause: "my mum had
        cancer and i have had it too" is still the person's own. The two forms differ only in who is named, so
        the sign's clause is the same count of clause breaks into both."""
        breaks = self._clause_ends
        nth = sum(token in breaks for token in tokens[:index])
        edges = [i for i, token in enumerate(speaker) if token in breaks]
        if len(edges) != sum(token in breaks for token in tokens):
            return None  # (the forms do not line up: the sign stands, the safe side)
        first = edges[nth - 1] + 1 if nth else 0
        end = edges[nth] if nth < len(edges) else len(speaker)
        return "someone else" if self._said_in(self._someone_else[flag_id], speaker, (first, end)) else None

    def set_aside(self, flag_id: str, text: str) -> str | None:
        """Why ``flag_id`` would be no sign in ``text`` wherever it stands: "past", "unless" or "someone else",
        when the flag's own lists of those words are said anywhere in it (for a sign found without a phrase,
        by the second line: "i am trying to lose weight", "my mum had cancer years ago")."""
        subject, _, _ = prepared(text, self.matcher_words)
        words = set(subject.split())
        if not self.matcher_words.recent_words & words and any(r.search(subject) for r in self._past.get(flag_id, ())):
            return "past"
        unless = (*self._unless.get(flag_id, ()), *self._unless_anywhere.get(flag_id, ()))
        if any(regex.search(subject) for regex in unless):
            return UNLESS_CUE
        speaker = matching_form(text, speaker_words=True) + " "
        if any(regex.search(speaker) for regex in self._someone_else.get(flag_id, ())):
            return "someone else"
        return None

    def _animal(self, tokens: list[str], index: int) -> str | None:
        """ "animal" when one of the two words before token ``index`` is an animal ("the dog peed ...")."""
        return "animal" if self.matcher_words.animals & set(tokens[max(index - 2, 0):index]) else None

    def match(self, text: str) -> Match | None:
        """The most severe red flag described and not negated: tier 1 before 2 before 3; within a
        tier a plain sign before an ambiguous one, then the one said first (then file order). None
        when there is none."""
        best = None
        for found in self.explain(text):
            if found.negated:
                continue
            key = (found.tier, found.ambiguous, found.start, self._order[found.flag_id])
            if best is None or key < best[0]:
                best = (key, found)
        if best is None:
            return None
        m = best[1]
        return Match(flag_id=m.flag_id, tier=m.tier, phrase=m.phrase, text=m.text, start=m.start,
                     ambiguous=m.ambiguous)

    def ambiguous_ids(self) -> tuple:
        """Flags that have phrases pain alone could explain (each needs a clarifying question)."""
        return tuple(flag.id for flag in self._flags.values() if flag.ambiguous)

    def means_pain_only(self, flag_id: str, text: str) -> bool:
        """True when ``text``, said in answer to the clarifying question about ``flag_id``, puts it down
        to pain alone and names no plain red flag ("no, it's just the pain")."""
        found = self.match(text)
        if found is not None and found.tier == 1 and not found.ambiguous:
            return False
        tokens = matching_form(text).split()
        if self.matcher_words.hedges & set(tokens):  # "dunno", "mostly pain", "probably just the pain": not a clear no
            return False
        subject = " ".join(tokens) + " "
        starts = _token_starts(tokens)
        # "No, just the pain": after the answer's "no", "just"/"only" begin what it is instead, so the
        # "no" does not reach the pain words. "Not just the pain" keeps its negation.
        restrictors = self.matcher_words.restrictors
        negators = _negators([BOUNDARY if token in restrictors and i and tokens[i - 1] != "not" else token
                              for i, token in enumerate(tokens)], self.matcher_words)

        def said(regexes) -> bool:
            return any(negators[starts[m.start()]] is None for regex in regexes for m in regex.finditer(subject))

        signs, pain = self._clarify.get(flag_id, ((), ()))
        return not said(signs) and said(pain)


@functools.lru_cache(maxsize=64)
def prepared(text: str, matcher_words: MatcherWords) -> tuple[str, dict, list]:
    """``text`` normalised (plus a trailing space), its token offsets and negation scopes: worked out once
    per utterance, since one turn asks the red-flag list and dozens of phrase lists about the same words."""
    tokens = matching_form(text).split()
    return " ".join(tokens) + " ", _token_starts(tokens), _negators(tokens, matcher_words)


def _token_starts(tokens: list[str]) -> dict:
    """Character offset -> token index, for the text " ".join(tokens) + " "."""
    starts, offset = {}, 0
    for i, token in enumerate(tokens):
        starts[offset] = i
        offset += len(token) + 1
    return starts


def _negators(tokens: list[str], words: MatcherWords) -> list[str | None]:
    """For each token, the negation cue whose scope it is in (or None)."""
    scope: list[str | None] = [None] * len(tokens)
    cue, distance = None, 0
    for i, token in enumerate(tokens):
        if token == BOUNDARY or token in words.clause_breaks:
            cue = None
            continue
        if token in words.subjects and i > 0 and tokens[i - 1] not in words.linkers:
            cue = None  # a new clause with its own subject: "no fever my legs are numb", "no, i can't..."
        if cue is not None:
            distance += token not in words.fillers
            if distance <= NEGATION_WINDOW:
                scope[i] = cue
                if token in words.list_words:
                    distance = 0  # "no numbness or tingling in my legs": the list stays negated
            else:
                cue = None
        if token in words.negation_cues:
            cue, distance = token, 0
    return scope


# ---------------------------------------------------------------------- loading
def _word_lists(raw, problems: list[str]) -> dict:
    words = {}
    lists = raw.get("words") or {}
    if not isinstance(lists, dict):
        problems.append("'words:' must map list names to lists of words")
        return words
    for name, entries in lists.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            problems.append(f"words: bad list name {name!r} (lowercase letters, digits, _)")
            continue
        if not isinstance(entries, list) or not entries:
            problems.append(f"words.{name}: must be a non-empty list")
            continue
        clean = []
        for entry in entries:
            text = " ".join(str(entry).split()) if isinstance(entry, (str, int)) else None
            if not text or not re.fullmatch(r"[a-z0-9 ]+", text):
                problems.append(f"words.{name}: {entry!r} must be plain lowercase words")
            elif _content_matching_form(text) != text:
                problems.append(f"words.{name}: {entry!r} is not in normalised form "
                                f"(write {_content_matching_form(text)!r})")
            elif text in clean:
                problems.append(f"words.{name}: {entry!r} listed twice")
            else:
                clean.append(text)
        words[name] = tuple(clean)
    return words


# One instance per value: the red flags and the phrase lists read from the same file then share ``prepared``'s
# cache entries, found by identity (a microsecond) instead of by comparing every list (several).
_ONE_PER_VALUE: dict[MatcherWords, MatcherWords] = {}


def _matcher_words(raw, problems: list[str]) -> MatcherWords | None:
    """The ``matcher_words`` section, or None when it is broken (each problem named in ``problems``)."""
    section = raw.get("matcher_words") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        problems.append(f"'matcher_words:' must map each of {', '.join(MATCHER_WORD_LISTS)} to words")
        return None
    before = len(problems)
    for name in sorted(set(section) - set(MATCHER_WORD_LISTS)):
        problems.append(f"matcher_words.{name}: not a list the matcher uses")
    lists = {}
    for name in MATCHER_WORD_LISTS:
        entries = section.get(name)
        words = entries.split() if isinstance(entries, str) else []
        if not words:
            problems.append(f"matcher_words.{name}: must be single words separated by spaces, at least one")
            continue
        for word in sorted({w for w in words if not re.fullmatch(r"[a-z]+", w)}):
            problems.append(f"matcher_words.{name}: {word!r} must be one plain lowercase word")
        for word in sorted({w for w in words if words.count(w) > 1}):
            problems.append(f"matcher_words.{name}: {word!r} listed twice")
        lists[name] = frozenset(words)
    if len(problems) > before:
        return None
    # The clause-break token is never a phrase's own word, like the stop words.
    loaded = MatcherWords(**{**lists, "stop_words": lists["stop_words"] | {BOUNDARY}})
    return _ONE_PER_VALUE.setdefault(loaded, loaded)


def _problems(raw) -> tuple[list[str], list[RedFlag], dict, MatcherWords | None]:
    problems: list[str] = []
    flags: list[RedFlag] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("flags"), list):
        return ["the file needs a top-level 'flags:' list"], flags, {}, None
    matcher_words = _matcher_words(raw, problems)
    if matcher_words is None:
        return problems, flags, {}, None  # the phrases cannot be read without them
    words = _word_lists(raw, problems)
    used_lists: set[str] = set()
    seen: set[str] = set()
    phrase_owner: dict[tuple, str] = {}
    for n, entry in enumerate(raw["flags"], 1):
        if not isinstance(entry, dict):
            problems.append(f"entry {n}: must be a mapping with id, tier, label and phrases")
            continue
        flag_id = entry.get("id")
        where = f"{flag_id}" if isinstance(flag_id, str) and flag_id else f"entry {n}"
        if not isinstance(flag_id, str) or not re.fullmatch(r"t[123]_[a-z0-9_]+", flag_id or ""):
            problems.append(f"{where}: id must look like t1_name, t2_name or t3_name (got {flag_id!r})")
            continue
        if flag_id in seen:
            problems.append(f"{where}: id used twice")
            continue
        seen.add(flag_id)
        unknown = set(entry) - {"id", "tier", "label", "phrases", "ambiguous", "clarify_signs", "pain_only", "past",
                                "examples", *NOT_A_SIGN_KEYS}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        tier = entry.get("tier")
        if tier not in (1, 2, 3) or isinstance(tier, bool):
            problems.append(f"{where}: tier must be 1, 2 or 3 (got {tier!r})")
        elif int(flag_id[1]) != tier:
            problems.append(f"{where}: the id says tier {flag_id[1]} but tier is {tier}")
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}: needs a label in plain words")
        lists = {}
        for key in ("phrases", "ambiguous", "clarify_signs", "pain_only", "past", *NOT_A_SIGN_KEYS):
            value = entry.get(key, [] if key != "phrases" else None)
            if not isinstance(value, list) or (key == "phrases" and not value) or \
                    not all(isinstance(p, str) for p in value):
                problems.append(f"{where}: {key} must be a {'non-empty ' if key == 'phrases' else ''}list of strings")
                value = []
            clean = []
            for phrase in value:
                text = " ".join(phrase.split())
                try:
                    used_lists |= _compile(text, words, matcher_words)[1]
                except ValueError as exc:
                    problems.append(f"{where}: {key} {phrase!r}: {exc}")
                    continue
                if key == "past" or key in NOT_A_SIGN_KEYS:  # (not signs: they may repeat across flags)
                    clean.append(text)
                    continue
                owner = phrase_owner.get((key in ("clarify_signs", "pain_only"), text))
                if owner is not None:
                    problems.append(f"{where}: phrase {phrase!r} is " +
                                    ("listed twice" if owner == flag_id else f"also listed under {owner}"))
                    continue
                phrase_owner[(key in ("clarify_signs", "pain_only"), text)] = flag_id
                clean.append(text)
            lists[key] = tuple(clean)
        if not (bool(lists["ambiguous"]) == bool(lists["pain_only"]) == bool(lists["clarify_signs"])):
            problems.append(f"{where}: ambiguous phrases need clarify_signs and pain_only answers, and the "
                            f"other way round")
        if lists["ambiguous"] and tier != 1:
            problems.append(f"{where}: only a tier-1 flag asks a clarifying question")
        examples = _examples(entry, where, tier, problems)
        if tier in (1, 2, 3) and isinstance(label, str):
            flags.append(RedFlag(id=flag_id, tier=tier, label=label.strip(), examples=examples, **lists))
    for required in REQUIRED_IDS:
        if required not in seen:
            problems.append(f"{required}: missing (every tier-1 and tier-2 item of clinical.md needs an entry)")
    for name in sorted(set(words) - used_lists):
        problems.append(f"words.{name}: never used by a phrase")
    return problems, flags, words, matcher_words


MIN_EXAMPLES = 3  # a static embedding links words, not meanings: one phrasing alone catches only its own words


def _examples(entry: dict, where: str, tier, problems: list[str]) -> tuple:
    """A tier-1 or tier-2 flag's ``examples`` (none for tier 3)."""
    value = entry.get("examples", [])
    if tier not in (1, 2):
        if value:
            problems.append(f"{where}: only a tier-1 or tier-2 flag has examples (the second line asks only about those)")
        return ()
    return _sentences(value, f"{where}: examples", problems)


def _sentences(value, where: str, problems: list[str]) -> tuple:
    """At least MIN_EXAMPLES different plain sentences (a flag's ``examples``, the file's ``no_sign_examples``)."""
    if not isinstance(value, list) or not all(isinstance(e, str) and e.strip() for e in value):
        problems.append(f"{where} must be a list of sentences")
        return ()
    clean = [" ".join(e.split()) for e in value]
    for example in sorted({e for e in clean if clean.count(e) > 1}):
        problems.append(f"{where}: {example!r} listed twice")
    if len(set(clean)) < MIN_EXAMPLES:
        problems.append(f"{where}: at least {MIN_EXAMPLES} needed, in everyday words (the second line compares what is "
                        f"said with them)")
    return tuple(dict.fromkeys(clean))


def _read(path: Path):
    try:
        return read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise RedFlagError(f"{path.name}: cannot read: {exc}") from exc


def _refuse(path: Path, problems: list[str]) -> None:
    if problems:
        raise RedFlagError(f"{path.name}:\n  " + "\n  ".join(problems))


def load_red_flags(path: str | Path | None = None) -> RedFlags:
    """Read, validate and compile red_flags.yaml; raise RedFlagError listing every problem."""
    path = Path(path) if path is not None else RED_FLAGS_PATH
    raw = _read(path)
    problems, flags, words, matcher_words = _problems(raw)
    no_sign_examples = _sentences(raw.get("no_sign_examples") if isinstance(raw, dict) else None, "no_sign_examples",
                                  problems)
    _refuse(path, problems)
    return RedFlags(flags, words, matcher_words, no_sign_examples)


def load_matcher_words(path: str | Path | None = None) -> MatcherWords:
    """Only the ``matcher_words`` of red_flags.yaml (for the other phrase lists); raise RedFlagError naming
    every problem."""
    path = Path(path) if path is not None else RED_FLAGS_PATH
    problems: list[str] = []
    matcher_words = _matcher_words(_read(path), problems)
    _refuse(path, problems)
    return matcher_words


@functools.cache
def default_red_flags() -> RedFlags:
    """The shipped phrase list, loaded and compiled once per process."""
    return load_red_flags()
