"""The jupyter_server extension behind the RustyBT JupyterLab panel (REST API under ``/rustybt/api/``).

Enabled on install by ``etc/jupyter/jupyter_server_config.d/rustybt.json``. The catalog root is the library's own
(``RUSTYBT_DATA_DIR``, the config file, ``~/.rustybt/data``); ``--RustyBTServer.data_dir=<dir>`` (or
``c.RustyBTServer.data_dir`` in a Jupyter config file) overrides it. ``import rustybt`` never imports this module.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode
from traitlets.config import Configurable

__all__ = ["RustyBTServer"]


class RustyBTServer(Configurable):
    """Server-side settings of the RustyBT extension."""

    data_dir = Unicode(
        "",
        config=True,
        help="Catalog root the panel shows (default: RUSTYBT_DATA_DIR, the RustyBT config file, ~/.rustybt/data).",
    )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """jupyter_server's entry point: this module is the extension."""
    return [{"module": "rustybt.jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST handlers on the running server."""
    from jupyter_server.utils import url_path_join

    from rustybt.jupyter.handlers import setup_handlers

    settings = RustyBTServer(parent=server_app)
    state = setup_handlers(server_app.web_app, settings.data_dir or None)
    where = state.root or "RUSTYBT_DATA_DIR / config"
    api = url_path_join(server_app.base_url, "rustybt/api/")
    server_app.log.info("RustyBT extension: catalog API at %s (catalog: %s)", api, where)


def _unload_jupyter_server_extension(server_app: Any) -> None:
    """On server stop: queued ingest jobs are dropped; a running one finishes (the catalog keeps it atomic)."""
    state = server_app.web_app.settings.get("rustybt_state")
    if state is not None:
        state.jobs.shutdown()
