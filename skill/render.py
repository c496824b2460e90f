"""Turns an engine plan into words: SSML for speech, plain text for cards.

Platform-neutral: the Alexa response builder, the simulator and the audio build all use it.
Prompt text is plain; this module escapes it, fills placeholders for the request's locale
(spoken numbers for speech, digits for cards) and adds the only markup we need: timed pauses.
It also reports which prompt keys each part used (``Rendered.keys``...), so tests can check what was
said by key and a reworded prompt breaks no test about meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Callable
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from skill.engine.content import Content
from skill.engine.plan import Breathing, ClockTime, Line, Plan

# Alexa rejects breaks longer than 10 s.
MAX_BREAK_SECONDS = 10


@dataclass(frozen=True)
class Rendered:
    speech: str  # SSML, <speak>…</speak>, "" when there is nothing to say
    reprompt: str | None
    card_title: str | None
    card_text: str | None
    end_session: bool
    # The prompt keys each part used, in the order said: a line's key, then the keys of the Lines and
    # prompts filling its placeholders (a time of day: clock.at). A breathing session adds each of its
    # keys once (breathing.first_in, breathing.first_out, breathing.in, breathing.out).
    keys: tuple[str, ...] = ()
    reprompt_keys: tuple[str, ...] = ()
    card_keys: tuple[str, ...] = ()


@dataclass
class LocalClock:
    """The device's time zone, looked up only if a time of day is said."""

    zone: Callable[[], tzinfo | None] = lambda: None


