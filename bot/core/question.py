"""What a question asks: which assets, which way, by how much, when, and whether it asks why."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot.core.assets import AssetTable
from bot.core.lexical import STOPWORDS

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Whole month names or their abbreviations only: "decline 14%" is not 14 December.
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
# A year is a whole four-digit token: "Nov 4 10000" names no year (not the year 1000).
_YEAR = r"(?:,?\s+(\d{4})(?!\w))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# A claimed move is a plain number of at most four digits before the point ("14", "8.5",
# "8,5", "1,000"), never the tail of a longer token: "1e308%" and "12345%" claim nothing.
# Bounded repeats and the look-behind keep it linear on a long run of digits.
PERCENT = re.compile(
    r"(?<![\w.,])(\d,\d{3}|\d{1,4}(?:\.\d{1,6}|,\d{1,2})?)\s?(?:%|percent|per cent)",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"\b(why|whys|reason|caused?|causes|behind|explain|how come|drove|driving|trigger(?:ed)?|"
    r"catalyst|(?:what|wtf|wth) (?:happened|is happening|hit)|"
    r"what'?s (?:going on|the news|up with|pumping|dumping|driving|moving))\b",
    re.IGNORECASE,
)
# Which way a question says a price went, in plain words and in traders' slang.
DOWN_WORDS = re.compile(
    r"\b(fell|fall(?:s|ing|en)?|drop(?:s|ped|ping)?|dump(?:s|ed|ing)?|crash(?:ed|es|ing)?|"
    r"plunge[sd]?|plunging|slid(?:e|es|ing)?|sink(?:s|ing)?|sank|tank(?:s|ed|ing)?|declined?|"
    r"declining|lost|lose|losing|dip(?:s|ped|ping)?|down|tumbl(?:e[sd]?|ing)|sell-?off|"
    r"sold off|bleed(?:s|ing)?|bled|slump(?:s|ed|ing)?|depeg(?:s|ged)?|nuk(?:e[sd]?|ing)|"
    r"crater(?:s|ed|ing)?|rekt|wreck(?:ed)?|plummet(?:s|ed|ing)?|nosedived?|collaps(?:e[sd]?|ing)|"
    r"capitulat(?:e[sd]?|ing|ion)|slip(?:s|ped|ping)?|shed \d|bloodbath|puke[sd]?|red)\b",
    re.IGNORECASE,
)
UP_WORDS = re.compile(
    r"\b(rose|rise[sn]?|rising|pump(?:s|ed|ing)?|rall(?:y|ied|ies|ying)|surge[sd]?|surging|"
    r"jump(?:s|ed|ing)?|soar(?:s|ed|ing)?|up|gain(?:s|ed|ing)?|climb(?:s|ed|ing)?|spik(?:e[sd]?|ing)|"
    r"moon(?:s|ed|ing)?|record high|all-time high|ath|rebound(?:s|ed|ing)?|sending|"
    r"short squeeze[sd]?|rip(?:s|ped|ping)?|rocket(?:s|ed|ing)?|skyrocket(?:s|ed|ing)?|"
    r"explod(?:e[sd]?|ing)|breakout|broke out|green|melt-?up|parabolic|bounc(?:e[sd]?|ing))\b",
    re.IGNORECASE,
)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
# Days named against the clock: "today", "yesterday", "3 days ago", "last Friday", "on monday",
# "this week", "last week", "over the weekend".
_RELATIVE = re.compile(
    r"\b(?:(today|tonight|this (?:morning|afternoon|evening)|lately|right now)|"
    r"(yesterday|last night)|"
    r"(\d{1,2}|an?|one|two|three|four|five|six|seven) days? ago|"
    r"(?:(last|this|past|on)\s+)?(" + "|".join(_WEEKDAYS) + r")|"
    r"(this|past|last) week|(?:over )?(?:the|this|last|past) weekend)\b",
    re.IGNORECASE,
)


# Asking what to do: always a request for a call, whatever else the question says.
CALL = re.compile(
    r"\b(?:should (?:i|we|you)\s+(?:buy|sell|hold|short|long|ape|invest|get in|get out|dca)|"
    r"entry\b.{0,40}\b(?:tp|sl|target)\b|(?:give|send) me (?:an? )?(?:entry|signal|call)|"
    r"what (?:should|do) (?:i|we) (?:buy|sell|do))",
    re.IGNORECASE,
)
# Asking to be told of a move to come: that is a watch (/watch add), not a question.
WATCH_REQUEST = re.compile(
    r"\b(?:(?:alert|notify|ping|warn|dm|message|tell)\s+(?:me|us)\s+(?:when|if|once)|"
    r"let\s+(?:me|us)\s+know\s+(?:when|if|once)|set\s+(?:up\s+)?an?\s+(?:price\s+)?alert)\b",
    re.IGNORECASE,
)
# Asking for a level or a forecast: advice unless the question asks why something happened
# ("why did the price target get cut?" is an explanation of news).
ADVICE = re.compile(
    r"\b(?:(?:is|was) (?:it|now|this) (?:a )?(?:good|right|bad) (?:time|moment|entry) to|"
    r"(?:buy|sell|hold)\s+(?:or|vs\.?)\s+(?:buy|sell|hold)|"
    r"take[- ]profit|stop[- ]loss|price target|price prediction|predict|forecast|"
    r"where (?:will|is) \S+(?: \S+)? (?:go|going|head(?:ed|ing)?|be)\b|"
    r"will \S+(?: \S+)? (?:go up|go down|pump|dump|moon|recover|rebound|crash|reach|hit|bounce)|"
    r"worth (?:buying|selling|it)|good (?:buy|investment)|financial advice)",
    re.IGNORECASE,
)

# The subject of "why did X crash", "why is $X pumping", "X down 20% today, why?": a word that
# reads as a coin or a ticker (written in capitals, as a cashtag, or ending like a coin's name).
_WHY_DID = r"\b(?:why|how come)\s+(?:did|is|are|was|were|has|have|does)\s+(?:the\s+)?"
_WORD = r"(\$?[A-Za-z][A-Za-z0-9]{1,19})\b"
_SUBJECT = re.compile(rf"(?:{_WHY_DID}|^\s*){_WORD}", re.IGNORECASE)
# "why did link pump", "why is doge dumping": only the subject a "why" names.
_MOVE_SUBJECT = re.compile(_WHY_DID + _WORD, re.IGNORECASE)
_TICKER = re.compile(r"\(\$?([A-Z][A-Z0-9]{1,9})\)|(\$[A-Za-z][A-Za-z0-9]{1,9})\b")
_COIN_LIKE = re.compile(r"\$\w+|[A-Z][A-Z0-9]{1,19}|(?i:\w+(?:coin|token|swap|inu|chain|dao))")
# Capitals that are words, agencies or jargon, not assets.
_NOT_ASSETS = frozenset(
    "WHY HOW IS ARE DID WAS THE SEC ETF ETFS FED CPI PPI US USA UK EU AI NFT NFTS DEFI CEO IPO "
    "GDP FOMC TVL ATH OK LOL WTF IMO BTW FUD FOMO DCA ALL IT MY GM GN ELI5 WEN NGMI WAGMI "
    "HODL PSA TLDR ANY WHAT WHEN SO AND BUT PLS PLZ BRO SER".split()
)


@dataclass(frozen=True)
class MonthDay:
    month: int
    day: int
    year: int | None


@dataclass(frozen=True)
class Question:
    """A parsed question; `text` is what the user wrote."""

    text: str
    assets: tuple[str, ...]
    kind: Literal["why", "fact"]
    direction: Literal["down", "up"] | None
    claimed_pct: float | None
    dates: tuple[MonthDay, ...]
    asked_on: date | None = None  # the day it was asked: what "today" and a bare "4 Nov" mean
    # A coin-like subject the asset table does not know ("why did FLOOPCOIN crash?").
    unknown_asset: str | None = None
    advice: bool = False  # asks for a call, a level or a prediction, not an explanation
    watch_request: bool = False  # asks to be alerted of a move to come ("ping me if ETH...")
    # Answered as at a past moment (an alert's, a replay's): only news published strictly
    # before it may be retrieved or cited. An aware UTC datetime; None: all the news.
    news_before: datetime | None = None


_WHATS_UP = re.compile(r"\bwhat'?s\s+up\b|\bsup\b", re.IGNORECASE)


def said_direction(text: str) -> Literal["down", "up"] | None:
    """The way a text says a price went: its first word of either kind ("fell", "pump")."""
    down, up = DOWN_WORDS.search(text), UP_WORDS.search(text)
    if down and not (up and up.start() < down.start()):
        return "down"
    return "up" if up else None


def parse(
    text: str,
    assets: AssetTable,
    today: date | None = None,
    *,
    news_before: datetime | None = None,
) -> Question:
    """Parse a user's question; never raises on odd input. Relative days ("yesterday", "last
    Friday") are read against `today` (UTC today by default); `news_before` is carried as the
    question's cutoff (see Question.news_before)."""
    today = today or datetime.now(UTC).date()
    direction = said_direction(_WHATS_UP.sub(" ", text))  # "what's up with ETH?" claims no rise
    pct = PERCENT.search(text)
    kind: Literal["why", "fact"] = "why" if _WHY.search(text) else "fact"
    return Question(
        text=text,
        assets=assets.find(text) or _asked_about(text, assets, direction is not None),
        kind=kind,
        direction=direction,
        claimed_pct=percent_value(pct.group(1)) if pct else None,
        dates=_dates(text, today),
        asked_on=today,
        unknown_asset=_unknown_asset(text, assets, direction),
        advice=_asks_advice(text),
        watch_request=_asks_to_watch(text),
        news_before=news_before,
    )


