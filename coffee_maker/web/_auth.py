"""Who may see the page and change things: a token, a cookie after the first visit, CSRF on every POST.

The first visit carries ``?token=…`` (the URL ``coffee-maker run`` prints); the page
answers with an HttpOnly, SameSite=Strict cookie and redirects to the same path
without the token, so it does not stay in the address bar or the history.
The cookie name carries the port: cookies are shared by every port of a host, and
two daemons (two repositories) on one machine must not overwrite each other's.
A POST must carry the CSRF value (an HMAC of the token, so it needs no storage)
and, when the browser sends one, an Origin that matches the Host it asked.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit


class Auth:
    def __init__(self, token: str, port: int) -> None:
        self.token = token
        self.cookie_name = f"coffee_maker_{port}"
        self.csrf = hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()[:32]

    def valid_token(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token.encode())

    def from_cookie(self, header: str | None) -> bool:
        if not header:
            return False
        try:
            jar = SimpleCookie(header)
        except CookieError:
            return False
        morsel = jar.get(self.cookie_name)
        return morsel is not None and self.valid_token(morsel.value)

    def from_bearer(self, header: str | None) -> bool:
        return bool(header) and header is not None and header.startswith("Bearer ") and self.valid_token(header[7:])

    def set_cookie(self) -> str:
        return f"{self.cookie_name}={self.token}; HttpOnly; SameSite=Strict; Path=/"

    def valid_post(self, csrf: str | None, origin: str | None, host: str | None) -> bool:
        """The form's CSRF value matches, and a cross-origin page did not send it."""
        if csrf is None or not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            return False
        if origin is not None:  # "null" (a sandboxed frame, a file) never matches a host
            return urlsplit(origin).netloc == (host or "")
        return True
