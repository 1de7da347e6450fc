"""停电/复电 orders still being worked, for collections: each with its 户号, state, tries and last
error; escalated orders and field orders first, as they wait on a person."""

from __future__ import annotations

from flask import render_template
from sqlmodel import select

from billing.accounts import Account
from billing.db import read_session
from billing.supply_order_records import OPEN, SupplyOrder
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import COLLECTIONS
from portal.wiring import services


@blueprint.get("/supply-orders")
@staff_required(COLLECTIONS)
def supply_orders_page():
    with read_session(services().engine) as db:
        rows = db.exec(select(SupplyOrder, Account.account_no).join(Account, Account.id == SupplyOrder.account_id)
                       .where(SupplyOrder.state.in_(OPEN))
                       .order_by(SupplyOrder.escalated_at.is_(None), SupplyOrder.method, SupplyOrder.id)).all()
    return render_template("staff/supply_orders.html", rows=rows)
