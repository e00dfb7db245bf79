"""The rule grammar: what is accepted, what it means, what is refused and why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from espf.calendar.rules import CalendarRule, IntervalRule, parse_rule
from espf.errors import BadRequest


@pytest.mark.parametrize(
    ("text", "cron", "every_hour"),
    [
        ("0 0 1 * *", "0 0 1 * *", False),
        ("*/15 * * * *", "*/15 * * * *", True),
        ("0 0-23 * * *", "0 0-23 * * *", True),  # every hour, however it is spelled
        ("0 */2 * * *", "0 */2 * * *", False),
        ("30 9 * * MON-FRI", "30 9 * * MON-FRI", False),
        ("0 0 L * *", "0 0 L * *", False),
        ("daily at 02:30", "30 2 * * *", False),
        ("Daily  at 2:30", "30 2 * * *", False),  # case and spacing do not matter
        ("hourly at :15", "15 * * * *", True),
        ("weekly on monday at 09:00", "0 9 * * 1", False),
        ("weekly on Sun at 23:59", "59 23 * * 0", False),
        ("monthly on day 1 at 00:00", "0 0 1 * *", False),
        ("monthly on day 28 at 12:00", "0 12 28 * *", False),
        ("monthly on the last day at 23:30", "30 23 L * *", False),
    ],
)
def test_calendar_forms(text: str, cron: str, every_hour: bool) -> None:
    rule = parse_rule(text)
    assert isinstance(rule, CalendarRule)
    assert (rule.cron, rule.every_hour) == (cron, every_hour)


@pytest.mark.parametrize(
    ("text", "interval_ms"),
    [
        ("every 1 minute", 60_000),
        ("every 15 minutes", 900_000),
        ("EVERY 90 MINUTES", 5_400_000),
        ("every 2 hours", 7_200_000),
        ("every 168 hours", 604_800_000),
    ],
)
def test_interval_forms(text: str, interval_ms: int) -> None:
    assert parse_rule(text) == IntervalRule(" ".join(text.split()), interval_ms)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "a rule is required"),
        ("   ", "a rule is required"),
        ("whenever", "is not understood"),
        ("0 0 1 * * *", "is not understood"),  # six fields (seconds) are not cron here
        ("0 0 1 *", "is not understood"),
        ("0 0 ? * *", "is not understood"),
        ("60 * * * *", "the minute field is not valid"),
        ("0 24 * * *", "the hour field is not valid"),
        ("0 0 0 * *", "the day-of-month field is not valid"),
        ("0 0 * 13 *", "the month field is not valid"),
        ("0 0 * * 8", "the day-of-week field is not valid"),
        ("5-1 * * * *", "the minute field is not valid"),
        ("*/0 * * * *", "the minute field is not valid"),
        ("30 2 30 2 *", "never fires"),  # February 30th
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("daily at 24:00", "the hour must be from 00 to 23"),
        ("daily at 12:60", "the minute must be from 00 to 59"),
        ("hourly at :75", "the minute must be from 00 to 59"),
        ("weekly on someday at 09:00", "is not a weekday"),
        ("monthly on day 29 at 00:00", "day 29 is not in every month"),
        ("monthly on day 31 at 00:00", "'monthly on the last day at HH:MM'"),
        ("monthly on day 0 at 00:00", "use a day from 1 to 28"),
        ("every 0 minutes", "from 1 minute to 168 hours"),
        ("every 169 hours", "from 1 minute to 168 hours"),
    ],
)
def test_bad_rules_are_bad_requests_that_say_why(text: str, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_rule(text)
    assert caught.value.code == "invalid_rule"
    assert says in caught.value.message


def test_every_refusal_lists_the_forms_or_names_the_problem() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_rule("at midnight")
    message = caught.value.message
    for form in ("cron", "every N minutes", "daily at 02:30", "monthly on day 1 at 00:00"):
        assert form in message


def test_a_rule_that_fires_only_in_leap_years_is_accepted() -> None:
    assert isinstance(parse_rule("0 0 29 2 *"), CalendarRule)


cron_field = st.text(alphabet="0123456789*/,-#LWMONJAFRI", min_size=1, max_size=6)


@settings(max_examples=500, deadline=None)
@given(fields=st.lists(cron_field, min_size=5, max_size=5))
def test_any_cron_text_is_a_rule_or_a_bad_request(fields: list[str]) -> None:
    # Whatever a client sends is parsed or refused with a 400, never a crash.
    try:
        rule = parse_rule(" ".join(fields))
    except BadRequest as error:
        assert error.code == "invalid_rule"
    else:
        assert isinstance(rule, CalendarRule)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_a_rule_or_a_bad_request(text: str) -> None:
    try:
        parse_rule(text)
    except BadRequest as error:
        assert error.code == "invalid_rule"
