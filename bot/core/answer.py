"""The extractive composer: a short cited explanation built only from retrieved sentences.

Every sentence of an answer is quoted from a passage and followed by that passage's [n]; the
templates in prompts/ add connecting words only, so no figure can appear that no source gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from langchain_core.prompts import PromptTemplate

from bot.core.assets import AssetTable
from bot.core.documents import Answer, Citation, Passage
from bot.core.injection import is_instruction
from bot.core.lexical import terms
from bot.core.question import (
    DOWN_WORDS,
    PERCENT,
    UP_WORDS,
    Question,
    percent_value,
    said_direction,
)
from bot.core.retrieval import GENERIC, Retrieval, date_fit
from bot.core.text import sentences, strip_markers

# Cause themes, as regular expressions matched at word starts (stems end without \b).
THEMES: dict[str, str] = {
    "Macro": r"fed\b|federal reserve|rate cuts?\b|interest rates?\b|inflation|cpi\b|jobs report|"
    r"payrolls?\b|tariffs?\b|dollar|treasur(?:y yields|ies)|yields?\b|shutdown|econom|macro|"
    r"powell|hawkish|dovish|recession|geopolitic|sanctions?\b|oil prices?|risk(?:y)? assets",
    "Leverage and liquidations": r"liquidat|leverag|margin calls?|open interest|perpetual|"
    r"funding rates?|cascad|short squeeze|forced selling|long positions|waterfall|derivatives",
    "Security incidents": r"hack|exploit|(?:security|data) breach|stolen|attack|vulnerabilit|"
    r"bugs?\b|outage|halted|depeg|security (?:incident|breach|risk)",
    "Regulation": r"sec\b|securities and exchange|regulat|bans?\b|banned|lawsuit|court|enforcement|"
    r"legislation|bills?\b|congress|crackdown|scrutiny|approvals?\b|approved",
    "Flows and holders": r"etfs?\b|inflows?\b|outflows?\b|whales?\b|sold\b|selling|bought|buying|"
    r"accumulat|institutional|long-term holders|reserves\b|capital (?:flight|outflows)",
    "Sentiment": r"fear|greed|panic|sentiment|confidence|euphoria|fomo",
    "Project news": r"listing|delist|partnership|launch|upgrade|earnings|acquisition|mainnet|"
    r"token unlock",
}
_THEME_RES = {
    name: re.compile(rf"\b(?:{pattern})", re.IGNORECASE) for name, pattern in THEMES.items()
}
CAUSAL = re.compile(
    r"\b(trigger\w*|because|due to|amid|driven by|as a result|led to|caused?|pressure[sd]?|"
    r"fuel\w*|spark\w*|weigh\w*|amplif\w*|exacerbat\w*|behind|after|following|blamed|"
    r"attributed|thanks to|on the back of|reason)\b",
    re.IGNORECASE,
)
# "+1.2%", "(−6.8%)", "-3%": a sign written against its number ("2 – 3%" is a range).
SIGNED_CHANGE = re.compile(r"(?<![\w.\d])[+\u2212-]\d{1,3}(?:\.\d{1,2})?\s?%")
FIGURE = re.compile(
    r"(\$\s?\d[\d,.]*\s*(?:billion|million|trillion|bn|m|k)?|\d[\d,.]*\s?%|"
    r"\b\d[\d,.]*\b)",
    re.IGNORECASE,
)
# Boilerplate that syndication and scraping leave in article bodies: never worth quoting.
JUNK = re.compile(
    r"https?://|pic\.twitter|appeared first on|related (?:reading|news)|read more:|"
    r"not (?:investment|financial) "
    r"advice|click here|sign up|subscribe|@\w+\)|featured image|disclaimer|\"@\w+\"|\{\s*\"",
    re.IGNORECASE,
)
MAX_CAUSES = 3
MAX_QUOTE_CHARS = 300  # a cause is the clause that carries it, not the whole paragraph
# Forward-looking or hedged talk: what may happen next is not what made the move.
SPECULATION = re.compile(
    r"\b(?:could|might|(?-i:may)|would|perhaps|possibly|expects?|expected to|predicts?|"
    r"nearing an end|bottom(?:ed|ing)? out|price predictions?|next (?:week|month|year))\b",
    re.IGNORECASE,
)
_NAMED = re.compile(r"\b[A-Z][a-zA-Z]+")  # a capitalised word (searched past the first)
# The market's benchmarks: a sentence about them may explain a market-wide move.
MARKET = frozenset({"BTC", "SPY"})
# A sentence about the whole market's move, in the words news uses for it.
MARKET_WORDS = re.compile(
    r"\b(?:(?:crypto|cryptocurrency|digital asset|stock|equity|broader|overall) markets?|"
    r"market cap(?:italization)?|total crypto|stocks|S&P 500|Nasdaq|Dow|Wall Street)\b",
    re.IGNORECASE,
)
# A sentence whose subject is a bare pronoun quotes a "they" with no one to refer to.
BARE_PRONOUN = re.compile(
    r"(?:they|it|he|she|we)\b(?!-)|(?:this|these|those|that)\s+(?:is|was|are|were|has|have|"
    r"had|comes?|came|means?|meant|marks?|marked|follows?|followed)\b",
    re.IGNORECASE,
)
# Where a long sentence may be cut: between clauses.
_CLAUSE_BREAK = re.compile(r"((?:;|—|–| - |: )\s*)")  # captured: split() keeps separators
MAX_FACT_SENTENCES = 2
TWO_ASKS = re.compile(r"\band\s+(?:at\s+)?(?:what|how|who|when|where|which|why)\b", re.IGNORECASE)
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
FOCUSED_ASSETS = 5  # an article naming more assets than this is a multi-topic brief


@dataclass(frozen=True)
class _Sentence:
    text: str
    passage: int
    terms: frozenset[str]
    paragraph: str = ""  # the paragraph of the chunk it comes from (a brief's one bullet)


@dataclass(frozen=True)
class _Features:
    """A sentence's pattern matches, computed once per text."""

    down: bool
    up: bool
    signed: bool
    figure: bool
    themes: tuple[tuple[str, int], ...]
    causal: bool
    named: bool
    speculative: bool
    pronoun: bool
    question: bool


