"""``dianfei bills post-late-fees``: posts the fees accrued and not posted, once; a future date or a
malformed one ends with one line naming ``--date``."""

import pytest

from portal.cli import cli
from tests.bill_helpers import issue_bill, new_account
from tests.late_fee_helpers import fee_bills


def _post(app, *args):
    return app.test_cli_runner().invoke(cli, ["bills", "post-late-fees", *args])


def test_posts_the_fees_accrued_once(app, engine, clock):
    account = new_account(engine, clock)
    bill = issue_bill(engine, clock, account, 100_000)
    clock.advance(days=30)  # 10 days overdue: 10 元
    first = _post(app)
    assert first.exit_code == 0, first.output
    assert "1 accounts with overdue bills; 1 fee bills posted, 10.00 元" in first.output
    assert "0 fee bills posted, 0.00 元" in _post(app).output
    assert [fee.total_fen for fee in fee_bills(engine, bill)] == [1000]


@pytest.mark.parametrize(("date", "says"), [("2099-01-01", "in the future"), ("2026-13-01", "not a date of the"),
                                            ("20261201", "not a date such as")])
def test_a_bad_date_names_the_option(app, engine, date, says):
    result = _post(app, "--date", date)
    assert result.exit_code == 1 and "--date" in result.output and says in result.output
