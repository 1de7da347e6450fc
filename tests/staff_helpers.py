"""Back-office test helpers: one member of staff per role, logging in, taking money at the counter
the way a cashier does (rows, then the confirm page, then the money)."""

from __future__ import annotations

import re

from billing.db import unit_of_work
from billing.staff import ROLES, add_staff
from tests.conftest import csrf_token

PASSWORD = "demo1234"


def add_team(engine) -> None:
    """``reader1``, ``reviewer1``, ``cashier1``, ``finance1``, ``admin1``: one per role."""
    with unit_of_work(engine) as db:
        for role in ROLES:
            add_staff(db, username=f"{role}1", name=f"{role}1", password=PASSWORD, roles=[role])


def log_in(client, username: str):
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def counter_rows(*rows: tuple[str, str]) -> dict[str, str]:
    data = {}
    for number, (account_no, amount) in enumerate(rows, start=1):
        data[f"account_no-{number}"], data[f"amount-{number}"] = account_no, amount
    return data


def confirm_form(page: str) -> dict[str, str]:
    """The hidden fields of the confirm page, as the browser would post them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def take_at_counter(client, *rows: tuple[str, str], method: str = "cash"):
    """Enter the rows, check the confirm page, take the money: the response after the last step."""
    token = csrf_token(client, "/staff/counter")
    preview = client.post("/staff/counter/preview", data={"csrf_token": token, **counter_rows(*rows)})
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return client.post("/staff/counter", data={**confirm_form(preview.get_data(as_text=True)), "method": method})
