"""The local web dashboard and inbox the daemon serves: one more view of the inbox, token-protected.

Only the light launcher is imported here; the server (``coffee_maker.web.server``) and its
templates load in the launcher's thread, so `coffee-maker run` does not wait for them.
"""

from coffee_maker.web._beside import WebBeside

__all__ = ["WebBeside"]
