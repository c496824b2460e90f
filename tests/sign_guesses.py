"""A stand-in for the second line (skill/engine/second_line.py's ``SecondLine``): fixed guesses for fixed words, so
the engine's confirming questions are tested without the sentence model and whatever its figures are today."""

from __future__ import annotations

from dataclasses import dataclass

from skill.engine.triage import matching_form


@dataclass(frozen=True)
class Guess:
    """What ``SecondLine.guess`` returns (its ``SignGuess``): the sign, its tier, how close the words were."""

    flag_id: str
    tier: int
    similarity: float = 0.9


class FixedGuesses:
    """Guesses ``flag`` for words that read as one of ``guesses``' keys; nothing for any other words. Counts the
    words it was asked about (``asked``), to show when the engine does not ask."""

    ready = True

    def __init__(self, guesses: dict[str, str]):
        self.guesses = {matching_form(words): flag for words, flag in guesses.items()}
        self.asked: list[str] = []

    def guess(self, text: str) -> Guess | None:
        self.asked.append(text)
        flag = self.guesses.get(matching_form(text))
        return Guess(flag, int(flag[1])) if flag else None
