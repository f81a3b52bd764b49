"""build_services(settings): the one place that wires the core together."""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.documents import Document

from bot.core import network
from bot.core.answer import ExtractiveComposer, Templates
from bot.core.assets import AssetTable
from bot.core.budget import CallBudget
from bot.core.chroma_server import Lease
from bot.core.documents import Answer, Article, Figure, utcnow
from bot.core.embed import MiniLMEmbeddings
from bot.core.feedback import AnswerLog
from bot.core.files import WRITER_WAIT
from bot.core.generate import Generator, figures_text
from bot.core.ingest import Ingestor, IngestReport
from bot.core.question import Question, bare_follow_up, follow_up, parse
from bot.core.retrieval import HybridRetriever, Retrieval
from bot.core.sources import LoadResult, load_bytes, load_page
from bot.core.store import ChromaStore, open_client
from bot.core.text import strip_unsafe
from bot.errors import InputError, NotFoundError
from bot.feeds import Feed, FeedError, FeedStore, PollReport, add_feed, poll_due
from bot.market.figures import EARLIEST, MarketContext, MarketData, Quote
from bot.market.history import PriceHistory
from bot.market.premise import lead, main_window
from bot.settings import Settings
from bot.state import State, open_state
from bot.web.fetch import SafeFetcher

if TYPE_CHECKING:
    from bot.market.live import LiveMarket

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500


