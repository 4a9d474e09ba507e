"""Load the Probe page's viewer on the Probe page only.

Jupyter Book adds every ``.js`` and ``.css`` file under ``_static`` to every page. The browser
probe's script, style and data (``_static/probe/``: about 1.5 MB of data, written when the
Probe page runs) are embedded by that page's own output instead
(``rga.study.report.probe_viewer.viewer_html``), so this extension takes them off the list of
files every page loads.
"""

from __future__ import annotations

PREFIX = "probe/"  # under _static


def _name(entry) -> str:
    return str(entry[0] if isinstance(entry, (tuple, list)) else entry)


def _drop_probe_assets(app, config) -> None:
    for option in ("html_js_files", "html_css_files"):
        entries = getattr(config, option, None) or []
        setattr(config, option, [e for e in entries if not _name(e).startswith(PREFIX)])


def setup(app):
    app.connect("config-inited", _drop_probe_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