class Renderer:
    def __init__(self, content: Content):
        self.content = content

    def text(self, line: Line, locale: str | None, spoken: bool = True, clock: LocalClock | None = None,
             used: list[str] | None = None) -> str:
        """The words of one line, placeholders filled; nested Lines and prompt keys resolve too. The keys
        used are added to ``used``, if given."""
        prompts = self.content.prompts_for(locale)
        if used is not None:
            used.append(line.key)
        info = self.content.locale(locale)
        template = prompts.text(line.key)
        values = dict(info.spoken if spoken else info.written)
        for name, value in line.params.items():
            if isinstance(value, ClockTime) or isinstance(value, tuple) and value and isinstance(value[0], ClockTime):
                if "{" + name + "}" not in template:
                    continue  # not said: the device's time zone is not looked up for it
                moments = value if isinstance(value, tuple) else (value,)
                first = self.text(self.clock_line(moments[0], clock, locale), locale, spoken, used=used)
                # "at 12:40 PM, 2:40 PM and 4:40 PM": the later times without a second "at"
                later = [self.clock_line(m, clock, locale).params.get("time", "") for m in moments[1:]]
                value = self.joined([first, *later], locale)
            elif isinstance(value, Line):
                value = self.text(value, locale, spoken, clock, used)
            elif isinstance(value, str) and prompts.get(value) is not None:
                if used is not None:
                    used.append(value)
                value = prompts.get(value)
            values[name] = value
        return " ".join(template.format(**values).split())

    def joined(self, items: list[str], locale: str | None) -> str:
        """Several things in one sentence, in the prompts' words: "a", "a and b", "a, b and c"."""
        if len(items) == 1:
            return items[0]
        prompts = self.content.prompts_for(locale)
        if len(items) == 2:
            return prompts.text("lists.two").format(first=items[0], second=items[1])
        return prompts.text("lists.more").format(first=items[0], others=self.joined(items[1:], locale))

    def time_of_day(self, local: datetime, locale: str | None) -> str:
        """ "3:40 PM", "9 AM" on a 12-hour clock (the words around it from the prompts); "15:40" on a 24-hour one."""
        if self.content.locale(locale).clock_hours == 24:
            return f"{local.hour}:{local.minute:02d}"
        hour = local.hour % 12 or 12
        time = f"{hour}:{local.minute:02d}" if local.minute else str(hour)
        return self.content.prompts_for(locale).text("clock.am" if local.hour < 12 else "clock.pm").format(time=time)

    def clock_line(self, moment: ClockTime, clock: LocalClock | None, locale: str | None) -> Line:
        """ "at 3:40 PM" in the device's time zone; "in about 15 minutes" where that zone is unknown."""
        zone = clock.zone() if clock is not None else None
        if moment.with_day:
            return self.day_line(moment, zone, locale)
        if zone is not None:
            return Line("clock.at", {"time": self.time_of_day(moment.at.astimezone(zone), locale)})
        minutes = round((moment.at - moment.now).total_seconds() / 60)
        return Line("clock.in_minutes", {"n": minutes}) if minutes > 1 else Line("clock.in_a_minute")

    def day_line(self, moment: ClockTime, zone: tzinfo | None, locale: str | None) -> Line:
        """ "about 6 PM tomorrow" by the device's calendar (the day is what a person lives by: started at 6 PM,
        the next morning is still "until about 6 PM today"); "about 20 hours from now" where the zone is unknown."""
        if zone is None:
            hours = round((moment.at - moment.now).total_seconds() / 3600)
            return Line("clock.hours_from_now", {"n": hours}) if hours > 1 else Line("clock.an_hour_from_now")
        local, today = moment.at.astimezone(zone), moment.now.astimezone(zone).date()
        day = "clock.today" if local.date() <= today else "clock.tomorrow"
        return Line(day, {"time": self.time_of_day(local, locale)})

    def breathing_ssml(self, session: Breathing, locale: str | None, used: list[str] | None = None) -> str:
        def pause(seconds: float) -> str:
            return f'<break time="{min(seconds, MAX_BREAK_SECONDS):g}s"/>'

        parts = []
        for n in range(session.breaths):
            first = n == 0
            inhale = escape(self.text(Line("breathing.first_in" if first else "breathing.in"), locale))
            exhale = escape(self.text(Line("breathing.first_out" if first else "breathing.out"), locale))
            parts.append(f"{inhale} {pause(session.inhale_seconds)} {exhale} {pause(session.exhale_seconds)}")
            if used is not None and n < 2:  # each key once: the first breath's, then the others'
                used += ["breathing.first_in", "breathing.first_out"] if first else ["breathing.in", "breathing.out"]
        return " ".join(parts)

    def speech(self, lines, locale: str | None, clock: LocalClock | None = None,
               used: list[str] | None = None) -> str:
        parts = []
        for line in lines:
            if isinstance(line, Breathing):
                parts.append(self.breathing_ssml(line, locale, used))
            else:
                parts.append(escape(self.text(line, locale, clock=clock, used=used)))
        return " ".join(p for p in parts if p)

    def render(self, plan: Plan, locale: str | None, notices: tuple[Line, ...] = (),
               clock: LocalClock | None = None) -> Rendered:
        lines = list(plan.lines) + list(notices)
        if plan.question is not None:
            lines.append(plan.question)
        keys: list[str] = []
        reprompt_keys: list[str] = []
        card_keys: list[str] = []
        body = self.speech(lines, locale, clock, keys)
        speech = f"<speak>{body}</speak>" if body else ""
        reprompt = None
        if plan.reprompt is not None and not plan.end_session:
            reprompt = f"<speak>{escape(self.text(plan.reprompt, locale, clock=clock, used=reprompt_keys))}</speak>"
        card_title = card_text = None
        if plan.card is not None:
            card_title = self.text(plan.card.title, locale, spoken=False, used=card_keys)
            card_text = "\n".join(self.text(line, locale, spoken=False, clock=clock, used=card_keys)
                                  for line in plan.card.lines if isinstance(line, Line))
        return Rendered(speech=speech, reprompt=reprompt, card_title=card_title, card_text=card_text,
                        end_session=plan.end_session, keys=tuple(keys), reprompt_keys=tuple(reprompt_keys),
                        card_keys=tuple(card_keys))


def plain(ssml: str | None) -> str:
    """SSML as a person would hear it, written down: ``<speak>In. <break time="4s"/> Out.</speak>``
    -> ``In. [pause 4s] Out.``; audio clips as ``[audio <src>]``. A fragment without ``<speak>`` (as
    ``Renderer.text`` gives) reads the same. For transcripts, tests and the simulator."""
    if not ssml:
        return ""
    document = ssml if ssml.lstrip().startswith("<speak") else f"<speak>{ssml}</speak>"
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return f"[invalid SSML] {ssml}"
    parts: list[str] = []

    def walk(node):
        if node.tag == "break":
            parts.append(f" [pause {node.get('time') or node.get('strength') or ''}] ".replace(" ] ", "] "))
        elif node.tag == "audio":
            parts.append(f" [audio {node.get('src')}] ")
        elif node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(root)
    return " ".join("".join(parts).split())
