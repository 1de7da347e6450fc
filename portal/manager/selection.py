"""The preview's selection, carried to the pay button in one signed form field.

The preview page holds no amounts the server would take on trust: the (户号, fen) lines are signed
with the app's secret, tied to the organisation and to a lifetime, and paying checks them again
(the 户号 still managed, each amount within the limits) before anything reaches a channel.
"""

from __future__ import annotations

from billing.accounts import Account
from billing.errors import InvalidInput
from portal import sealed

SALT = "manager-selection"
LIFETIME_SECONDS = 3600


def seal(manager_id: int, lines: list[tuple[Account, int]]) -> str:
    return sealed.seal(SALT, {"manager": manager_id, "lines": [[a.account_no, fen] for a, fen in lines]})


def unseal(token: str, manager_id: int) -> list[tuple[str, int]]:
    """The sealed lines, if the token is ours, unaltered, recent and for this organisation."""
    data = sealed.unseal(SALT, token, max_age=LIFETIME_SECONDS, field="selection")
    if data.get("manager") != manager_id:
        raise InvalidInput("selection", "the preview was made for another property manager")
    return [(str(account_no), int(fen)) for account_no, fen in data["lines"]]
