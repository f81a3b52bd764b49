"""Generated answers: a chat model through LangChain, kept honest by the grounding guard.

The extractive answer is always composed first: it is cheap, and it is the fallback. With a
model configured (MARKETBOT_LLM), the retrieved passages are numbered by article and fenced as
untrusted data, with the sentences that address a model withheld, and sent with the market
figures through the prompts in prompts/. The guard (bot/core/guard.py) then checks every
sentence against what it cites. An answer that lost sentences is regenerated once; if nothing
cited survives, or the model fails or the day's budget is spent, the extractive answer is shown
with a note. `Answer.path` says which answer was shown and `Answer.generation` what happened.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.core.budget import CallBudget
from bot.core.documents import Answer, Article, Citation, Figure, Passage
from bot.core.guard import MARKER, Guarded, guard, markers_inside
from bot.core.injection import is_instruction
from bot.core.lexical import terms
from bot.core.text import sentences
from bot.errors import UserError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.market.premise import Premise

log = logging.getLogger(__name__)

MAX_SOURCES = 6  # articles given to the model
SOURCE_CHARS = 2000  # of each article's text, about 500 tokens
BACKOFF = 0.5  # seconds before the first retry; doubled for each next one

NOTES = {
    "outage": "The language model did not answer, so this answer quotes the sources directly.",
    "budget": "Today's budget of generated answers here is used up, so this answer quotes "
    "the sources directly.",
    "guard": "The generated answer did not hold up against the sources, so this answer quotes "
    "them directly.",
}
_FENCE = re.compile(r"<(/?)(passage)", re.IGNORECASE)


class BudgetSpent(Exception):
    """No model calls are left today for this place."""


@dataclass(frozen=True)
class Source:
    """One numbered article as the model sees it."""

    n: int
    article: Article
    text: str  # its retrieved text, without the sentences that address a model
    withheld: int  # how many such sentences were left out

    def fenced(self) -> str:
        """The passage between tags that label it as data; the text cannot close the tag."""
        attributes = {
            "n": str(self.n),
            "title": self.article.title,
            "outlet": self.article.outlet or "unknown",
            "published": _day(self.article) or "unknown",
        }
        if self.article.flags or self.withheld:
            attributes["warning"] = (
                f"flagged at ingestion ({', '.join(self.article.flags) or 'instructions'}); "
                f"{self.withheld} sentences addressing a model were withheld"
            )
        head = " ".join(f'{k}="{_attribute(v)}"' for k, v in attributes.items())
        body = _FENCE.sub(r"‹\1\2", self.text)
        return f"<passage {head}>\n{body}\n</passage>"

    def support(self) -> str:
        """What a sentence citing this passage may draw on: its text, title, outlet, date (in
        the forms an answer may write it) and the tickers of the assets it is about."""
        day = self.article.published_at
        dates = f"{day:%-d %b %Y} {day:%-d %B %Y} {day:%B %-d}" if day else ""
        tickers = " ".join(self.article.assets)  # "ETH" is what "Ether" means
        return f"{self.article.title}. {self.article.outlet or ''} {dates} {tickers}. {self.text}"


def number_sources(passages: Sequence[Passage]) -> list[Source]:
    """The passages grouped by article in rank order, numbered from 1. Of each article, the
    chunks that ranked come first, then its other chunks, up to SOURCE_CHARS; they are given
    in reading order, with the sentences that address a model withheld."""
    chunks: dict[str, list[tuple[int, str]]] = {}
    articles: dict[str, Article] = {}
    for passage in passages:  # best first: the ranked passages, then their articles' context
        if passage.article.id not in articles and len(articles) == MAX_SOURCES:
            continue
        articles.setdefault(passage.article.id, passage.article)
        taken = chunks.setdefault(passage.article.id, [])
        chunk = (passage.chunk.index, passage.chunk.text)
        if chunk not in taken and sum(len(t) for _, t in taken) < SOURCE_CHARS:
            taken.append(chunk)
    sources = []
    for n, (article_id, article) in enumerate(articles.items(), 1):
        seen: set[str] = set()
        kept: list[str] = []
        withheld = 0
        for _, text in sorted(chunks[article_id]):
            for sentence in sentences(text):
                if sentence in seen:
                    continue  # chunks overlap
                seen.add(sentence)
                if is_instruction(sentence):
                    withheld += 1
                else:
                    kept.append(sentence)
        sources.append(Source(n, article, " ".join(kept), withheld))
    return sources


def for_model(passages: Sequence[Passage], extractive: Answer) -> list[Passage]:
    """The passages in the order they should reach the model: first the chunks holding the
    sentences the extractive answer quotes (the best evidence found), then the rest."""
    quotes = [q[:120] for c in extractive.citations for q in c.quote.split(" … ") if q]
    quoted = [p for p in passages if any(q in p.chunk.text for q in quotes)]
    return quoted + [p for p in passages if p not in quoted]


def figures_text(figures: Sequence[Figure], premise: Premise | None) -> str:
    """The market figures as lines the model reads and the guard checks numbers against."""
    lines = [f"- {f.label}: {f.text}" for f in figures if f.text]
    if premise:
        for window in premise.windows:
            lines.append(f"- {premise.asset} {window.label}: {round(window.pct, 2):+.1f}%")
    return "\n".join(lines)


def renumber(text: str) -> tuple[str, list[int]]:
    """Markers renumbered 1, 2, ... in order of first use; and the old numbers in that order."""
    order: list[int] = []
    for found in MARKER.findall(text):
        if int(found) not in order:
            order.append(int(found))
    new = {old: i for i, old in enumerate(order, 1)}
    return MARKER.sub(lambda m: f"[{new[int(m.group(1))]}]", text), order


def chat_model(settings: Settings) -> BaseChatModel:
    """The configured model through LangChain's init_chat_model (imported only then).

    With a base URL, a model name LangChain cannot place ("llama3.1:8b", "qwen2.5") is served
    by an OpenAI-compatible server, and such a server needs no key: the openai client still
    wants one, so a placeholder stands in when neither MARKETBOT_LLM_API_KEY nor the
    provider's own variable (OPENAI_API_KEY) gives one."""
    from langchain.chat_models import init_chat_model

    assert settings.llm is not None
    kwargs: dict[str, Any] = {"temperature": 0, "timeout": settings.llm_timeout, "max_retries": 0}
    if settings.llm_api_key is not None:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    if not settings.llm_base_url:
        return init_chat_model(settings.llm, **kwargs)
    kwargs["base_url"] = settings.llm_base_url
    for _ in range(3):
        try:
            return init_chat_model(settings.llm, **kwargs)
        except ValueError as error:
            if "infer model provider" not in str(error) or "model_provider" in kwargs:
                raise
            kwargs["model_provider"] = "openai"  # a name only the server knows
        except Exception as error:
            # The openai client insists on a key that a local server does not need.
            if not type(error).__module__.startswith("openai") or "api_key" in kwargs:
                raise
            kwargs["api_key"] = "unused"
    return init_chat_model(settings.llm, **kwargs)


