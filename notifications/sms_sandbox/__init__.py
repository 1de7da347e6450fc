"""A local, protocol-accurate Tencent Cloud SMS (API 2021-01-11), for the demo, the tests and the bench.

It is the provider, so it never imports the SDK: it checks the TC3-HMAC-SHA256 signature itself
(``tc3``) and answers in Tencent's JSON shape (``provider``).  Serve it on loopback with
``payments.sandbox.server.LoopbackServer`` (the portal, tests and bench do; this package stays below
the portal and beside payments, so it imports neither)."""
