"""CloudWatch Logs' regular expressions, matched in time linear in the text.

CloudWatch accepts a small regex dialect in ``%...%`` values: characters, ``.``, classes
``[a-z]``, ``\\d \\w \\s`` and their negations, escapes, the quantifiers ``? * + {m} {m,} {m,n}``,
``|`` between whole alternatives, ``^`` at the start and ``$`` at the end of an alternative. It
has no groups (``(`` is refused), hence no backreferences or lookaround. Python's :mod:`re`
backtracks, so ``%(a*)*b%``-style values could hang a scan; this module compiles the dialect
to a position automaton and runs every alternative in lock-step (Thompson's construction), so
matching costs O(len(text) * size of the regex), never more. The automaton's size is capped
(:data:`MAX_REGEX_STATES`) so that cost stays bounded too.

Every rejection is a :class:`RegexError` with the offset into the regex source, which the
parser turns into a positioned syntax error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_REGEX_STATES = 2_000
MAX_REPEAT = 1_000

CharTest = Callable[[str], bool]


class RegexError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _space(ch: str) -> bool:
    return ch in " \t\n\r\f\v"


_CLASS_ESCAPES: dict[str, CharTest] = {
    "d": _digit,
    "w": _word,
    "s": _space,
    "D": lambda ch: not _digit(ch),
    "W": lambda ch: not _word(ch),
    "S": lambda ch: not _space(ch),
}
_CONTROL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


@dataclass(frozen=True, slots=True)
class _Slot:
    """One character position of an alternative; ``repeat`` stays in place (``x*``)."""

    test: CharTest
    optional: bool
    repeat: bool


@dataclass(frozen=True, slots=True)
class _Alternative:
    slots: tuple[_Slot, ...]
    anchored_start: bool
    anchored_end: bool


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.source)

    def next(self) -> str:
        ch = self.source[self.pos]
        self.pos += 1
        return ch

    def escape(self) -> CharTest | str:
        """After a backslash: a class test, or the literal character it stands for."""
        if not self.more():
            raise RegexError("a '\\' must be followed by a character", self.pos - 1)
        ch = self.next()
        if ch in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[ch]
        if ch in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[ch]
        if ch.isalnum():
            raise RegexError(f"unsupported escape '\\{ch}'", self.pos - 2)
        return ch

    def char_class(self) -> CharTest:
        start = self.pos - 1
        negate = self.more() and self.source[self.pos] == "^"
        if negate:
            self.pos += 1
        tests: list[CharTest] = []
        chars: set[str] = set()
        ranges: list[tuple[str, str]] = []
        first = True
        while True:
            if not self.more():
                raise RegexError("unterminated character class '['", start)
            ch = self.next()
            if ch == "]" and not first:
                break
            first = False
            item: CharTest | str = self.escape() if ch == "\\" else ch
            if not isinstance(item, str):
                tests.append(item)
                continue
            if (
                self.pos + 1 < len(self.source)
                and self.source[self.pos] == "-"
                and (self.source[self.pos + 1] != "]")
            ):
                self.pos += 1
                high_ch = self.next()
                high = self.escape() if high_ch == "\\" else high_ch
                if not isinstance(high, str) or high < item:
                    raise RegexError(f"bad character range {item}-{high_ch}", self.pos - 3)
                ranges.append((item, high))
            else:
                chars.add(item)
        frozen_chars = frozenset(chars)
        frozen_ranges = tuple(ranges)
        frozen_tests = tuple(tests)

        def test(c: str) -> bool:
            hit = (
                c in frozen_chars
                or any(lo <= c <= hi for lo, hi in frozen_ranges)
                or any(t(c) for t in frozen_tests)
            )
            return hit != negate

        return test


def _literal(ch: str) -> CharTest:
    return ch.__eq__


def _any(ch: str) -> bool:
    return ch != "\n"


def _quantifier(r: _Reader) -> tuple[int, int | None] | None:
    """``(min, max)`` of a quantifier at the reader, consuming it; ``None`` if there is none."""
    if not r.more():
        return None
    ch = r.source[r.pos]
    simple = {"?": (0, 1), "*": (0, None), "+": (1, None)}
    if ch in simple:
        r.pos += 1
        return simple[ch]
    if ch != "{":
        return None
    close = r.source.find("}", r.pos)
    body = r.source[r.pos + 1 : close] if close >= 0 else ""
    low_text, comma, high_text = body.partition(",")
    if (
        close < 0
        or not (low_text.isascii() and low_text.isdigit())
        or (high_text and not (high_text.isascii() and high_text.isdigit()))
    ):
        raise RegexError("expected a repetition such as {2}, {2,} or {2,5} after '{'", r.pos)
    if len(low_text) > 4 or len(high_text) > 4:
        raise RegexError(f"repetition counts are limited to {MAX_REPEAT}", r.pos)
    low = int(low_text)
    high = low if not comma else (int(high_text) if high_text else None)
    if max(low, high or 0) > MAX_REPEAT:
        raise RegexError(f"repetition counts are limited to {MAX_REPEAT}", r.pos)
    if high is not None and high < low:
        raise RegexError(f"repetition {{{body}}} has its maximum below its minimum", r.pos)
    r.pos = close + 1
    return low, high


def _alternative(r: _Reader, budget: list[int]) -> _Alternative:
    anchored_start = r.more() and r.source[r.pos] == "^"
    if anchored_start:
        r.pos += 1
    slots: list[_Slot] = []
    anchored_end = False
    while r.more() and r.source[r.pos] != "|":
        at = r.pos
        ch = r.next()
        if anchored_end:
            raise RegexError("'$' may only end an alternative", at - 1)
        test: CharTest
        if ch == "$":
            anchored_end = True
            continue
        if ch in "()":
            raise RegexError("CloudWatch Logs regular expressions have no groups '( )'", at)
        if ch in "?*+{":
            raise RegexError(f"nothing to repeat before '{ch}'", at)
        if ch == "^":
            raise RegexError("'^' may only start an alternative", at)
        if ch == "[":
            test = r.char_class()
        elif ch == "\\":
            item = r.escape()
            test = _literal(item) if isinstance(item, str) else item
        elif ch == ".":
            test = _any
        else:
            test = _literal(ch)
        quant = _quantifier(r)
        if quant is not None and r.more() and r.source[r.pos] in "?*+{":
            raise RegexError("a quantifier cannot follow another quantifier", r.pos)
        low, high = quant or (1, 1)
        count = low + (1 if high is None else high - low)
        budget[0] -= count
        if budget[0] < 0:
            raise RegexError(
                f"the regular expression is too large (over {MAX_REGEX_STATES} positions)", at
            )
        slots.extend(_Slot(test, optional=False, repeat=False) for _ in range(low))
        if high is None:
            slots.append(_Slot(test, optional=True, repeat=True))
        else:
            slots.extend(_Slot(test, optional=True, repeat=False) for _ in range(high - low))
    return _Alternative(tuple(slots), anchored_start, anchored_end)


class Regex:
    """A compiled CloudWatch regex; :meth:`search` says whether it occurs in a text.

    Bit-parallel simulation of the position automaton: bit ``i`` of the state says "the slots
    before position ``i`` of some alternative have been matched". One step is a handful of
    big-integer operations whatever the regex, so a search is linear in the text.
    """

    def __init__(self, source: str, alternatives: tuple[_Alternative, ...]) -> None:
        self.source = source
        self.slots: list[_Slot | None] = []  # None marks an alternative's accepting position
        start_all = start_floating = accept_any = accept_end = optional = 0
        for alt in alternatives:
            base = len(self.slots)
            start_all |= 1 << base
            if not alt.anchored_start:
                start_floating |= 1 << base
            self.slots.extend(alt.slots)
            final = 1 << len(self.slots)
            if alt.anchored_end:
                accept_end |= final
            else:
                accept_any |= final
            self.slots.append(None)
        for i, slot in enumerate(self.slots):
            if slot is not None and slot.optional:
                optional |= 1 << i
        self._optional = optional
        self._start = self._closure(start_all)
        self._floating = self._closure(start_floating)
        self._accept_any = accept_any
        self._accept_end = accept_end
        self._masks: dict[str, tuple[int, int]] = {}

    def _closure(self, state: int) -> int:
        """Follow skips over optional slots: adding the seeds to the runs of optional positions
        carries each seed to the end of its run; the bits that changed are those reached."""
        runs = self._optional
        return state | ((runs + (state & runs)) ^ runs)

    def _masks_for(self, ch: str) -> tuple[int, int]:
        """Positions whose slot accepts ``ch`` and moves on, and those that stay (``x*``)."""
        masks = self._masks.get(ch)
        if masks is None:
            advance = stay = 0
            for i, slot in enumerate(self.slots):
                if slot is not None and slot.test(ch):
                    if slot.repeat:
                        stay |= 1 << i
                    else:
                        advance |= 1 << i
            masks = (advance, stay)
            if len(self._masks) >= 4096:
                self._masks.clear()
            self._masks[ch] = masks
        return masks

    def search(self, text: str) -> bool:
        state = self._start
        accept_any, floating = self._accept_any, self._floating
        for ch in text:
            if state & accept_any:
                return True
            advance, stay = self._masks_for(ch)
            state = self._closure(((state & advance) << 1) | (state & stay) | floating)
        return bool(state & (accept_any | self._accept_end))


@lru_cache(maxsize=1024)
def compile_regex(source: str) -> Regex:
    """Compile a CloudWatch regex; raise :class:`RegexError` for anything outside the dialect."""
    r = _Reader(source)
    budget = [MAX_REGEX_STATES]
    alternatives = [_alternative(r, budget)]
    while r.more():
        r.pos += 1  # the '|'
        alternatives.append(_alternative(r, budget))
    return Regex(source, tuple(alternatives))


def regex_search(source: str, text: str) -> bool:
    return compile_regex(source).search(text)