class Generator:
    """Writes an answer with the chat model, guards it, regenerates once, or falls back."""

    def __init__(
        self,
        settings: Settings,
        budget: CallBudget,
        model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.llm or "model"
        self.budget = budget
        folder = settings.prompts_dir
        system = SystemMessage((folder / "system.txt").read_text(encoding="utf-8"))
        answer = _template(folder / "llm_answer.txt")
        self.prompt = ChatPromptTemplate.from_messages([system, ("human", answer)])
        self.retry_prompt = ChatPromptTemplate.from_messages(
            [
                system,
                ("human", answer),
                ("ai", "{previous}"),
                ("human", _template(folder / "llm_retry.txt")),
            ]
        )
        if model is None:
            try:
                model = chat_model(settings)
            except Exception as error:  # a name, a provider package or a key that is wrong
                raise UserError(
                    f"MARKETBOT_LLM={settings.llm}: the chat model cannot be set up "
                    f"({_redacted(str(error), settings)})"
                ) from None
        self.model = model

    def compose(
        self,
        extractive: Answer,
        passages: Sequence[Passage],
        figures: str,
        place: str,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """The guarded generated answer, or `extractive` with a note saying why not.
        `on_text` receives the answer as it is written, guarded sentence by sentence."""
        sources = number_sources(for_model(passages, extractive))
        support = {s.n: s.support() for s in sources}
        window = extractive.window
        values = {
            "question": extractive.question,
            # The move the extractive answer leads with: the model explains the same one.
            "lead": extractive.lead or "(none: no price data for this question)",
            "window": (
                f"{window['label']}, {window['start']} to {window['end']}"
                if window
                else "the move the passages report"
            ),
            "figures": figures or "(none)",
            "passages": "\n\n".join(s.fenced() for s in sources),
        }
        record: dict[str, Any] = {
            "model": self.name,
            "calls": 0,
            "regenerated": False,
            "removed": [],
            "fallback": None,
        }
        progress = _GuardedProgress(support, figures, on_text) if on_text else None
        try:
            text = self._generate(self.prompt, values, place, record, progress)
            chosen = self._check(text, support, figures, record, attempt=1)
            if chosen.removed:
                chosen = self._regenerate(chosen, text, values, support, figures, place, record)
        except BudgetSpent:
            return self._fallback(extractive, record, "budget")
        except Exception as error:  # any provider's failure: the answer must still come
            record["error"] = self._describe(error)
            log.warning("model call failed: %s", record["error"])
            return self._fallback(extractive, record, "outage")
        if not chosen.usable:
            return self._fallback(extractive, record, "guard")
        shown, order = renumber(chosen.text)
        by_number = {s.n: s for s in sources}
        citations = tuple(
            _citation(i, by_number[old], _citing(chosen.text, old))
            for i, old in enumerate(order, 1)
        )
        # The model's sentences replace the quotes: the extractive causes no longer match.
        return replace(
            extractive,
            answer=shown,
            citations=citations,
            causes=(),
            path="generated",
            generation=record,
        )

    def _regenerate(
        self,
        first: Guarded,
        text: str,
        values: dict[str, str],
        support: dict[int, str],
        figures: str,
        place: str,
        record: dict[str, Any],
    ) -> Guarded:
        """One more try, told what was removed; the better of the two guarded answers."""
        problems = "\n".join(f"- {r.sentence} ({r.reason})" for r in first.removed)
        try:
            again = self._generate(
                self.retry_prompt, {**values, "previous": text, "problems": problems}, place, record
            )
        except BudgetSpent:
            record["regeneration_error"] = "the daily budget of model calls is spent"
            return first
        except Exception as error:
            record["regeneration_error"] = self._describe(error)
            log.warning("model call failed on regeneration: %s", record["regeneration_error"])
            return first
        record["regenerated"] = True
        second = self._check(again, support, figures, record, attempt=2)
        if second.usable and (len(second.removed) <= len(first.removed) or not first.usable):
            return second
        return first

    def _check(
        self, text: str, support: dict[int, str], figures: str, record: dict[str, Any], attempt: int
    ) -> Guarded:
        guarded = guard(text, support, figures)
        record["removed"] += [
            {"attempt": attempt, "sentence": r.sentence, "reason": r.reason}
            for r in guarded.removed
        ]
        return guarded

    def _generate(
        self,
        prompt: ChatPromptTemplate,
        values: dict[str, str],
        place: str,
        record: dict[str, Any],
        progress: _GuardedProgress | None = None,
    ) -> str:
        """One answer from the model: retried with back-off while nothing was streamed and the
        failure may pass (no reply, a timeout, HTTP 429 or 5xx); each try costs budget."""
        chain = prompt | self.model | StrOutputParser()
        streamed = False  # a failure after text was shown is not retried: it would show twice

        def may_pass(error: BaseException) -> bool:
            return not streamed and _transient(error)

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.llm_retries + 1),
            wait=wait_exponential(multiplier=BACKOFF, min=BACKOFF),
            retry=retry_if_exception(may_pass),
            before_sleep=lambda state: log.info(
                "model call failed (%s), retrying",
                type(state.outcome.exception()).__name__ if state.outcome else "?",
            ),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                if not self.budget.take(place):
                    raise BudgetSpent
                record["calls"] += 1
                started = time.monotonic()
                if progress is None:
                    return str(chain.invoke(values))
                pieces: list[str] = []
                for piece in chain.stream(values):
                    pieces.append(piece)
                    streamed = True
                    progress.feed("".join(pieces))
                    if time.monotonic() - started > self.settings.llm_timeout:
                        raise TimeoutError(
                            f"the answer took over {self.settings.llm_timeout:g} s to stream"
                        )
                return "".join(pieces)
        raise AssertionError("unreachable")

    def _describe(self, error: BaseException) -> str:
        """The error for the JSON and the log: its type and message, never the key."""
        return _redacted(f"{type(error).__name__}: {error}", self.settings)[:300]

    def _fallback(self, extractive: Answer, record: dict[str, Any], why: str) -> Answer:
        record["fallback"] = why
        return replace(extractive, path="fallback", generation=record, note=NOTES[why])


class _GuardedProgress:
    """Turns the growing model output into what may be shown so far: each finished sentence
    is guarded before it appears, so no unchecked sentence is ever displayed."""

    def __init__(self, support: dict[int, str], figures: str, show: Callable[[str], None]) -> None:
        self.support, self.figures = support, figures
        self.show: Callable[[str], None] | None = show
        self.done = 0
        self.kept: list[str] = []

    def feed(self, text: str) -> None:
        if _MARKER_COMING.search(text):
            return  # "... hack. [1" : the sentence's marker is still arriving
        finished = sentences(markers_inside(text))[:-1]  # the last one may still be growing
        if len(finished) <= self.done:
            return
        for sentence in finished[self.done :]:
            checked = guard(sentence, self.support, self.figures)
            if checked.text:
                self.kept.append(checked.text)
        self.done = len(finished)
        if self.kept and self.show is not None:
            try:
                self.show(renumber(" ".join(self.kept))[0])
            except Exception:  # showing progress must never cost the answer
                log.warning("showing the answer being written failed", exc_info=True)
                self.show = None


_MARKER_COMING = re.compile(r"[.!?]\s*(?:\[\d*\]?\s*)+$")


# Providers' errors for a call that got no answer (their SDKs' names; httpx's underneath).
_NO_ANSWER = frozenset(
    {"APIConnectionError", "APITimeoutError", "TransportError", "TimeoutException"}
)


def _transient(error: BaseException) -> bool:
    """A failure worth retrying: the call got no answer (a timeout, a refused or dropped
    connection), or HTTP 429 or 5xx. Anything else (a 400, a bug such as a KeyError, a spent
    budget) would fail the same way again."""
    status = getattr(error, "status_code", None)
    if not isinstance(status, int):  # httpx's HTTPStatusError, some SDKs' `code`
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            status = getattr(error, "code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status < 600:
        return status == 429 or status >= 500
    if isinstance(error, TimeoutError | ConnectionError):
        return True
    return any(kind.__name__ in _NO_ANSWER for kind in type(error).__mro__)


def _citing(text: str, n: int) -> list[str]:
    return [s for s in sentences(text) if n in {int(m) for m in MARKER.findall(s)}]


def _citation(n: int, source: Source, claims: list[str]) -> Citation:
    """The source as citation n; its quotes are its sentences closest to the claims citing it."""
    own = sentences(source.text)
    quotes: list[str] = []
    for claim in claims:
        words = set(terms(MARKER.sub(" ", claim)))
        best = max(own, key=lambda s: len(words & set(terms(s))), default=None)
        if best and best not in quotes:
            quotes.append(best)
    article = source.article
    return Citation(
        n=n,
        title=article.title,
        outlet=article.outlet,
        url=article.url,
        published_at=article.published_at.date().isoformat() if article.published_at else None,
        quote=" … ".join(quotes),
        article_id=article.id,
    )


def _redacted(text: str, settings: Settings) -> str:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    return text.replace(key, "***") if key else text


def _template(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _attribute(value: str) -> str:
    return " ".join(value.replace('"', "'").replace("<", "‹").replace(">", "›").split())[:200]


def _day(article: Article) -> str | None:
    return f"{article.published_at:%-d %b %Y}" if article.published_at else None
