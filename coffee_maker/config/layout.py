"""Where everything under the state directory lives: one home for every file name the daemon keeps.

The daemon, the CLI commands and the web page all open the same files (the state
database, the inbox, the lock, the page's token …). Spelling a name twice is how two
processes end up looking in different places, so each is spelled here once and read
as ``loaded.layout.<name>`` everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DB = "state.db"
INBOX_DB = "inbox.db"
LOCK = "daemon.lock"
WORKTREES = "worktrees"
REVIEWS = "reviews"
WEB_TOKEN = "web.token"
WEB_INFO = "web.json"
LOG_FILE = "coffee-maker.log"
LEARNED_RULES = "learned_rules.toml"
TELEMETRY_DB = "telemetry.db"  # the default of [observe] telemetry_db


@dataclass(frozen=True)
class StateLayout:
    """The paths under one state directory (``[observe] state_dir``, ``.coffee_maker`` by default).

    ``telemetry_name`` and ``worktree_dir`` are the two places the configuration may move.
    """

    root: Path
    telemetry_name: str = TELEMETRY_DB
    worktree_dir: Path | None = None  # [git] worktree_dir, already made absolute; None: under root

    @property
    def state_db(self) -> Path:
        """Phases, transitions, daily cost and the daemon's live status (daemon/state.py)."""
        return self.root / STATE_DB

    @property
    def inbox_db(self) -> Path:
        """The questions waiting for a person (notify/inbox.py); its sessions sit beside it."""
        return self.root / INBOX_DB

    @property
    def telemetry_db(self) -> Path:
        return self.root / self.telemetry_name

    @property
    def lock(self) -> Path:
        """Held by the running daemon: one daemon per state directory."""
        return self.root / LOCK

    @property
    def worktrees(self) -> Path:
        """One git worktree per priority being worked on."""
        return self.worktree_dir if self.worktree_dir is not None else self.root / WORKTREES

    @property
    def reviews(self) -> Path:
        """The local forge's pull-request records."""
        return self.root / REVIEWS

    @property
    def web_token(self) -> Path:
        """The web page's secret (mode 0600)."""
        return self.root / WEB_TOKEN

    @property
    def web_info(self) -> Path:
        """Where the running page listens, for `coffee-maker web`."""
        return self.root / WEB_INFO

    @property
    def log_file(self) -> Path:
        return self.root / LOG_FILE

    @property
    def learned_rules(self) -> Path:
        """"Always allow" answers saved as permission rules."""
        return self.root / LEARNED_RULES
