"""[web] — the dashboard and inbox the daemon serves on loopback."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebSettings(BaseModel):
    """Where the page listens. Every request needs the token kept in the state directory."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Serve the dashboard and inbox while the daemon runs.")
    host: str = Field("127.0.0.1", description="Address to listen on; anything but loopback is reachable "
                      "from the network (the token is still required for every request).")
    # 0 by default: one daemon runs per repository, so a fixed port would collide on the second one;
    # the URL is printed at start and kept in <state_dir>/web.json for `coffee-maker web`.
    port: int = Field(0, ge=0, le=65535, description="Port to listen on; 0 = any free port (see `coffee-maker web`).")
    person: str | None = Field(None, description="Your name in the interaction log for answers given on the page.")