# "and link?", "what about doge?": a follow-up swapping in one coin.
_SWAPPED = re.compile(
    r"\s*(?:and|what about|how about)\s+(\$?[A-Za-z][A-Za-z0-9]{1,19})\s*(?:[?!.,]|too\b|$)",
    re.IGNORECASE,
)


def _asked_about(text: str, assets: AssetTable, about_a_move: bool) -> tuple[str, ...]:
    """An asset named by a word that in prose is usually something else ("link", "doge",
    "ada"): the subject of a question about a move ("why did link pump?"), or the one coin
    of a short follow-up ("and doge?")."""
    subject = _MOVE_SUBJECT.search(text)
    if about_a_move and subject:
        symbol = assets.resolve(subject.group(1))
        if symbol:
            return (symbol,)
    swapped = _SWAPPED.match(without_dates(text))
    if swapped and len(text) <= 60:
        symbol = assets.resolve(swapped.group(1))
        if symbol:
            return (symbol,)
    return ()


# A move told in the past: a question about it, even when it says "tell me if" or "when".
_PAST_MOVE = re.compile(
    r"\b(?:fell|dropped|rose|jumped|crashed|dumped|pumped|tanked|surged|plunged|spiked|"
    r"slid|soared|sank|rallied|did|was|were|has|had)\b|\b(?:once more|again|news)\b",
    re.IGNORECASE,
)


