"""Fakes of remote services, shipped in the package so tests, benchmarks and the demo share them.

Each module stands in for one remote service on 127.0.0.1 only: a fake Anthropic
Messages API, a fake GitHub/GitLab REST API, a fake Slack Web API + Socket Mode,
an OTLP recorder for Langfuse. Nothing here is used in production paths.
"""
