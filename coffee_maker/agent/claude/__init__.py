"""The Claude Code backend, in three layers that import only downwards.

``backend`` (the :class:`~coffee_maker.agent.base.AgentBackend` the registry builds) →
``session`` (one running CLI process) → ``protocol`` (the stream-json wire format).
An import-linter contract in pyproject.toml keeps it that way.
"""

from coffee_maker.agent.claude.backend import ClaudeCodeBackend

__all__ = ["ClaudeCodeBackend"]
