"""Keep every page of the book free of references to content delivery networks.

jupyter-book always loads sphinx-thebe. With launch buttons off, thebe never starts, but its
loader script and a per-page configuration block still name unpkg.com and a Binder repository.
This extension drops both, so a page references local files only (MathJax comes from
_static/mathjax through sphinx-mathjax-offline; ipywidgets' CDN scripts are switched off with
``nb_ipywidgets_js: {}`` in _config.yml).
"""

from __future__ import annotations

from docutils import nodes


def _is_thebe(script) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def _drop_thebe_nodes(app, doctree, docname) -> None:
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "x-thebe-config" in text or text.startswith("<script>kernelName"):
            node.parent.remove(node)


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts if not _is_thebe(s)]
    styles = context.get("css_files")
    if styles:
        context["css_files"] = [s for s in styles if "thebe" not in str(getattr(s, "filename", s))]


def setup(app):
    # After sphinx-thebe's own handlers (default priority 500).
    app.connect("doctree-resolved", _drop_thebe_nodes, priority=900)
    app.connect("html-page-context", _drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