def _asks_to_watch(text: str) -> bool:
    """"Ping me if ETH drops 5%": to be told of a move to come. Not a question about one that
    happened ("tell me if ETH fell 14% because of...", "why did ETH fall after...")."""
    return bool(WATCH_REQUEST.search(text)) and not (
        _WHY.search(text) or _PAST_MOVE.search(text)
    )


def _asks_advice(text: str) -> bool:
    """A request for a call (always) or for a target or forecast (unless the question asks
    why something happened, which is an explanation: "why is BTC down after the Fed's
    forecast?")."""
    if CALL.search(text):
        return True
    return bool(ADVICE.search(text)) and not _WHY.search(text)


def _unknown_asset(
    text: str, assets: AssetTable, direction: Literal["down", "up"] | None
) -> str | None:
    """The coin-like subject of a question about a move when the asset table does not know it
    (so the reply can name it instead of quoting another story)."""
    if direction is None:
        # Written as a ticker ("the flarnix (FLRX) ETF", "$FLRX"), a name is an asset's
        # whatever the question asks.
        for pair in _TICKER.findall(text):
            word = "".join(pair).lstrip("$")
            if word.upper() not in _NOT_ASSETS and not assets.resolve(word):
                return word
        return None
    match = _SUBJECT.search(text)
    if match is None:
        return None
    word = match.group(1)
    if not _COIN_LIKE.fullmatch(word) or word.lstrip("$").upper() in _NOT_ASSETS:
        return None
    if assets.find(word) or assets.resolve(word.lstrip("$")):
        return None
    return word.lstrip("$")


