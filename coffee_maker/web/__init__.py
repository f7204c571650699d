"""The local web dashboard and inbox the daemon serves: one more view of the inbox, token-protected."""

from coffee_maker.web.server import WebServer, is_loopback

__all__ = ["WebServer", "is_loopback"]
