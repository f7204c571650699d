"""Routing and rendering: a request (method, path, query, headers, form) in, a response out.

Kept apart from the socket server so a benchmark or a test can call it directly,
and so every route is visibly behind the same token and CSRF checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

from coffee_maker.config import LoadedConfig
from coffee_maker.interaction.log import redact
from coffee_maker.web import _actions, _charts, _data
from coffee_maker.web._auth import Auth

_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_OPTION_LABELS = {"yes": "Allow", "no": "Deny", "always": "Always allow", "skip": "Skip (use the safe default)"}
_OK = {"answered": "Answered {id}.", "retried": "{id} will be tried again.", "paused": "Paused: the current step "
       "finishes, no new priority starts until you resume.", "resumed": "Resumed."}
_CONTEXT_LABELS = {"agent_last_message": "Its last message", "agent_recent_tools": "Its recent tool calls",
                   "tool": "Tool", "input": "Exact input", "source": "Asked through"}
UNAUTHORIZED = ("This page needs the token printed by `coffee-maker run`; run `coffee-maker web` in the repository "
                "to open it with the token.")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    form: Mapping[str, str] = field(default_factory=dict)


def _finalize(value: Any) -> Any:
    """Every value a template prints is redacted first — the same redaction as the interaction log."""
    if isinstance(value, Markup) or not isinstance(value, (str, dict, list, tuple)):
        return value
    return redact(value)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%M:%S") if ts else ""


class WebApp:
    """The dashboard and inbox over the daemon's files; ``wake`` nudges the idle daemon after a change."""

    def __init__(self, loaded: LoadedConfig, *, token: str, port: int, host: str = "127.0.0.1",
                 wake: threading.Event | None = None) -> None:
        self.loaded = loaded
        self.src = _data.Sources.open(loaded)
        self.auth = Auth(token, port)
        self.host = host
        self.wake = wake
        self.person = loaded.config.web.person
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("coffee_maker.web", "templates"),
                                      autoescape=True, finalize=_finalize, undefined=jinja2.StrictUndefined)
        self.env.filters["when"] = _when
        self._pages: dict[str, Callable[[Request], tuple[str, dict[str, Any]]]] = {
            "/": self._overview, "/inbox": self._inbox, "/roadmap": self._roadmap, "/history": self._history}

    def close(self) -> None:
        self.src.close()

    # ------------------------------------------------------------------ entry

    def authorised(self, request: Request) -> bool:
        return (self.auth.from_cookie(request.headers.get("cookie"))
                or self.auth.from_bearer(request.headers.get("authorization")))

    def handle(self, request: Request) -> Response:
        if "token" in request.query:
            if not self.auth.valid_token(request.query["token"]):
                return self.unauthorized()
            rest = {k: v for k, v in request.query.items() if k != "token"}
            location = request.path + ("?" + urlencode(rest) if rest else "")
            return Response(303, headers=[("Location", location), ("Set-Cookie", self.auth.set_cookie())])
        if not self.authorised(request):
            return self.unauthorized()
        if request.method == "POST":
            if not self.auth.valid_post(request.form.get("csrf"), request.headers.get("origin"),
                                        request.headers.get("host")):
                return Response(403, b"Refused: this form is missing its CSRF token (reload the page and try again).",
                                "text/plain; charset=utf-8")
            return self._post(request)
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"Only GET and POST are served.", "text/plain; charset=utf-8", [("Allow", "GET, POST")])
        if request.path.startswith("/static/"):
            return self._static(request.path.removeprefix("/static/"))
        page = self._pages.get(request.path)
        if page is None:
            return Response(404, b"No such page.", "text/plain; charset=utf-8")
        ok = request.query.get("ok", "")
        message = _OK[ok].format(id=request.query.get("id", "")) if ok in _OK else None
        name, context = page(request)
        return self.render(name, context, request=request, message=message)

    def unauthorized(self) -> Response:
        body = self.env.get_template("unauthorized.html").render()
        return Response(401, body.encode(), headers=[("WWW-Authenticate", 'Bearer realm="coffee_maker"')])

    def render(self, name: str, context: dict[str, Any], *, request: Request, status: int = 200,
               message: str | None = None) -> Response:
        page = name.removesuffix(".html")
        base = {"repo_name": self.loaded.repo.name, "page": page, "csrf": self.auth.csrf, "host": self.host,
                "live": True, "message": message, "status": status, "labels": _OPTION_LABELS, "context_labels": _CONTEXT_LABELS,
                "refresh_url": request.path + ("?" + urlencode(dict(request.query)) if request.query else ""),
                "pending_count": context.get("pending_count", len(self.src.inbox.waiting()))}
        body = self.env.get_template(name).render({**base, **context})
        return Response(status, body.encode(), headers=[("Cache-Control", "no-store")])

    # ------------------------------------------------------------------ pages

    def _overview(self, request: Request) -> tuple[str, dict[str, Any]]:
        return "overview.html", _data.overview_page(self.src)

    def _inbox(self, request: Request) -> tuple[str, dict[str, Any]]:
        data = _data.inbox_page(self.src)
        return "inbox.html", {**data, "pending_count": len(data["pending"])}

    def _roadmap(self, request: Request) -> tuple[str, dict[str, Any]]:
        data = _data.roadmap_page(self.src)
        graph = _charts.dependency_graph([(p["id"], p["status"], p["dependencies"]) for p in data["priorities"]])
        return "roadmap.html", {**data, "graph": graph}

    def _history(self, request: Request) -> tuple[str, dict[str, Any]]:
        data = _data.history_page(self.src, dict(request.query))
        charts = data.pop("charts")
        older_query = urlencode({**{k: v for k, v in data["filters"].items() if v}, "before": data["older"] or ""})
        return "history.html", {
            **data, "older_query": older_query,
            "chart_cost": _charts.bars(charts["cost"], title="cost per day", unit=" USD"),
            "chart_decided": _charts.bars(charts["decided"], title="auto-answered vs escalated", stacked=True,
                                          labels=("by rule", "asked a person")),
            "chart_response": _charts.bars(charts["response"], title="response time per channel", unit=" s")}

    def _static(self, name: str) -> Response:
        suffix = PurePosixPath(name).suffix
        if "/" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
            return Response(404, b"No such file.", "text/plain; charset=utf-8")
        try:
            data = resources.files("coffee_maker.web").joinpath("static", name).read_bytes()
        except FileNotFoundError:
            return Response(404, b"No such file.", "text/plain; charset=utf-8")
        return Response(200, data, _STATIC_TYPES[suffix], [("Cache-Control", "max-age=3600")])

    # ------------------------------------------------------------------ actions

    def _post(self, request: Request) -> Response:
        form, back = request.form, "/"
        if request.path.startswith("/answer/"):
            qid = request.path.removeprefix("/answer/")
            outcome = _actions.answer(self.src, qid, form.get("value", ""), person=self.person)
            back, done, ident = "/inbox", "answered", qid
        elif request.path == "/retry":
            ident = form.get("priority", "")
            outcome = _actions.retry(self.src, ident, person=self.person, wake=self.wake)
            done = "retried"
        elif request.path in ("/pause", "/resume"):
            ident = ""
            outcome = (_actions.pause(self.src, person=self.person) if request.path == "/pause"
                       else _actions.resume(self.src, wake=self.wake))
            done = request.path[1:] + "d"
        else:
            return Response(404, b"No such action.", "text/plain; charset=utf-8")
        if outcome.status == 200:  # post/redirect/get: reloading the page never repeats the action
            return Response(303, headers=[("Location", f"{back}?{urlencode({'ok': done, 'id': ident})}")])
        name, context = self._pages[back](request)
        get = Request("GET", back, {}, request.headers)
        return self.render(name, context, request=get, status=outcome.status, message=outcome.message)
