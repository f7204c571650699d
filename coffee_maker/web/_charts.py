"""Small bar charts as inline SVG, drawn on the server: no chart library, no build step, works without JS."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

_W, _H, _PAD = 320, 120, 18


def bars(points: Sequence[tuple[str, float, float]], *, title: str, unit: str = "", stacked: bool = False,
         labels: tuple[str, str] = ("", "")) -> Markup:
    """One bar per point (label, a, b); with ``stacked`` the second value sits on the first in another colour."""
    if not points:
        return Markup(f'<p class="muted">{escape(title)}: no data yet.</p>')
    top = max((a + b if stacked else a) for _, a, b in points) or 1.0
    step = (_W - 2 * _PAD) / len(points)
    width = max(2.0, step * 0.7)
    parts = [f'<svg viewBox="0 0 {_W} {_H + 20}" role="img" class="chart" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, a, b) in enumerate(points):
        x = _PAD + i * step
        ha = (_H - _PAD) * a / top
        parts.append(f'<rect class="bar-a" x="{x:.1f}" y="{_H - ha:.1f}" width="{width:.1f}" height="{ha:.1f}">'
                     f"<title>{escape(label)}: {a:g}{escape(unit)}{' ' + escape(labels[0]) if labels[0] else ''}"
                     "</title></rect>")
        if stacked and b:
            hb = (_H - _PAD) * b / top
            parts.append(f'<rect class="bar-b" x="{x:.1f}" y="{_H - ha - hb:.1f}" width="{width:.1f}" '
                         f'height="{hb:.1f}"><title>{escape(label)}: {b:g} {escape(labels[1])}</title></rect>')
        if len(points) <= 16:
            parts.append(f'<text x="{x + width / 2:.1f}" y="{_H + 14}" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<text x="{_PAD}" y="12" class="axis">max {top:.3g}{escape(unit)}</text></svg>')
    return Markup("".join(parts))


def dependency_graph(nodes: Sequence[tuple[str, str, Sequence[str]]]) -> Markup:
    """Priorities (id, status, dependencies) in columns by depth, an arrow from each dependency."""
    if not nodes:
        return Markup("")
    known = {n[0]: n for n in nodes}
    depth: dict[str, int] = {}

    def level(pid: str, seen: frozenset[str] = frozenset()) -> int:
        if pid in depth:
            return depth[pid]
        deps = [d for d in known[pid][2] if d in known and d not in seen and d != pid]
        depth[pid] = 1 + max((level(d, seen | {pid}) for d in deps), default=-1)
        return depth[pid]

    rows: dict[int, int] = {}
    pos: dict[str, tuple[float, float]] = {}
    for pid, _, _ in nodes:
        col = level(pid)
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[pid] = (10 + col * 170, 10 + row * 40)
    width = 10 + (max(rows) + 1) * 170
    height = 10 + max(rows.values()) * 40
    parts = [f'<svg viewBox="0 0 {width} {height}" class="graph" role="img" aria-label="dependency graph">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>']
    for pid, _, deps in nodes:
        for dep in deps:
            if dep in pos and dep != pid:
                (x1, y1), (x2, y2) = pos[dep], pos[pid]
                parts.append(f'<line x1="{x1 + 150}" y1="{y1 + 14}" x2="{x2}" y2="{y2 + 14}" marker-end="url(#arrow)"/>')
    for pid, status, _ in nodes:
        x, y = pos[pid]
        parts.append(f'<g class="node {escape(status)}"><rect x="{x}" y="{y}" width="150" height="28" rx="5"/>'
                     f'<text x="{x + 75}" y="{y + 18}" text-anchor="middle">{escape(pid)}</text>'
                     f"<title>{escape(pid)}: {escape(status)}</title></g>")
    parts.append("</svg>")
    return Markup("".join(parts))
