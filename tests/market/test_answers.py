"""Figures and the premise check inside answers, from the bundled price snapshot (the test
settings are offline with no exchange, so every figure is the snapshot's, labelled so)."""

from __future__ import annotations

import re
from datetime import date

from bot.console import handle_line
from bot.render import answer_embed, answer_text
from bot.services import Services
from tests.snapshot import last_close


def figures_by_kind(answer: object) -> dict[str, dict[str, object]]:
    return {f.kind: f.to_json() for f in answer.figures}  # type: ignore[attr-defined]


def test_an_answer_shows_the_price_and_the_move_it_is_about(seeded: Services) -> None:
    answer = seeded.ask("why did ETH fall 14%?")

    figures = figures_by_kind(answer)
    quote, move, context = figures["quote"], figures["move"], figures["context"]
    assert quote["status"] == "snapshot" and quote["source"]
    assert "snapshot" in str(quote["text"]) and "no live price" in str(quote["text"])
    # The seed article (5 Nov) reports the crash of 4 Nov: that day's bar, from Binance.
    assert move["day"] == "2025-11-04"
    assert (move["open"], move["low"], move["close"]) == (3603.84, 3057.0, 3287.05)
    assert move["pct"] == -8.79 and move["from_previous_open_pct"] == -15.86
    assert "Binance" in str(move["source"])
    assert context["benchmark"] == "BTC" and float(context["benchmark_pct"]) < 0  # type: ignore[arg-type]


def test_a_right_premise_is_confirmed_by_stating_the_move(seeded: Services) -> None:
    answer = seeded.ask("why did ETH fall 14%?")

    assert answer.premise is not None
    assert answer.premise.verdict == "consistent" and answer.premise.sentence is None
    first = answer_text(answer).split("\n", 1)[0]
    assert first.startswith("ETH fell 8.8% on 4 Nov 2025, 15.9% from the 3 Nov open;")
    assert "in the question" not in first  # nothing to correct


def test_an_overstated_move_is_corrected_in_one_sentence_first(seeded: Services) -> None:
    answer = seeded.ask("why did ETH fall 30%?")

    assert answer.status == "answered"
    assert answer.premise is not None and answer.premise.verdict == "overstated"
    expected = (
        "ETH fell 8.8% on 4 Nov 2025, 15.9% from the 3 Nov open: less than the 30% in the question;"
    )
    assert answer_text(answer).startswith(expected)
    embed = answer_embed(answer)
    assert embed.description is not None and embed.description.startswith(expected)
    # The correction comes from price data, not from the quoted sources: no [n] on it.
    assert not re.search(r"\[\d+\]", expected)


def test_a_move_in_the_wrong_direction_is_called_out(seeded: Services) -> None:
    answer = seeded.ask("why did ETH rise 14% on Nov 4?")

    assert answer.premise is not None and answer.premise.verdict == "wrong_direction"
    assert "did not rise" in answer_text(answer)


def test_the_json_premise_has_the_documented_shape(seeded: Services) -> None:
    data = seeded.ask("why did ETH fall 14% on 4 Nov 2025?").to_json()

    premise = data["premise"]
    assert premise["asset"] == "ETH" and premise["claimed_pct"] == 14.0
    assert premise["verdict"] == "consistent"
    labels = {w["label"]: w["pct"] for w in premise["windows"]}
    assert labels["4 Nov open to low"] == -15.17 and labels["3 Nov open to 4 Nov close"] == -15.86


def test_a_question_naming_no_asset_gets_no_figures(seeded: Services) -> None:
    answer = seeded.ask("why did crypto crash?")

    assert answer.figures == () and answer.premise is None


def test_the_console_price_and_chart_commands(seeded: Services) -> None:
    price = handle_line(seeded, "/price ether")
    chart = handle_line(seeded, "/chart eth 30")
    unknown = handle_line(seeded, "/price @everyone")

    assert price is not None and price.startswith(f"ETH price: ${last_close('ETH')[1]:,.2f}")
    assert chart is not None and "Chart saved to" in chart
    path = chart.rsplit("Chart saved to ", 1)[1].strip()
    with open(path, "rb") as image:
        assert image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert unknown is not None and "I don't know the asset" in unknown


def test_a_date_no_market_data_can_cover_is_answered_without_figures_for_it(
    seeded: Services,
) -> None:
    for question in ("why did ETH fall 14% on 0001-01-03?", "why did ETH fall on Dec 31, 9999?"):
        answer = seeded.ask(question)
        assert not [f for f in answer.figures if f.kind == "move"]


def test_a_console_chart_with_an_odd_day_count_keeps_the_session(seeded: Services) -> None:
    import io

    from rich.console import Console

    from bot.console import run_console

    output = io.StringIO()
    run_console(seeded, io.StringIO("/chart ETH \u00b2\n/help\n"), Console(file=output, width=200))

    lines = output.getvalue().splitlines()
    # The odd line is refused in one line that names what was typed, as text...
    assert "I don't know the asset 'ETH \u00b2': try a ticker such as BTC, ETH or SPY." in lines
    assert not any("Traceback" in line for line in lines)
    # ...and the session goes on: /help, the next line, printed its whole list.
    assert lines[-1].strip().startswith("/quit") and "Commands:" in lines


def test_tiny_prices_are_written_out_not_in_scientific_notation() -> None:
    from bot.market.figures import money

    assert money(0.00001234) == "$0.00001234"
    assert money(0.1652) == "$0.1652"
    assert money(3603.84) == "$3,603.84"


def test_a_chart_around_an_event_marks_the_article_that_explains_it(seeded: Services) -> None:
    png, caption = seeded.chart("eth", 14, date(2025, 11, 4))

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert caption.startswith("ETH, 29 Oct to 11 Nov 2025.")  # 14 days, the 4th in the middle
    [seed] = seeded.sources()
    assert f"[1] {seed.title}" in caption


def test_a_chart_day_that_is_not_a_date_is_refused_clearly(seeded: Services) -> None:
    reply = handle_line(seeded, "/chart eth 14 2025-13-45")

    assert reply is not None and "is not a day" in reply


def test_a_chart_around_a_day_no_market_data_covers_is_refused_clearly(seeded: Services) -> None:
    for line in ("/chart eth 14 0001-01-01", "/chart eth 14 2999-01-01"):
        reply = handle_line(seeded, line)
        assert reply is not None and reply.startswith("Charts cover 3 Jan 2009 to today.")
