"""`coffee-maker web` — open the running daemon's dashboard and inbox (or print its URL)."""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.lock import lock_holder
from coffee_maker.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    web = sub.add_parser("web", help="open the running daemon's dashboard and inbox in a browser", parents=[common])
    web.add_argument("--print", dest="print_only", action="store_true", help="print the URL, do not open a browser")
    web.set_defaults(func=lambda a: open_web(_common.load(a), print_only=a.print_only))


def web_url(loaded: LoadedConfig) -> str:
    """The URL of the running daemon's page, with its token; a sentence saying why not otherwise."""
    from coffee_maker.web._token import read_info, read_token

    if not loaded.config.web.enabled:
        raise UsageError("The web page is off: set `[web] enabled = true` in coffee_maker.toml and restart the daemon.")
    pid = lock_holder(loaded.layout.lock)
    info = read_info(loaded.layout)
    if pid is None or info is None or info.get("pid") != pid:
        raise UsageError(f"No daemon is serving the page for {loaded.repo}; start one with `coffee-maker run` "
                         "(if it is running, its log says why the page could not listen).")
    token = read_token(loaded.layout)
    if token is None:
        raise UsageError(f"The page's token is missing from {loaded.state_dir}; restart the daemon to make a new one.")
    return f"{info['url']}?token={token}"


def open_web(loaded: LoadedConfig, *, print_only: bool) -> int:
    url = web_url(loaded)
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.name == "nt" \
        or os.uname().sysname == "Darwin"
    if not print_only and has_display and webbrowser.open(url):
        _common.console().print("Opened the dashboard in your browser.")
        return 0
    sys.stdout.write(url + "\n")  # plain: a terminal may make it clickable, rich would wrap it
    return 0