@dataclass
class Services:
    """The core, built once and shared by the CLI, the console and the Discord bot."""

    settings: Settings
    assets: AssetTable
    embeddings: MiniLMEmbeddings
    store: ChromaStore
    ingestor: Ingestor
    retriever: HybridRetriever
    composer: ExtractiveComposer
    answers: AnswerLog
    market: MarketData
    state: State
    generator: Generator | None = None  # with MARKETBOT_LLM set

    def ask(
        self,
        question: str,
        *,
        follow_up_to: str | None = None,
        place: str = "cli",
        on_text: Callable[[str], None] | None = None,
        asked_on: date | None = None,
        as_of: datetime | None = None,
    ) -> Answer:
        """Answer one question from the corpus, with citations and timings. A follow-up
        (`follow_up_to` is the earlier question) keeps the assets and dates it leaves out.
        "Today", "yesterday" or "last Friday" are read against `asked_on` (UTC today unless
        given: the bench asks its questions on the day they were written).

        `as_of` (an aware datetime) answers as the bot would have at that moment: "today" is
        its UTC day, only news published strictly before it is retrieved and cited, and the
        figures come from the daily bars complete by then, with no live exchange call. It
        says the day itself, so giving `asked_on` too is refused (ValueError).

        With a model configured the answer is generated and guarded; `place` (a server, or a
        user in DMs) pays for it from its daily budget, and `on_text` receives the guarded
        answer as it is written."""
        started = time.perf_counter()
        if as_of is not None:
            if as_of.tzinfo is None or as_of.utcoffset() is None:
                raise ValueError("as_of must be an aware datetime (UTC)")
            if asked_on is not None:
                raise ValueError("give as_of or asked_on, not both: as_of says the day")
            as_of = as_of.astimezone(UTC)
        # A lone surrogate (undecodable bytes from a shell, a JSON escape) breaks the encoder.
        text = " ".join(strip_unsafe(question).split())
        if not text:
            raise InputError("Ask a question, e.g. \u201cwhy did ETH fall 14%?\u201d")
        if len(text) > MAX_QUESTION_CHARS:
            raise InputError(f"Questions are limited to {MAX_QUESTION_CHARS} characters.")
        today = as_of.date() if as_of else asked_on or utcnow().date()
        earlier = " ".join(strip_unsafe(follow_up_to or "").split())
        bare = bool(earlier) and bare_follow_up(text, self.assets)
        if earlier:
            dates = self.retriever.dates_before(as_of) if as_of else self.retriever.dates
            text = follow_up(text, earlier, self.assets, today, dates)
        parsed = parse(text, self.assets, today, news_before=as_of)
        if bare:  # "and SOL?" after "why did ETH fall?" asks why SOL moved
            before = parse(earlier, self.assets, today)
            parsed = replace(parsed, kind=before.kind)
            if parsed.assets != before.assets and parsed.direction is None:
                # ... and says it fell too (the lead corrects that if it did not); "and the
                # day after?" claims nothing of the next day.
                parsed = replace(parsed, direction=before.direction)
        if parsed.watch_request:
            # "Ping me if ETH drops 5%": what /watch does; said instead of explaining a move.
            answer = self.composer.watch_hint(parsed)
            elapsed = (time.perf_counter() - started) * 1000
            return replace(answer, timings_ms={"total": round(elapsed, 2)})
        if parsed.advice:
            # Declined with the figures only: the price now, no move, no quote.
            figures, _ = self.market.for_answer(
                replace(parsed, direction=None, claimed_pct=None, dates=()),
                [],
                None,
                self.settings.live_timeout,
                as_of=as_of,
            )
            answer = replace(self.composer.declined_advice(parsed), figures=tuple(figures))
            elapsed = (time.perf_counter() - started) * 1000
            return replace(answer, timings_ms={"total": round(elapsed, 2)})
        retrieval = self.retriever.search(parsed, k=self.settings.top_k)
        timings = dict(retrieval.timings_ms)
        market_started = time.perf_counter()
        known = None
        moved: Literal["down", "up"] | None = None
        asked = parsed
        if retrieval.event_date is not None:
            # A day asked about: the price data says which way the asset went that day, so
            # a sentence reporting it going the other way is not the move (whatever the
            # question claims).
            known = self.market.for_answer(
                parsed, [], retrieval.event_date, self.settings.live_timeout, as_of=as_of
            )
            window = main_window(known[1]) if known[1] else None
            if window and abs(window["pct"]) >= 0.5:
                moved = "down" if window["pct"] < 0 else "up"
                if parsed.claimed_pct is None:  # and by how much: news of that size is the move
                    asked = replace(parsed, claimed_pct=abs(float(window["pct"])))
        timings["market"] = (time.perf_counter() - market_started) * 1000
        compose_started = time.perf_counter()
        coverage = self.retriever.coverage(as_of)
        answer = self.composer.compose(asked, retrieval, coverage, moved=moved)
        timings["compose"] = (time.perf_counter() - compose_started) * 1000
        market_started = time.perf_counter()
        # The move sentence is [1]: its date says when the move happened.
        cited = [
            date.fromisoformat(c.published_at[:10]) for c in answer.citations[:1] if c.published_at
        ]
        figures, premise = known or self.market.for_answer(
            parsed, cited, retrieval.event_date, self.settings.live_timeout, as_of=as_of
        )
        timings["market"] += (time.perf_counter() - market_started) * 1000
        context = next((f for f in figures if isinstance(f, MarketContext)), None)
        answer = replace(
            answer,
            figures=tuple(figures),
            premise=premise,
            lead=lead(premise, context) if premise else None,
            window=main_window(premise) if premise else None,
        )
        evidence = [*retrieval.passages, *retrieval.context]
        about_move = parsed.kind == "why" and answer.window is not None and retrieval.relevant
        if about_move and answer.status == "no_sources" and context:
            # Nothing of the asset's own on that day (a sentence reporting its move is kept).
            answer, market = self._market_causes(parsed, answer, context, timings)
            if market is not None:  # the answer now quotes the market's news: so may a model
                evidence = [*market.passages, *market.context]
        if about_move and answer.status == "no_sources":
            # The price data has the move; the news has nothing on what drove it: said plainly.
            text = self.composer.templates.unexplained.format()
            answer = replace(answer, status="answered", answer=text.strip(), citations=())
        if self.generator is not None and answer.status == "answered" and answer.citations:
            generate_started = time.perf_counter()
            answer = self.generator.compose(
                answer,
                evidence,
                figures_text(answer.figures, answer.premise),
                place,
                on_text,
            )
            timings["generate"] = (time.perf_counter() - generate_started) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        return replace(answer, timings_ms={k: round(v, 2) for k, v in timings.items()})

    def _market_causes(
        self,
        question: Question,
        answer: Answer,
        context: MarketContext,
        timings: dict[str, float],
    ) -> tuple[Answer, Retrieval | None]:
        """An asset's move that the market made (BTC, or SPY for a stock, went the same way
        that day) while the news names no cause of the asset's own: the market's causes,
        from news of that day, labelled as the market's. The lead stays the asset's."""
        assert answer.window is not None
        day = date.fromisoformat(answer.window["end"])
        change, own = round(context.benchmark_pct, 2), float(answer.window["pct"])
        if abs(change) < 1 or (change < 0) != (own < 0) or "own move" in context.reading:
            return answer, None
        started = time.perf_counter()
        benchmark = context.benchmark
        crypto = benchmark == "BTC"
        if change < 0:
            text = f"why did the {'crypto market crash' if crypto else 'stock market fall'}"
        else:
            text = f"why did the {'crypto market rally' if crypto else 'stock market rise'}"
        # No asset: the market's news names the market, not always its benchmark. The size
        # the price data gives picks the news reporting that very move. Under the same
        # cutoff as the question: no later news explains the market either.
        cutoff = question.news_before
        on_day = f"{text} on {day:%-d %b %Y}?"
        asked = replace(
            parse(on_day, self.assets, question.asked_on, news_before=cutoff),
            assets=(),
            claimed_pct=abs(change),
        )
        retrieval = self.retriever.search(asked, k=self.settings.top_k)
        coverage = self.retriever.coverage(cutoff)
        found = self.composer.compose(asked, retrieval, coverage, market_wide=True)
        timings["market_causes"] = (time.perf_counter() - started) * 1000
        if found.status != "answered" or not found.causes:
            return answer, None
        shown = replace(
            answer,
            status="answered",
            answer=found.answer,
            citations=found.citations,
            causes=found.causes,
        )
        return shown, retrieval

    def close(self) -> None:
        """Done with the store: the data dir's server may stop once no process uses it."""
        self.store.close()

    def price(self, word: str) -> tuple[Quote, list[Figure]]:
        """The price of an asset now (or the freshest known), and its perpetual's metrics."""
        return self.market.price(word, self.settings.live_timeout)

    def chart_symbol(self, word: str, days: int = 7, around: date | None = None) -> str:
        """The asset a chart would show, or the InputError the chart would raise: cheap, so
        a bad request is refused before anything is shown."""
        symbol = self.market.symbol(word)
        if not 1 <= days <= 365:
            raise InputError("Charts cover 1 to 365 days.")
        if around is not None and not EARLIEST <= around <= utcnow().date():
            raise InputError(f"Charts cover {EARLIEST:%-d %b %Y} to today.")
        return symbol

    def chart(self, word: str, days: int = 7, around: date | None = None) -> tuple[bytes, str]:
        """A PNG of an asset's price over `days` days, ending today or centred on `around` (an
        event's day), with the stored articles about it marked; and a caption."""
        from bot.market.chart import chart  # matplotlib loads only when charting

        symbol = self.chart_symbol(word, days, around)
        return chart(
            self.market,
            symbol,
            days,
            around,
            self.retriever.articles.values(),
            today=utcnow().date(),
            timeout=self.settings.live_timeout,
        )

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        ingested_by: str = "cli",
        outlet: str | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        report = self.ingestor.ingest_paths(
            paths, ingested_by=ingested_by, outlet=outlet, progress=progress
        )
        return report

    def fetcher(self, allow_private: bool | None = None) -> SafeFetcher:
        """A fetcher with this deployment's limits and address policy."""
        return SafeFetcher(
            allow_private=self.settings.allow_private_urls
            if allow_private is None
            else allow_private,
            timeout=self.settings.fetch_timeout,
            max_bytes=self.settings.fetch_max_bytes,
            allowed_networks=self.settings.allowed_networks,
        )

    def ingest_url(
        self, url: str, *, ingested_by: str, allow_private: bool | None = None
    ) -> IngestReport:
        """Fetch an article page and ingest its main text; a page that is not an article (or
        that may not be fetched) is refused with the reason and nothing is stored."""
        fetched = self.fetcher(allow_private).fetch(url)
        result = load_page(fetched.body, fetched.url, fetched.charset)
        report = self.ingestor.ingest_results([result], ingested_by=ingested_by)
        return report

    def feeds(self) -> list[Feed]:
        """The RSS/Atom feeds being polled, in the order they were added."""
        return FeedStore(self.state).list()

    def add_feed(
        self, url: str, *, added_by: str, allow_private: bool | None = None
    ) -> tuple[Feed, PollReport]:
        """Fetch the feed once (through the fetcher's address policy), refuse it unless it is
        RSS or Atom, then store it and ingest its items: the feed and that first poll."""
        return add_feed(self, url, added_by=added_by, allow_private=allow_private)

    def remove_feed(self, url: str) -> Feed:
        """Stop polling a feed; the articles it brought stay."""
        return FeedStore(self.state).remove(url)

    def poll_feeds(
        self, force: bool = False, *, allow_private: bool | None = None
    ) -> list[tuple[Feed, PollReport | FeedError]]:
        """Poll the feeds that are due (all with `force`); each with its report or error."""
        return poll_due(self, force=force, allow_private=allow_private)

    def ingest_upload(self, data: bytes, filename: str, *, ingested_by: str) -> IngestReport:
        """Ingest a file's bytes (a Discord attachment), detected by content like any file."""
        report = self.ingestor.ingest_results([load_bytes(data, filename)], ingested_by=ingested_by)
        return report

    def ingest_text(self, title: str, text: str, *, ingested_by: str) -> IngestReport:
        """Ingest pasted text under a title."""
        document = Document(
            page_content=text,
            metadata={"title": title, "published_at": utcnow().isoformat(), "origin": "pasted"},
        )
        report = self.ingestor.ingest_results(
            [LoadResult("pasted text", "text", [document])], ingested_by=ingested_by
        )
        return report

    def sources(self, query: str | None = None) -> list[Article]:
        """Stored articles, newest first; with a query, those whose title contains it or that
        are about the asset it names."""
        articles = list(self.store.article_records())
        if query and query.strip():
            wanted = self.assets.resolve(query)
            needle = query.strip().lower()
            articles = [a for a in articles if needle in a.title.lower() or wanted in a.assets]
        return sorted(articles, key=lambda a: a.published_at or a.ingested_at, reverse=True)

    def forget(self, article_id: str) -> Article:
        article = self.store.article(article_id.strip())
        if article is None:
            raise NotFoundError(
                f"No stored article has the id {article_id.strip()!r}; "
                "`marketbot sources` lists them."
            )
        with self.ingestor.locked():
            self.store.forget([article.id])
        return article

    def seed(self) -> IngestReport | None:
        """Fill a fresh store from the bundled corpus in knowledge/articles/, once.

        The mark is written only after the whole corpus is in, so a start killed half-way
        through seeding seeds again (idempotently) on the next start.
        """
        folder = self.settings.knowledge_dir / "articles"
        if self.store.seeded() or not folder.is_dir():
            return None
        log.info("seeding the store from %s", folder)
        report = self.ingest([folder], ingested_by="bundled corpus")
        if not report.failed:
            # Under the writers' lock: the mark rewrites the metadata that holds the revision,
            # which another process's write must not be able to interleave with.
            with self.ingestor.locked():
                self.store.mark_seeded(utcnow().isoformat())
        return report