class Templates:
    """Answer templates from prompts/, as LangChain PromptTemplates."""

    def __init__(self, folder: Path) -> None:
        def load(name: str) -> PromptTemplate:
            return PromptTemplate.from_file(folder / name, encoding="utf-8")

        self.why = load("answer_why.txt")
        self.why_no_causes = load("answer_why_no_causes.txt")
        self.fact = load("answer_fact.txt")
        self.no_sources = load("no_sources.txt")
        self.no_sources_empty = load("no_sources_empty.txt")  # no article at all (by then)
        self.advice = load("advice.txt")
        self.watch_hint = load("watch_hint.txt")
        self.watch_hint_not_crypto = load("watch_hint_not_crypto.txt")
        self.unexplained = load("answer_unexplained.txt")


class ExtractiveComposer:
    """Builds the answer from the passages' own sentences, each one cited."""

    def __init__(self, templates: Templates, assets: AssetTable) -> None:
        self.templates = templates
        self.assets = assets
        # A chunk's quotable sentences, by chunk id (its text never changes under its id).
        self._chunk_sentences: dict[str, list[tuple[str, frozenset[str], str]]] = {}
        self._sentence_features: dict[str, _Features] = {}

    def compose(
        self,
        question: Question,
        retrieval: Retrieval,
        coverage: dict[str, str],
        market_wide: bool = False,
        moved: Literal["down", "up"] | None = None,
    ) -> Answer:
        """The answer to a question from its retrieval; `coverage` describes the corpus for
        the reply when nothing relevant was found (see HybridRetriever.coverage). With
        `market_wide`, the question is the market's move standing in for an asset's, and every
        cause is labelled so. `moved` is the way the price data says the asset went on the
        asked day, when known: a sentence reporting the other way is not its move."""
        if not retrieval.relevant:
            return self.no_sources(question, retrieval.reason, coverage)
        passages = list(retrieval.passages)
        passages += retrieval.context
        pool = self._sentences(passages)
        cites = _Citations(passages)
        wanted = self._question_terms(question)
        causes: list[dict[str, Any]] = []
        if question.kind == "why":
            text = self._why(
                question,
                pool,
                passages,
                wanted,
                cites,
                retrieval.event_date,
                causes,
                market_wide,
                moved,
            )
        else:
            text = self._fact(question, pool, passages, wanted, cites, retrieval.event_date)
        if text is None:
            return self.no_sources(question, "the passages found do not address it", coverage)
        return Answer(
            question=question.text,
            status="answered",
            answer=text.strip(),
            citations=cites.list(),
            assets=question.assets,
            causes=tuple(causes),
        )

    def declined_advice(self, question: Question) -> Answer:
        """A request for a call, a target or a prediction: declined, no source quoted (a quote
        next to "should I buy" reads as the answer to it)."""
        asset = question.assets[0] if question.assets else "BTC"
        text = self.templates.advice.format(example=f"why did {asset} move this week?")
        return Answer(
            question=question.text, status="no_sources", answer=text.strip(), assets=question.assets
        )

    def watch_hint(self, question: Question) -> Answer:
        """A request to be told of a move to come: how to set that up, not a quote."""
        crypto = [
            a for a in question.assets if getattr(self.assets.assets.get(a), "kind", "") == "crypto"
        ]
        asset = crypto[0] if crypto else "ETH"
        claimed = min(max(question.claimed_pct or 5.0, 0.5), 50.0)
        threshold = f"{claimed:g}"
        if question.assets and not crypto:
            text = self.templates.watch_hint_not_crypto.format(asset=question.assets[0])
        else:
            text = self.templates.watch_hint.format(asset=asset, threshold=threshold)
        return Answer(
            question=question.text, status="no_sources", answer=text.strip(), assets=question.assets
        )

    def no_sources(self, question: Question, reason: str, coverage: dict[str, str]) -> Answer:
        empty = coverage.get("first_date", "?") == "?" and not coverage.get("recent_titles")
        template = self.templates.no_sources_empty if empty else self.templates.no_sources
        text = template.format(reason=reason, **coverage)
        return Answer(
            question=question.text, status="no_sources", answer=text.strip(), assets=question.assets
        )

    # -- why --------------------------------------------------------------------------------

    def _why(
        self,
        question: Question,
        pool: list[_Sentence],
        passages: list[Passage],
        wanted: set[str],
        cites: _Citations,
        event: date | None = None,
        causes: list[dict[str, Any]] | None = None,
        market_wide: bool = False,
        moved: Literal["down", "up"] | None = None,
    ) -> str | None:
        """The move's sentence and up to MAX_CAUSES causes; `causes` receives them as data
        (quote, citation number, whether it is about the market rather than the asset)."""
        causes = [] if causes is None else causes
        # Only a question about a price move has a move to report ("why haven't the ETFs
        # launched?" asks about news, not about a sentence where SOL fell 55%).
        about_move = question.direction is not None or question.claimed_pct is not None
        move = (
            self._move_sentence(question, pool, passages, wanted, event, market_wide, moved)
            if about_move or market_wide
            else None
        )
        if market_wide and not (move and said_direction(move.text) == question.direction):
            # Standing in for an asset's move, the market's news must report the market
            # moving the same way that day: a crash story does not explain a rebound.
            return None
        used = {move.text} if move else set()
        if move:
            cites.number(move.passage, move)  # the move leads the answer, so it is [1]
        # A passage about another coin or another day may rank, but it cannot explain this move.
        if event is None and move is not None:
            # With no day asked, the move the source reports sets it: causes come from news
            # of that move's days, not from another week's story about the same coin.
            reported = passages[move.passage].article.published_at
            event = reported.date() if reported else None
        explaining = {i for i, p in enumerate(passages) if self._about(question, p, event)}
        # The story the move's sentence tells: a cause shares its words (the same event).
        story = set(move.terms) - wanted - GENERIC if move else set()
        ranked: list[tuple[float, str, _Sentence, bool]] = []
        paragraph_assets: dict[str, frozenset[str]] = {}
        for at, sentence in enumerate(pool):
            if sentence.text in used or sentence.passage not in explaining:
                continue
            if self._features(sentence.text).pronoun:
                # "They're also..." names no one: quoted with the sentence before it (its
                # antecedent, in the same paragraph), or not at all.
                before = pool[at - 1] if at else None
                after_move = before is not None and before.text in used
                if not after_move and (
                    before is None
                    or before.passage != sentence.passage
                    or before.paragraph != sentence.paragraph
                    or len(before.text) + len(sentence.text) >= MAX_QUOTE_CHARS
                    or BARE_PRONOUN.match(before.text)
                ):
                    continue
                if not after_move:  # (after the move's sentence, quoted just above, it reads)
                    assert before is not None
                    text = f"{before.text} {sentence.text}"
                    sentence = _Sentence(
                        text, sentence.passage, frozenset(terms(text)), sentence.paragraph
                    )
            if not self._names_asset(question, sentence, passages, paragraph_assets):
                continue
            features = self._features(sentence.text)
            if features.speculative or features.question:
                continue  # a forecast is not a cause, nor is a source's own question
            if move is not None and _overlap(sentence.terms, move.terms) > 0.6:
                continue  # the move's own sentence again, in other words
            named = set(self.assets.find(sentence.text))
            own = bool(named & set(question.assets))
            if (question.assets or market_wide) and named and not own and not named <= MARKET:
                continue  # a sentence about another coin does not explain this one
            counts = dict(features.themes)
            hits = sum(counts.values())
            causal = features.causal
            if not hits and not causal:
                continue
            score = (
                # Cause words say it may be a cause; what it is about decides, so a sentence
                # full of cue words about another story cannot outrank the one asked about.
                0.3 * min(hits, 2)
                + 0.5 * causal
                + 2.0 * self._relevance(sentence, wanted, passages)
                + 0.4 * own
                # A named actor or a figure: an event, not a summary of "several factors".
                + 0.3 * features.named
                # The source that reports the move is the likeliest to explain it, in the
                # words of the same story.
                + 0.4 * (move is not None and sentence.passage == move.passage)
                + 0.8 * len(sentence.terms & story) / max(len(story), 1)
                + 0.3 * (move is not None and sentence.paragraph == move.paragraph)
            )
            kind = max(counts, key=lambda name: counts[name]) if hits else ""
            # About the market (BTC, or SPY for a stock) and not the asset: said so.
            market = market_wide or (bool(question.assets) and bool(named) and not own)
            ranked.append((score, kind, sentence, market))
        ranked.sort(key=lambda c: -c[0])
        lines: list[str] = []
        chosen: list[_Sentence] = []
        kinds: set[str] = set()
        for score, kind, sentence, market in ranked:
            if len(lines) >= MAX_CAUSES or score < 0.9:
                break
            # One sentence per event: none that repeats one already chosen, in its words or
            # in its kind (two sentences on the same liquidations are one cause). The kind
            # only tells causes apart; it never earns a sentence a place or a label.
            if kind in kinds or any(_overlap(sentence.terms, c.terms) > 0.5 for c in chosen):
                continue
            if kind:
                kinds.add(kind)
            quoted = self._trimmed(sentence, wanted)
            chosen.append(quoted)
            n = cites.number(quoted.passage, quoted)
            label = "Market-wide: " if market else ""
            lines.append(f"- {label}{quoted.text} [{n}]")
            causes.append({"quote": quoted.text, "citation": n, "market_wide": market})
        if move is None and not lines:
            return None
        if move is None and not (question.assets and question.direction):
            # Not a question about a price move: the strongest cause leads, with its source.
            lines.pop(0)
            causes.pop(0)
            lead = chosen[0]
            move_text = (
                f"{cites.hedge(lead.passage)}: {lead.text} [{cites.number(lead.passage, lead)}]"
            )
            if not lines:
                return self.templates.fact.format(statements=move_text)
        elif move is None:
            move_text = "I found no figure for the move itself in my sources."
        else:
            move_text = (
                f"{cites.hedge(move.passage)}: {move.text} [{cites.number(move.passage, move)}]"
            )
        if not lines:
            return self.templates.why_no_causes.format(move=move_text)
        return self.templates.why.format(move=move_text, causes="\n".join(lines))

    def _names_asset(
        self,
        question: Question,
        sentence: _Sentence,
        passages: list[Passage],
        named: dict[str, frozenset[str]],
    ) -> bool:
        """In a brief covering many assets, whether the sentence is about an asked one: its
        paragraph (the bullet it belongs to) names it. `named` memoises paragraphs' assets."""
        article = passages[sentence.passage].article
        if not question.assets or len(article.assets) <= FOCUSED_ASSETS:
            return True
        found = named.get(sentence.paragraph)
        if found is None:
            found = named[sentence.paragraph] = frozenset(self.assets.find(sentence.paragraph))
        return bool(found & set(question.assets))

    def _trimmed(self, sentence: _Sentence, wanted: set[str]) -> _Sentence:
        """The sentence, or when longer than MAX_QUOTE_CHARS its clauses that say the most
        about the question, in the source's order and its exact words, "…" where cut."""
        if len(sentence.text) <= MAX_QUOTE_CHARS:
            return sentence
        # Clauses and the separators between them: clauses[i] is followed by separators[i].
        split = _CLAUSE_BREAK.split(sentence.text)
        clauses, separators = split[0::2], split[1::2]
        if len(clauses) < 2 or not all(c.strip() for c in clauses):
            return sentence
        ranked = sorted(
            range(len(clauses)),
            key=lambda i: (
                -(
                    len(set(terms(clauses[i])) & wanted)
                    + bool(CAUSAL.search(clauses[i]))
                    + sum(bool(r.search(clauses[i])) for r in _THEME_RES.values())
                    - i * 0.01  # on a tie, the earlier clause
                )
            ),
        )
        keep: list[int] = []
        for i in ranked:
            if sum(len(clauses[k]) for k in [*keep, i]) <= MAX_QUOTE_CHARS:
                keep.append(i)
        if not keep:
            return sentence
        keep.sort()
        text = "" if keep[0] == 0 else "… "
        for at, i in enumerate(keep):
            if at and keep[at - 1] == i - 1:
                text += separators[i - 1]  # nothing cut between them: the source's own words
            elif at:
                text = text.rstrip(" .,;:") + " … "
            text += clauses[i]
        if keep[-1] != len(clauses) - 1:
            text = text.rstrip(" .,;:") + " …"
        return _Sentence(text, sentence.passage, frozenset(terms(text)), sentence.paragraph)

    def _about(self, question: Question, passage: Passage, event: date | None) -> bool:
        """Whether a passage reports on the asked assets and, when a day is named, that day."""
        if question.assets:
            named = set(self.assets.find(passage.chunk.text))
            # A story about a few assets is about each of them throughout; a brief covering
            # many is about an asset only where its paragraph names it.
            if len(passage.article.assets) <= FOCUSED_ASSETS:
                named |= set(passage.article.assets)
            if not named & set(question.assets):
                return False
        undated = event is None or passage.article.published_at is None
        return undated or date_fit(event, passage.article) == 1.0

    def _about_asset(self, text: str, symbol: str) -> str:
        """The part of a sentence about `symbol`: from its first mention on, for 80
        characters, when the sentence names other assets too ("SOL fell 6.8% as Bitcoin
        (+1.2%) held")."""
        if set(self.assets.find(text)) <= {symbol}:
            return text
        names = [symbol, self.assets.name(symbol)]
        info = self.assets.assets.get(symbol)
        names += list(info.aliases) if info else []
        lowered = text.lower()
        at = min((i for n in names if (i := lowered.find(n.lower())) >= 0), default=-1)
        return text[at : at + 80] if at >= 0 else text

    def _move_sentence(
        self,
        question: Question,
        pool: list[_Sentence],
        passages: list[Passage],
        wanted: set[str],
        event: date | None = None,
        market_wide: bool = False,
        moved: Literal["down", "up"] | None = None,
    ) -> _Sentence | None:
        """The sentence reporting the asked move: it names the asset (with `market_wide`, the
        market), a direction and a figure, and with a day asked about, it comes from news of
        that day (another day's move is another move)."""
        best: tuple[float, _Sentence] | None = None
        for sentence in pool:
            article = passages[sentence.passage].article
            if event and article.published_at and date_fit(event, article) < 1.0:
                continue
            features = self._features(sentence.text)
            down, up = features.down, features.up
            # "BNB (+1.2%)", "SOL -6.8%": a signed change says which way on its own.
            if not (down or up or features.signed) or not features.figure:
                continue
            if moved is not None and question.assets:
                said = _direction(self._about_asset(sentence.text, question.assets[0]))
                if said not in (None, moved):
                    continue  # the price data says the asset went the other way that day
            mentioned = set(self.assets.find(sentence.text))
            if question.assets and not mentioned & set(question.assets):
                continue
            if market_wide:
                if not (mentioned & MARKET or MARKET_WORDS.search(sentence.text)):
                    continue  # the market's move: the benchmark's, or the whole market's
            elif not question.assets and _overlap_share(sentence.terms, wanted) < 0.3:
                continue  # with no asset named, the move must be the one the question names
            score = self._relevance(sentence, wanted, passages)
            if "%" in sentence.text:
                score += 0.5
            if question.claimed_pct is not None:
                # The sentence reporting the very figure the user quoted is the move they mean.
                # (Its own figure: "BTC +1.7% ... SUI +4.6%" does not say BTC rose 4.6%.)
                own = (
                    self._about_asset(sentence.text, question.assets[0])
                    if question.assets
                    else sentence.text
                )
                stated = [percent_value(p) for p in PERCENT.findall(own)]
                near = max(1.5, 0.2 * question.claimed_pct)  # premise.py's tolerance
                if any(abs(p - question.claimed_pct) < 0.05 for p in stated):
                    score += 1.0
                elif any(abs(p - question.claimed_pct) <= near for p in stated):
                    score += 0.6
            if (question.direction == "down" and down) or (question.direction == "up" and up):
                score += 0.5
            if event and article.published_at:
                # The next day's report of a move is likelier about it than one days later.
                late = (article.published_at.date() - event).days - 1
                score -= 0.1 * max(late, 0)
            if best is None or score > best[0]:
                best = (score, sentence)
        return best[1] if best else None

    # -- fact -------------------------------------------------------------------------------

    def _fact(
        self,
        question: Question,
        pool: list[_Sentence],
        passages: list[Passage],
        wanted: set[str],
        cites: _Citations,
        event: date | None = None,
    ) -> str | None:
        asks_figure = bool(
            re.search(
                r"\b(how (much|many|far|big|low|high|long)|what (price|level)|"
                r"percent|%|amount|total)\b",
                question.text,
                re.IGNORECASE,
            )
        )
        ranked: list[tuple[float, _Sentence]] = []
        for sentence in pool:
            if sentence.text.rstrip().endswith("?"):
                continue  # a source's own (rhetorical) question states nothing
            score = self._relevance(sentence, wanted, passages)
            if asks_figure and FIGURE.search(sentence.text):
                score += 0.5
            if question.assets and set(question.assets) & set(self.assets.find(sentence.text)):
                score += 0.3
            if event is not None:  # a day asked about: that day's news says it
                score *= date_fit(event, passages[sentence.passage].article)
            ranked.append((score, sentence))
        ranked.sort(key=lambda r: -r[0])
        if not ranked or ranked[0][0] < 0.35:
            return None
        # A figure asked for is answered by the sentence that gives it; another fact by its
        # best sentence and at most one more nearly as good (another side of it).
        chosen = [ranked[0][1]]
        # ("how much did it buy, and at what price?" asks two things: two sentences.)
        one = asks_figure and FIGURE.search(chosen[0].text) and not TWO_ASKS.search(question.text)
        most = 1 if one else MAX_FACT_SENTENCES
        for score, sentence in ranked[1:]:
            if len(chosen) >= most or score < ranked[0][0] * 0.8:
                break
            if all(_overlap(sentence.terms, c.terms) < 0.6 for c in chosen):
                chosen.append(sentence)
        # One statement per source, its sentences in the order the source gives them.
        by_passage: dict[int, list[_Sentence]] = {}
        for sentence in sorted(chosen, key=pool.index):
            by_passage.setdefault(sentence.passage, []).append(sentence)
        statements = []
        for passage, group in by_passage.items():
            group = [self._trimmed(s, wanted) for s in group]
            numbers = [cites.number(passage, s) for s in group]  # records every quote
            n = numbers[0]
            quoted = " ".join(s.text for s in group)
            statements.append(f"{cites.hedge(passage)}: {quoted} [{n}]")
        return self.templates.fact.format(statements="\n".join(statements))

    # -- shared -----------------------------------------------------------------------------

    def _question_terms(self, question: Question) -> set[str]:
        words = {t for t in terms(question.text) if t not in GENERIC}
        for symbol in question.assets:
            words |= set(terms(self.assets.name(symbol)))
            words.add(symbol.lower())
        return words

    def _sentences(self, passages: list[Passage]) -> list[_Sentence]:
        pool: list[_Sentence] = []
        seen: set[str] = set()
        for index, passage in enumerate(passages):
            for text, words, paragraph in self._quotable(passage.chunk.id, passage.chunk.text):
                key = text.lower()
                if key in seen:
                    continue
                seen.add(key)
                pool.append(_Sentence(text, index, words, paragraph))
        return pool

    def _features(self, text: str) -> _Features:
        """What the patterns say of a sentence (memoised: answers see the same sentences
        again and again, and a long article has hundreds)."""
        found = self._sentence_features.get(text)
        if found is None:
            figure = bool(FIGURE.search(text))
            found = _Features(
                down=bool(DOWN_WORDS.search(text)),
                up=bool(UP_WORDS.search(text)),
                signed=bool(SIGNED_CHANGE.search(text)),
                figure=figure,
                themes=tuple((name, len(r.findall(text))) for name, r in _THEME_RES.items()),
                causal=bool(CAUSAL.search(text)),
                named=figure or bool(_NAMED.search(text, 1)),
                speculative=bool(SPECULATION.search(text)),
                pronoun=bool(BARE_PRONOUN.match(text)),
                question=text.rstrip().endswith("?"),
            )
            if len(self._sentence_features) > 100_000:
                self._sentence_features.clear()
            self._sentence_features[text] = found
        return found

    def _quotable(self, chunk_id: str, chunk: str) -> list[tuple[str, frozenset[str], str]]:
        """A chunk's sentences that may be quoted, with their terms and paragraphs."""
        found = self._chunk_sentences.get(chunk_id)
        if found is not None:
            return found
        found = []
        # Markers a source wrote itself would read as ours (stored before ingestion
        # removed them).
        for paragraph in PARAGRAPH_BREAK.split(strip_markers(chunk)):
            for text in sentences(paragraph):
                if len(text) < 25 or len(text) > 600 or JUNK.search(text):
                    continue
                if is_instruction(text):  # ingested text is data: never quote one
                    continue
                found.append((text, frozenset(terms(text)), paragraph))
        if len(self._chunk_sentences) > 20_000:
            self._chunk_sentences.clear()
        self._chunk_sentences[chunk_id] = found
        return found

    def _relevance(self, sentence: _Sentence, wanted: set[str], passages: list[Passage]) -> float:
        overlap = len(sentence.terms & wanted) / max(len(wanted), 1)
        return overlap + 0.8 * passages[sentence.passage].score


