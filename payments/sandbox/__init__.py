"""Local, protocol-accurate simulators of the payment gateways, for the demo and the tests."""
