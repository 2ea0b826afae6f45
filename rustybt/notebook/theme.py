"""The look of RustyBT's plotly charts: the template (set, or following JupyterLab's theme), the up/down
colours, and the HTML fallback that lets exported notebooks show the charts."""

from __future__ import annotations

import os

from rustybt.errors import InvalidArgument

__all__ = ["AUTO_TEMPLATE", "set_template", "template", "use_html_fallback"]

_UP, _DOWN = "#2da44e", "#cf222e"
#: Template names :func:`set_template` accepts besides plotly's own: "auto" follows JupyterLab's theme.
AUTO_TEMPLATE = "auto"
_template_setting: str = os.environ.get("RUSTYBT_PLOTLY_TEMPLATE", AUTO_TEMPLATE)


def set_template(name: str | None) -> None:
    """Use plotly template ``name`` for every RustyBT chart (``"auto"`` or None: follow JupyterLab's theme).

    The same as ``%config RustyBTMagics.plotly_template = "plotly_dark"`` or ``RUSTYBT_PLOTLY_TEMPLATE``.
    """
    global _template_setting
    name = name or AUTO_TEMPLATE
    if name != AUTO_TEMPLATE:
        import plotly.io as pio

        if name not in pio.templates:
            raise InvalidArgument(f"unknown plotly template {name!r}; use auto or one of {', '.join(pio.templates)}")
    _template_setting = name


def _jupyterlab_dark() -> bool:
    """Whether the user's JupyterLab theme setting names a dark theme (the kernel cannot ask the browser)."""
    import json
    import re
    from pathlib import Path

    base = os.environ.get("JUPYTERLAB_SETTINGS_DIR") or str(Path.home() / ".jupyter" / "lab" / "user-settings")
    path = Path(base) / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    try:
        text = re.sub(r"^\s*//.*$", "", path.read_text(encoding="utf-8"), flags=re.M)  # the file allows comments
        theme = json.loads(text).get("theme", "")
    except (OSError, ValueError, AttributeError):
        return False
    return "dark" in str(theme).lower()


def template() -> str:
    """The plotly template of RustyBT's charts: the one set, else ``plotly_dark`` under a dark JupyterLab
    theme, else ``plotly_white``."""
    use_html_fallback()  # every chart builder asks for the template first: the one place to set this up
    if _template_setting != AUTO_TEMPLATE:
        return _template_setting
    return "plotly_dark" if _jupyterlab_dark() else "plotly_white"


def use_html_fallback() -> str:
    """Let plotly outputs carry an HTML rendering next to the plotly mimetype, so exported HTML and nbviewer show
    the charts (JupyterLab still uses the mimetype). Only plotly's plain Jupyter default is changed: a renderer
    the user chose (``PLOTLY_RENDERER``, ``pio.renderers.default = ...``) is kept. Returns the renderer in use."""
    import plotly.io as pio

    if not os.environ.get("PLOTLY_RENDERER") and pio.renderers.default == "plotly_mimetype":
        pio.renderers.default = "plotly_mimetype+notebook_connected"
    return pio.renderers.default
