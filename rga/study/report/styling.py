"""Tables as the book shows them: text tables (cells written by :mod:`rga.study.report.formats`)
as pandas Stylers, with a caption, the index hidden or not, and cells kept on one line."""

from __future__ import annotations

import pandas as pd

__all__ = ["styled", "with_swatches"]


def styled(
    table: pd.DataFrame,
    caption: str | None = None,
    index: bool = True,
    nowrap: bool | list[str] = False,
):
    """A text table as the book shows it: a Styler, with an optional caption above it and the
    index hidden unless ``index``. Cells are text already (:mod:`rga.study.report.formats`).

    ``nowrap``: True keeps every data cell and the row labels on their lines (a "mean ± sd"
    never breaks at its spaces, "conv2-5_x" never at its hyphen; a cell's own line breaks, such
    as the confidence interval under a mean, stay); a list of columns does so for those only.
    """
    style = table.style.format(escape="html").format_index(escape="html", axis=0)
    style = style.format_index(escape="html", axis=1)
    if not index:
        style = style.hide(axis="index")
    if caption:
        style = style.set_caption(caption)
    if nowrap is True:
        style = style.set_table_styles(
            [{"selector": "td, th.row_heading", "props": "white-space: pre;"}], overwrite=False
        )
    elif nowrap:  # by column, as CSS: unlike set_properties this allows a repeated index
        rules = [{"selector": "td", "props": "white-space: pre;"}]
        style = style.set_table_styles(dict.fromkeys(nowrap, rules), overwrite=False)
    return style


def with_swatches(table: pd.DataFrame):
    """A glossary table whose colour column (hex codes) shows a square in each colour."""
    column = next(c for c in table.columns if "colour" in c)
    return (
        styled(
            table, index=False, nowrap=["label", "positions"] if "positions" in table else ["label"]
        )
        .apply(lambda col: [f"color: {c}; font-size: 1.3em" for c in col], subset=[column])
        .format({column: lambda c: "■"})
    )
