"""`coffee-maker init`: a commented starter config and, if absent, a starter roadmap."""

from __future__ import annotations

import argparse
import os
import shlex
from importlib import resources
from pathlib import Path

from coffee_maker.commands import _common
from coffee_maker.config import CONFIG_FILE
from coffee_maker.config.starter import starter_config_text
from coffee_maker.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("init", help="write a starter coffee_maker.toml and docs/ROADMAP.md", parents=[common])
    parser.add_argument("--force", action="store_true", help="overwrite an existing coffee_maker.toml")
    parser.set_defaults(func=lambda a: init(Path(_common.repo_arg(a)), _common.roadmap_arg(a), force=a.force))


def starter_roadmap_text() -> str:
    return resources.files("coffee_maker").joinpath("templates/starter_roadmap.md").read_text(encoding="utf-8")


def init(repo: Path, roadmap: str | None, *, force: bool) -> int:
    repo = repo.expanduser().resolve()
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a directory.")
    console = _common.console()
    config_path = repo / CONFIG_FILE
    if config_path.exists() and not force:
        console.print(f"{config_path} already exists; left as is (use --force to overwrite).")
    else:
        config_path.write_text(starter_config_text(), encoding="utf-8")
        console.print(f"Wrote {config_path}")
    roadmap_path = repo / (roadmap or "docs/ROADMAP.md")
    if roadmap_path.exists():
        console.print(f"{roadmap_path} already exists; left as is.")
    else:
        roadmap_path.parent.mkdir(parents=True, exist_ok=True)
        roadmap_path.write_text(starter_roadmap_text(), encoding="utf-8")
        console.print(f"Wrote {roadmap_path}")
    files = " ".join(shlex.quote(os.path.relpath(p, repo)) for p in (config_path, roadmap_path))
    console.print("Next: edit the roadmap, then `coffee-maker roadmap list` and `coffee-maker doctor`.")
    console.print("Then commit and push both files: the daemon branches from the remote's default branch and "
                  "ticks the roadmap there, so it waits until they are pushed.")
    console.print(f"  git add {files} && git commit -m \"chore: add the coffee-maker roadmap and config\" && git push",
                  markup=False)
    return 0
