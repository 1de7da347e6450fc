"""Binding a 户号 from the mini-program, the JSON twin of the web's binding pages: check the proof
(the last four characters of the holder's ID number, or the meter number) and see the holder's
name masked, bind with a label, relabel, set the low-balance threshold, unbind.  The rules, limits
and errors are ``billing.bindings``'s; a wrong proof is counted even though the call fails."""

from __future__ import annotations

from flask import jsonify

from billing import bill_explained, bindings
from billing.bindings import Proof
from billing.db import unit_of_work
from billing.errors import InvalidInput
from portal.api import blueprint, shapes
from portal.api.accounts import today
from portal.api.calls import json_body, resident_id, text_field
from portal.security import client_address
from portal.wiring import services


def _proof(data: dict) -> Proof:
    return Proof(id_tail=text_field(data, "id_tail", required=False, max_chars=10),
                 meter_no=text_field(data, "meter_no", required=False, max_chars=40))


def _answer(db, bound: bindings.BoundAccount) -> dict:
    return shapes.account(bound, bill_explained.standing(db, bound.account_id, on=today()))


@blueprint.post("/bindings/check")
def check_binding():
    data, svc = json_body(), services()
    with unit_of_work(svc.engine) as db:
        found = bindings.check_proof(db, resident_id(), data.get("account_no"), _proof(data),
                                     client=client_address(), now=svc.clock())
    return jsonify(account_no=found.account_no, holder_name_masked=found.holder_masked, category=found.category,
                   regime=found.regime, bound_already=found.bound_already)


@blueprint.post("/bindings")
def bind():
    data, svc = json_body(), services()
    with unit_of_work(svc.engine) as db:
        bound = bindings.bind(db, resident_id(), data.get("account_no"), _proof(data), label=data.get("label", ""),
                              client=client_address(), now=svc.clock(), max_bindings=svc.settings.MAX_BINDINGS)
        return jsonify(_answer(db, bound)), 201


@blueprint.patch("/bindings/<account_no>")
def change_binding(account_no: str):
    """``label`` and/or ``balance_low_fen`` (the 户号's low-balance reminder threshold)."""
    data = json_body()
    if not {"label", "balance_low_fen"} & set(data):
        raise InvalidInput("body", "give label or balance_low_fen")
    with unit_of_work(services().engine) as db:
        bound = bindings.bound_account(db, resident_id(), account_no)
        if "label" in data:
            bound = bindings.relabel(db, resident_id(), account_no, data["label"])
        if "balance_low_fen" in data:
            bound = _set_balance_low(db, account_no, data["balance_low_fen"])
        return jsonify(_answer(db, bound))


def _set_balance_low(db, account_no: str, threshold_fen: object) -> bindings.BoundAccount:
    try:
        return bindings.set_balance_low(db, resident_id(), account_no, threshold_fen)
    except InvalidInput as error:  # named as this API names it
        raise InvalidInput("balance_low_fen", error.message, **error.params) from None


@blueprint.delete("/bindings/<account_no>")
def unbind(account_no: str):
    svc = services()
    with unit_of_work(svc.engine) as db:
        bindings.unbind(db, resident_id(), account_no, now=svc.clock())
    return "", 204
