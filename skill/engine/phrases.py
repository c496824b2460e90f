"""Named phrase lists in red_flags.yaml's syntax, matched on the same normalised text with the same
negation rules (see ``skill/engine/triage.py``). The understanding and questions files use them.

A ``PhraseBook`` holds lists by name ("yes", "worse", "timer"); ``said(name, text)`` is true when one
of the list's phrases is in ``text`` and not negated, and ``mentioned`` ignores negation.
"""

from __future__ import annotations

import re

from skill.engine.triage import MatcherWords, _compile, prepared


class PhraseError(ValueError):
    """A phrase list is broken; the message names every bad phrase."""


class PhraseBook:
    def __init__(self, lists: dict[str, list[str]], words: dict, matcher_words: MatcherWords):
        self.words = {name: tuple(entries) for name, entries in words.items()}
        self.matcher_words = matcher_words
        self._lists: dict[str, list[re.Pattern]] = {}
        problems = []
        for name, phrases in lists.items():
            compiled = []
            for phrase in phrases or []:
                try:
                    body = _compile(" ".join(phrase.split()), self.words, matcher_words, short_words_only=True)[0]
                    compiled.append(re.compile(f"(?=({body}))"))
                except ValueError as exc:
                    problems.append(f"{name}: {phrase!r}: {exc}")
            self._lists[name] = compiled
        if problems:
            raise PhraseError("\n  ".join(problems))

    def _hits(self, name: str, text: str):
        """Whether each place a phrase of ``name`` is found is negated."""
        subject, starts, negators = prepared(text, self.matcher_words)
        for regex in self._lists.get(name, ()):
            for m in regex.finditer(subject):
                yield negators[starts[m.start()]] is not None

    def said(self, name: str, text: str) -> bool:
        return any(not negated for negated in self._hits(name, text))

    def mentioned(self, name: str, text: str) -> bool:
        return any(True for _ in self._hits(name, text))

    def first_said(self, names, text: str) -> str | None:
        """The first of ``names`` (in the order given) said in ``text``."""
        return next((name for name in names if self.said(name, text)), None)