def build_services(
    settings: Settings, *, seed: bool = True, embeddings: MiniLMEmbeddings | None = None
) -> Services:
    """Load the model (or reuse `embeddings`), open the store, wire the core; seed a fresh dir."""
    if settings.offline:
        network.forbid_remote_connections()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    assets = AssetTable.load(settings.knowledge_dir / "assets.json")
    state = state_for(settings)
    # The store's server (about a second to start when none runs yet) starts while the model
    # loads.
    with ThreadPoolExecutor(1, thread_name_prefix="store") as pool:
        opening = pool.submit(
            open_client,
            settings.chroma_url,
            settings.chroma_path,
            data_dir=settings.data_dir,
            embedded=settings.chroma_embedded,
            idle_seconds=settings.chroma_idle_seconds,
        )
        try:
            if embeddings is None:
                embeddings = MiniLMEmbeddings(batch_size=settings.embed_batch_size)
        except BaseException:
            _close_when_opened(opening)
            raise
        client, lease, reconnect = opening.result()
    try:
        store = ChromaStore(client, embeddings, settings.collection_prefix, lease, reconnect)
    except BaseException:
        if lease is not None:
            lease.close()
        raise
    services = Services(
        settings=settings,
        assets=assets,
        embeddings=embeddings,
        store=store,
        ingestor=Ingestor(
            store,
            embeddings,
            assets,
            settings.chunk_size,
            settings.chunk_overlap,
            settings.ingest_batch_chunks,
            lock=lambda: state.writer(WRITER_WAIT),
        ),
        retriever=HybridRetriever(
            store,
            embeddings,
            assets,
            cache_dir=settings.data_dir,
            refresh_seconds=settings.refresh_seconds,
        ),
        composer=ExtractiveComposer(Templates(settings.prompts_dir), assets),
        answers=AnswerLog(state),
        market=build_market(settings, assets),
        state=state,
        generator=Generator(
            settings,
            CallBudget(state, settings.llm_daily_calls),
        )
        if settings.llm
        else None,
    )
    if not store.url_keys_current():  # a store written when links were keyed another way
        with services.ingestor.locked():
            if not store.url_keys_current():
                changed = store.rekey_urls()
                if changed:
                    log.warning("re-keyed the links of %d stored articles", changed)
    if seed:
        services.seed()
    return services


