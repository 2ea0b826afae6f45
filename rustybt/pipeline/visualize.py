"""Draw a pipeline's term graph as SVG with a small layered layout (no graphviz needed).

Layout: each term's layer is its longest distance from a source (loadable terms and inputs-free terms at the
top); within a layer, nodes are ordered by a few barycenter sweeps to reduce edge crossings. Edges are cubic
curves from a dependency to its consumer.
"""

from __future__ import annotations

from html import escape

__all__ = ["graph_svg"]

_NODE_H = 34
_LAYER_GAP = 70
_NODE_GAP = 24
_CHAR_W = 6.6
_PAD = 20

_STYLE = {
    "loadable": ("#e8f1fb", "#3b73b9"),
    "output": ("#fdf3e1", "#c27d0e"),
    "screen": ("#fbe9ec", "#b4384f"),
    "root": ("#eeeeee", "#777777"),
    "term": ("#ffffff", "#555555"),
}


def _label(term) -> str:
    text = term.graph_repr() if hasattr(term, "graph_repr") else repr(term)
    text = text.replace("\\l", " ").strip()
    return " ".join(text.split())[:80]


def graph_svg(graph, output_names: dict, screen=None) -> str:
    """SVG for a :class:`~rustybt.pipeline.graph.TermGraph`; ``output_names`` maps terms to column names."""
    nodes = graph.ordered()
    layer: dict = {}
    for term in nodes:
        parents = graph.parents(term)
        layer[term] = 1 + max((layer[p] for p in parents), default=-1)
    n_layers = 1 + max(layer.values(), default=0)
    layers: list[list] = [[] for _ in range(n_layers)]
    for term in nodes:
        layers[layer[term]].append(term)

    position: dict = {}
    for rows in layers:
        for i, t in enumerate(rows):
            position[t] = float(i)
    for _ in range(4):
        for rows in layers[1:]:
            for t in rows:
                ps = graph.parents(t)
                position[t] = sum(position[p] for p in ps) / len(ps) if ps else position[t]
            rows.sort(key=lambda t: position[t])
            for i, t in enumerate(rows):
                position[t] = float(i)
        for rows in reversed(layers[:-1]):
            for t in rows:
                cs = [c for c in graph.children(t) if c in position]
                position[t] = sum(position[c] for c in cs) / len(cs) if cs else position[t]
            rows.sort(key=lambda t: position[t])
            for i, t in enumerate(rows):
                position[t] = float(i)

    labels = {}
    widths = {}
    for t in nodes:
        text = _label(t)
        if t in output_names:
            text = f"{output_names[t]} = {text}"
        labels[t] = text
        widths[t] = max(60.0, len(text) * _CHAR_W + 20)
    row_widths = [sum(widths[t] for t in rows) + _NODE_GAP * max(len(rows) - 1, 0) for rows in layers]
    total_w = max(row_widths, default=100) + 2 * _PAD
    total_h = n_layers * _NODE_H + (n_layers - 1) * _LAYER_GAP + 2 * _PAD

    xy: dict = {}
    for k, rows in enumerate(layers):
        x = _PAD + (total_w - 2 * _PAD - row_widths[k]) / 2
        y = _PAD + k * (_NODE_H + _LAYER_GAP)
        for t in rows:
            xy[t] = (x, y)
            x += widths[t] + _NODE_GAP

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="monospace" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>',
    ]
    for t in nodes:
        x1, y1 = xy[t]
        for p in graph.parents(t):
            x0, y0 = xy[p]
            sx, sy = x0 + widths[p] / 2, y0 + _NODE_H
            ex, ey = x1 + widths[t] / 2, y1
            my = (sy + ey) / 2
            parts.append(
                f'<path d="M {sx:.1f} {sy:.1f} C {sx:.1f} {my:.1f}, {ex:.1f} {my:.1f}, {ex:.1f} {ey:.1f}" '
                'fill="none" stroke="#888" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
    from rustybt.pipeline.term import AssetExists, LoadableTerm

    for t in nodes:
        x, y = xy[t]
        if t is screen:
            kind = "screen"
        elif t in output_names:
            kind = "output"
        elif isinstance(t, LoadableTerm):
            kind = "loadable"
        elif isinstance(t, AssetExists):
            kind = "root"
        else:
            kind = "term"
        fill, stroke = _STYLE[kind]
        parts.append(
            f'<g class="node {kind}"><title>{escape(repr(t))}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{widths[t]:.1f}" height="{_NODE_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.4"/>'
            f'<text x="{x + widths[t] / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" text-anchor="middle">'
            f"{escape(labels[t])}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
