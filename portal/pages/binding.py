"""Binding a 户号 (户号 + the ID number's last four characters or the meter number, then the holder's
name masked to confirm), and per 户号 its label and unbinding.  Every refusal re-shows the form with
the field named and nothing changed; wrong proofs are counted (billing/bindings.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from billing import bindings
from billing.bindings import Proof
from billing.db import read_session, unit_of_work
from billing.errors import BillingError
from portal.auth import current_resident_id, resident_required
from portal.errors import status_for
from portal.i18n import error_message, gettext as _
from portal.pages.views import own_account
from portal.security import client_address
from portal.wiring import services

blueprint = Blueprint("binding", __name__)
FIELDS = ("account_no", "id_tail", "meter_no", "label")


def _entered() -> dict[str, str]:
    """What the resident typed, for the form to keep (bounded: nothing long is echoed back)."""
    return {name: request.form.get(name, "").strip()[:40] for name in FIELDS}


def _proof(entered: dict[str, str]) -> Proof:
    return Proof(id_tail=entered["id_tail"], meter_no=entered["meter_no"])


def _form(entered: dict[str, str], error: BillingError | None = None):
    return render_template("pages/bind.html", entered=entered, labels=bindings.SUGGESTED_LABELS,
                           error=error_message(error) if error else None, error_field=error.field if error else None,
                           max_label=bindings.MAX_LABEL_CHARS), status_for(error) if error else 200


@blueprint.get("/bind")
@resident_required
def form():
    return _form(dict.fromkeys(FIELDS, "") | {"account_no": request.args.get("account_no", "")[:10]})


@blueprint.post("/bind/check")
@resident_required
def check():
    entered, svc = _entered(), services()
    try:
        bindings.validate_label(entered["label"])
        with unit_of_work(svc.engine) as db:
            candidate = bindings.check_proof(db, current_resident_id(), entered["account_no"], _proof(entered),
                                             client=client_address(), now=svc.clock())
    except BillingError as error:
        return _form(entered, error)
    return render_template("pages/bind_confirm.html", entered=entered, candidate=candidate)


@blueprint.post("/bind")
@resident_required
def bind():
    entered, svc = _entered(), services()
    try:
        with unit_of_work(svc.engine) as db:
            bound = bindings.bind(db, current_resident_id(), entered["account_no"], _proof(entered),
                                  label=entered["label"], client=client_address(), now=svc.clock(),
                                  max_bindings=svc.settings.MAX_BINDINGS)
    except BillingError as error:
        return _form(entered, error)
    flash(_("已绑定户号 {account_no}", account_no=bound.account_no), "info")
    return redirect(url_for("pages.home") + f"#account-{bound.account_no}", 303)


@blueprint.get("/accounts/<account_no>")
@resident_required
def manage(account_no: str):
    with read_session(services().engine) as db:
        account = own_account(db, account_no)
    return render_template("pages/manage.html", account=account, labels=bindings.SUGGESTED_LABELS,
                           max_label=bindings.MAX_LABEL_CHARS, label=account.label, error=None)


@blueprint.post("/accounts/<account_no>/label")
@resident_required
def relabel(account_no: str):
    label = request.form.get("label", "")
    try:
        with unit_of_work(services().engine) as db:
            account = own_account(db, account_no)
            bindings.relabel(db, current_resident_id(), account.account_no, label)
    except BillingError as error:
        with read_session(services().engine) as db:
            account = own_account(db, account_no)
        return render_template("pages/manage.html", account=account, labels=bindings.SUGGESTED_LABELS,
                               max_label=bindings.MAX_LABEL_CHARS, label=label[:40],
                               error=error_message(error)), status_for(error)
    flash(_("备注已保存"), "info")
    return redirect(url_for("pages.home") + f"#account-{account.account_no}", 303)


@blueprint.post("/accounts/<account_no>/unbind")
@resident_required
def unbind(account_no: str):
    svc = services()
    with unit_of_work(svc.engine) as db:
        account = own_account(db, account_no)
        bindings.unbind(db, current_resident_id(), account.account_no, now=svc.clock())
    flash(_("已解除绑定户号 {account_no}", account_no=account.account_no), "info")
    return redirect(url_for("pages.home"), 303)