class _Citations:
    """Numbers passages in the order the answer first cites them, and keeps their quotes."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self._numbers: dict[str, int] = {}
        self._quotes: dict[str, list[str]] = {}

    def number(self, passage: int, sentence: _Sentence) -> int:
        article = self.passages[passage].article
        n = self._numbers.setdefault(article.id, len(self._numbers) + 1)
        quotes = self._quotes.setdefault(article.id, [])
        if sentence.text not in quotes:
            quotes.append(sentence.text)
        return n

    def hedge(self, passage: int) -> str:
        article = self.passages[passage].article
        when = article.published_at.strftime("%-d %b %Y") if article.published_at else None
        if article.outlet:
            return f"According to {article.outlet}" + (f" ({when})" if when else "")
        return "According to an article (" + (f"{when}, " if when else "") + "outlet unknown)"

    def list(self) -> tuple[Citation, ...]:
        by_id = {p.article.id: p.article for p in self.passages}
        copies: dict[str, list[str]] = {}
        for passage in self.passages:
            copies.setdefault(passage.article.id, []).extend(passage.also_reported_by)
        out: list[Citation] = []
        for article_id, n in sorted(self._numbers.items(), key=lambda kv: kv[1]):
            article = by_id[article_id]
            out.append(
                Citation(
                    n=n,
                    title=article.title,
                    outlet=article.outlet,
                    url=article.url,
                    published_at=article.published_at.date().isoformat()
                    if article.published_at
                    else None,
                    quote=" … ".join(self._quotes[article_id]),
                    article_id=article_id,
                    also_reported_by=tuple(dict.fromkeys(copies.get(article_id, []))),
                )
            )
        return tuple(out)


def _overlap_share(sentence: frozenset[str], wanted: set[str]) -> float:
    return len(sentence & wanted) / max(len(wanted), 1)


def _direction(text: str) -> Literal["down", "up"] | None:
    """The way a sentence says a price went: its first signed change ("(+1.2%)") or, without
    one, its first direction word."""
    signed = SIGNED_CHANGE.search(text)
    if signed:
        return "up" if signed.group(0).startswith("+") else "down"
    return said_direction(text)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(min(len(a), len(b)), 1)


NUMBER = re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?")  # never ends on a comma: "2025," is 2025


def ungrounded_numbers(answer: Answer) -> list[str]:
    """Figures in the answer that appear in none of its cited quotes, dates or titles."""
    allowed = " ".join(
        f"{c.quote} {c.title} {c.published_at or ''} {c.n}" for c in answer.citations
    )
    dates = " ".join(
        f"{int(c.published_at[8:10])} {c.published_at[:4]}"
        for c in answer.citations
        if c.published_at
    )
    known = set(NUMBER.findall(allowed)) | set(NUMBER.findall(dates))
    return [n for n in NUMBER.findall(answer.answer) if n not in known]
