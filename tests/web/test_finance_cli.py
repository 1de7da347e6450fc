"""``dianfei bills finance-check``: the month's figures from the bills and from the ledger, exit 0
when they agree and 1 when one differs; a bad month names ``--month``."""

import pytest

from billing import finance_statement
from billing.finance_statement import Check
from portal.cli import cli
from tests.bill_helpers import issue_bill, new_account


def _check(app, *args):
    return app.test_cli_runner().invoke(cli, ["bills", "finance-check", *args])


def test_prints_each_figure_from_both_books(app, engine, clock):
    issue_bill(engine, clock, new_account(engine, clock), 12_345)
    result = _check(app, "--month", "2026-11")
    assert result.exit_code == 0, result.output
    assert "2026-11 billed: bills 123.45 元, ledger 123.45 元, agrees" in result.output
    assert "2026-11 owed: bills 123.45 元, ledger 123.45 元, agrees" in result.output
    assert "2026-10 billed: bills 0.00 元" in _check(app).output  # last month by default


def test_a_difference_exits_1(app, engine, clock, monkeypatch):
    real = finance_statement.statement

    def differing(session, month):
        found = real(session, month)
        found.checks.append(Check("billed", 1, 2))
        return found

    monkeypatch.setattr(finance_statement, "statement", differing)
    result = _check(app, "--month", "2026-11")
    assert result.exit_code == 1 and "bills 0.01 元, ledger 0.02 元, DIFFERS" in result.output


@pytest.mark.parametrize("month", ["2026-13", "202611", "0001-01"])
def test_a_bad_month_names_the_option(app, engine, month):
    result = _check(app, "--month", month)
    assert result.exit_code == 1 and "--month" in result.output
