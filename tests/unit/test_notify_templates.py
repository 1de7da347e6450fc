"""Templates: both languages name the same parameters, a missing one is refused naming it, and the
kinds that may not be opted out of (or that may break quiet hours) are the ones the law needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from string import Formatter

import pytest

from notifications.schedule import MAX_ATTEMPTS, earliest_send, in_quiet_hours, retry_after
from notifications.templates import EN, TEMPLATES, ZH, TemplateError, template


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_both_languages_take_the_same_parameters(kind):
    form = TEMPLATES[kind]
    assert _names(form.zh) == _names(form.en) == form.params()
    params = {name: f"<{name}>" for name in form.params()}
    assert form.render(ZH, params).startswith("【电费】") and form.render(EN, params).startswith("[Power]")


def test_the_fourteen_kinds_and_which_are_required_or_urgent():
    assert len(TEMPLATES) == 14
    assert {k for k, t in TEMPLATES.items() if t.urgent} == {"login_code", "pre_cut_notice"}
    assert {k for k, t in TEMPLATES.items() if t.required} == {
        "login_code", "pre_cut_notice", "disconnection_notice", "disconnected", "balance_negative"}


def test_a_missing_parameter_or_unknown_kind_is_refused_by_name():
    with pytest.raises(TemplateError) as missing:
        template("payment_received").render(ZH, {"account_no": "1", "amount": "1.00"})
    assert missing.value.field == "balance"
    with pytest.raises(TemplateError) as unknown:
        template("lottery_win")
    assert unknown.value.field == "kind"


BEIJING_2200 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("at", "quiet"), [
    (BEIJING_2200 - timedelta(seconds=1), False), (BEIJING_2200, True), (BEIJING_2200 + timedelta(hours=9, seconds=59), True),
    (BEIJING_2200 + timedelta(hours=10), False),
])
def test_quiet_hours_are_22_to_08_beijing(at, quiet):
    assert in_quiet_hours(at) is quiet


def test_quiet_hours_move_reminders_to_the_morning_but_not_urgent_messages():
    morning = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert earliest_send(BEIJING_2200, urgent=False) == morning
    assert earliest_send(morning - timedelta(hours=1), urgent=False) == morning  # 07:00 the same morning
    assert earliest_send(BEIJING_2200, urgent=True) == BEIJING_2200


def test_backoff_doubles_to_an_hour_then_gives_up():
    waits = [retry_after(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)] + [None]
    assert retry_after(30) is None
