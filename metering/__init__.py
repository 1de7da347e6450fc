"""Metering: the head-end that throws smart meters' relays, its local simulator, and the worker
that carries supply orders (``billing.supply_orders``) to it.  HTTP clients live here, not in billing."""
