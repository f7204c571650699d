"""coffee_maker: an autonomous roadmap daemon.

It reads a project's docs/ROADMAP.md, has a coding agent implement the next
planned priority on a branch, answers or escalates the agent's questions, and
opens a pull request for a person to review.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
