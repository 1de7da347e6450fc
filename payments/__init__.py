"""Payment channels: orders, settlement, refunds, bulk and counter payments, gateways, sandboxes."""