def state_for(settings: Settings) -> State:
    """The shared state the settings name: PostgreSQL, or the data dir's SQLite file."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return open_state(settings.data_dir, url)


def _close_when_opened(opening: Future[tuple[Any, Lease | None, Any]]) -> None:
    with suppress(Exception):
        _, lease, _ = opening.result()
        if lease is not None:
            lease.close()


def build_market(settings: Settings, assets: AssetTable) -> MarketData:
    """Price history (snapshot and imports) and, unless offline, live exchanges. Offline, only
    exchanges pointed at a local address (MARKETBOT_EXCHANGE_URLS) are used."""
    exchanges = [
        e for e in settings.exchanges if not settings.offline or e in settings.exchange_urls
    ]
    live: LiveMarket | None = None
    if exchanges:
        from bot.market.live import LiveMarket  # imports ccxt (half a second): only when used

        live = LiveMarket(
            exchanges,
            settings.exchange_urls,
            # Requests may outlive an answer's wait (they finish in the background), so a
            # large market list still loads on a slow link.
            timeout=max(settings.live_timeout, 5.0),
            ttl=settings.quote_ttl,
        )
        live.warm()  # market lists load in the background while the model loads
        atexit.register(live.close)  # ccxt wants its sessions closed before exit
    history = PriceHistory(settings.knowledge_dir / "prices", settings.data_dir / "prices")
    return MarketData(history, live, assets)