def percent_value(number: str) -> float:
    """ "14", "8.5", "8,5" (decimal comma), "1,000" (thousands separator)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", number):
        return float(number.replace(",", ""))
    return float(number.replace(",", "."))


def _dates(text: str, today: date) -> tuple[MonthDay, ...]:
    found: list[MonthDay] = []
    for match in _ISO_DATE.finditer(text):
        found.append(MonthDay(int(match.group(2)), int(match.group(3)), int(match.group(1))))
    for match in _MONTH_DAY.finditer(text):
        found.append(_month_day(match.group(1), match.group(2), match.group(3)))
    for match in _DAY_MONTH.finditer(text):
        found.append(_month_day(match.group(2), match.group(1), match.group(3)))
    for match in _RELATIVE.finditer(text):  # after the calendar dates: "Nov 4" says more
        day = relative_day(match, today)
        found.append(MonthDay(day.month, day.day, day.year))
    return tuple(d for d in found if 1 <= d.month <= 12 and 1 <= d.day <= 31)


def relative_day(match: re.Match[str], today: date) -> date:
    """The day a `_RELATIVE` match names: the most recent such day (a weekday named with
    "last" is before today; "this week" is today, "last week" a week ago)."""
    same_day, day_before, days_ago, which, weekday, week = match.groups()[:6]
    if same_day:
        return today
    if day_before:
        return today - timedelta(days=1)
    if days_ago:
        count = int(days_ago) if days_ago.isdigit() else _NUMBERS.get(days_ago.lower(), 1)
        return today - timedelta(days=count)
    if weekday:
        back = (today.weekday() - _WEEKDAYS.index(weekday.lower())) % 7
        if back == 0 and (which or "").lower() == "last":
            back = 7
        return today - timedelta(days=back)
    if week:
        return today - timedelta(days=7 if week.lower() == "last" else 0)
    # The weekend: its Saturday, the most recent one (last weekend's when it is Saturday).
    back = (today.weekday() - 5) % 7
    if back == 0 and "last" in match.group(0).lower():
        back = 7
    return today - timedelta(days=back)


def without_dates(text: str) -> str:
    """The text with the dates `parse` recognises removed, so "Sept" is not read as a topic."""
    for pattern in (_RELATIVE, _ISO_DATE, _MONTH_DAY, _DAY_MONTH):
        text = pattern.sub(" ", text)
    return text


# "the day after", "the week before", "next day", "a week later": a follow-up moving the
# earlier question's day.
_SHIFT = re.compile(
    r"\b(?:(?:the|a|one)\s+)?(day|week)\s+(after|before|later|earlier)\b|"
    r"\b(next|following|previous|prior)\s+(day|week)\b",
    re.IGNORECASE,
)
_WEEK_WINDOW = re.compile(r"\b(?:this|last|past|the) week\b|\bweekly\b", re.IGNORECASE)


def follow_up(
    text: str,
    earlier: str,
    assets: AssetTable,
    today: date | None = None,
    corpus_dates: list[date] | None = None,
) -> str:
    """A reply to an earlier answer made self-contained: the assets, the day and the window
    (a day, or a week) it leaves out are the earlier question's, shown in brackets ("and
    SOL? (4 Nov)"); "the day after" or "the week before" move that day ("and the day after?
    (ETH, 5 Nov)"). The earlier question's relative days are read against `today`, a date
    without a year against `corpus_dates` (see resolve_date)."""
    today = today or datetime.now(UTC).date()
    now, before = parse(text, assets, today), parse(earlier, assets, today)
    carried: list[str] = []
    if not now.assets:
        carried += before.assets
    short = len(text.split()) <= 8
    if short and not now.assets and not before.assets and not bare_follow_up(text, assets):
        # No asset either side ("how long did do kwon get?" then "what were prosecutors
        # asking for?"): the earlier question's own topic words say what it is about.
        own = {w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", without_dates(text))}
        topic = [
            w
            for w in re.findall(r"[A-Za-z][\w'-]*", without_dates(earlier))
            if w.lower() not in STOPWORDS
            and w.lower() not in _TOPIC_FILLER
            and w.lower() not in own
            and len(w) > 2
        ]
        carried += list(dict.fromkeys(topic))[:3]
    if not now.dates and before.dates:
        first = before.dates[0]
        day = resolve_date(first, corpus_dates or [], today)
        shift = _SHIFT.search(text)
        if day is not None:
            if shift:
                unit = (shift.group(1) or shift.group(4)).lower()
                way = (shift.group(2) or shift.group(3)).lower()
                sign = 1 if way in ("after", "later", "next", "following") else -1
                with suppress(OverflowError):  # "the day after" 31 Dec 9999: not moved
                    day += timedelta(days=sign * (7 if unit == "week" else 1))
            # The year only when the earlier question had one (or it was "yesterday").
            shown = f"{day:%-d %b %Y}" if first.year or day.year != today.year else f"{day:%-d %b}"
            week = _WEEK_WINDOW.search(earlier) and not _WEEK_WINDOW.search(text)
            carried.append(f"the week to {shown}" if week else shown)
    return f"{text} ({', '.join(dict.fromkeys(carried))})" if carried else text


_FILLER = frozenset(
    "and what about how so ok okay then the a an on of for with also too same now same here "
    "there that this it day week after before later earlier next following previous prior one "
    "hmm um well plus vs versus compared thing things happened happen as".split()
)


# Question words that are no topic of their own.
_TOPIC_FILLER = frozenset(
    "how long much many get got why whys happened happen happening wtf did does like really "
    "anyone know tell explain said say says".split()
)


def bare_follow_up(text: str, assets: AssetTable) -> bool:
    """Whether a follow-up only swaps the asset or the day ("and SOL?", "what about the day
    after?"): it then asks what the earlier question asked, about them."""
    words = re.findall(r"[a-z0-9$]+", without_dates(text).lower())
    return all(w in _FILLER or assets.resolve(w.lstrip("$")) for w in words)


def _month_day(month: str, day: str, year: str | None) -> MonthDay:
    return MonthDay(_MONTHS[month[:3].lower()], int(day), int(year) if year else None)


def resolve_date(
    when: MonthDay, corpus_dates: list[date], today: date | None = None
) -> date | None:
    """The calendar date meant: a missing year is the one whose news clusters nearest that day."""
    try:
        if when.year:
            return date(when.year, when.month, when.day)
        today = today or datetime.now(UTC).date()
        years = sorted({d.year for d in corpus_dates} | {today.year}, reverse=True)
        best: tuple[int, date] | None = None
        for year in years:
            candidate = date(year, when.month, when.day)
            if candidate > today:
                continue
            near = sum(1 for d in corpus_dates if abs((d - candidate).days) <= 7)
            if best is None or near > best[0]:
                best = (near, candidate)
        return best[1] if best else None
    except ValueError:  # 31 Feb and friends
        return None
