"""Fakes of remote services and test harness, shipped in the package so tests, benchmarks and the demo share them.

The fakes stand in for one remote service each, on 127.0.0.1 only: a fake Anthropic
Messages API, a fake GitHub/GitLab REST API, a fake Slack Web API + Socket Mode,
an OTLP recorder for Langfuse. The harness: in-memory notification channels
(``channels``), running the real daemon until a condition holds (``daemon_run``),
waiting with a deadline (``waiting``) and setting config keys (``config_edit``).
Nothing here is used in the daemon's own paths; the demo uses ``daemon_run``.
"""
