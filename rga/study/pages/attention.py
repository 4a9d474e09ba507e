"""The Attention maps page (``book/attention.md``): supplementary Figures 1 and 2 redrawn from
the saved attention arrays, the part scores of Figure 2 as a table and sentences, and the
page's opening answer.

How a map is drawn (the Probe page's figures, ``rga.study.pages.probe``, draw the same way):

* on its true feature grid, one flat cell per position with the cell edges drawn (the
  supplementary upsamples smoothly; bilinear upsampling would hide that the maps after conv4_x
  and conv5_x have 6x3 cells here): :func:`draw_grid_map`;
* with the person mask (SynthReID, 1 = person) outlined on every panel: :func:`draw_person_outline`;
* in colours spanning each row's own range, min to max over the row's maps, given by the row's
  colour bar (a fixed 0-1 scale leaves a gate that moves between 0.50 and 0.58 one flat colour):
  :func:`map_range`;
* with a score per image: the share of the map's mass on the person mask
  (:func:`person_scores`, the per-image value the page's precision tables average), and under
  each image the person's share of the pixels, what a uniform map scores.

Everything reads the saved arrays (``rga.study.report.attention_arrays``); nothing runs a model.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.patheffects as effects
import numpy as np
import pandas as pd
from IPython.display import Markdown
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from rga.analysis.draw import NotebookFigure
from rga.analysis.precision import attention_precision_per_image
from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.attention_parts import BODY_PARTS, PART_SCORE_COLUMNS
from rga.study.report.labels import STAGE_LABELS, setting_label
from rga.study.report.runs import format_mean_sd
from rga.synth import PARTS

__all__ = [
    "MAP_CMAP",
    "answer",
    "compare_saved_models",
    "draw_grid_map",
    "draw_person_outline",
    "figure_caption",
    "fourth_map_numbers",
    "listed",
    "map_range",
    "module_label",
    "parts_sentences",
    "parts_summary",
    "person_scores",
    "saved_stages_figure",
]

MAP_CMAP = "viridis"  # perceptually uniform, unlike the supplementary's jet
PANEL = (0.95, 1.9)  # inches (width, height) of one 2:1 person panel; six fit the text column
COLOURS_NOTE = (
    "Colours: each row's own range, min to max over its maps (colour bar at its right). "
    "White line: the person mask."
)


def listed(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c": items in a sentence."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def module_label(stage: int) -> str:
    """ "RGA-SC4 (after conv5_x)": the supplementary's name of the module after ``stage``."""
    return f"RGA-SC{stage} (after {STAGE_LABELS[stage]})"


# --- drawing one panel ------------------------------------------------------------------------


def _bare(ax) -> None:
    """No ticks, grid or frame, but room for the x and y labels (the scores, the row names)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _image_axes(ax, size: tuple[int, int]) -> None:
    """Pixel coordinates of an (H, W) image, row 0 at the top, square pixels."""
    height, width = size
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_aspect("equal")
    _bare(ax)


def map_range(maps) -> tuple[float, float]:
    """(min, max) of ``maps`` (any shape), the colour range of a row of panels; a constant map
    gets a range of width 1e-6 around its value so that colours stay defined."""
    values = np.asarray(maps, dtype=np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    return (low - 5e-7, high + 5e-7) if high - low < 1e-6 else (low, high)


def draw_grid_map(
    ax,
    values,
    size: tuple[int, int],
    vrange: tuple[float, float] | None = None,
    cmap: str = MAP_CMAP,
) -> QuadMesh:
    """An (h, w) map drawn on its own grid over the area of an (H, W) = ``size`` image: one
    flat cell per value, its edges drawn (nearest, never interpolated).

    Args:
        ax: the Axes to draw into.
        values: (h, w) map.
        size: (H, W) pixels of the image the map covers; cell (r, c) spans rows
            r * H / h .. (r + 1) * H / h of it.
        vrange: (min, max) of the colour scale; None: the map's own (:func:`map_range`).
    Returns:
        the QuadMesh; its array is the map itself, h * w values.
    """
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError(f"expected one (h, w) map; got shape {grid.shape}")
    (h, w), (height, width) = grid.shape, size
    vmin, vmax = map_range(grid) if vrange is None else vrange
    rows = np.linspace(-0.5, height - 0.5, h + 1)  # the h + 1 cell edges, in image pixels
    cols = np.linspace(-0.5, width - 0.5, w + 1)
    mesh = ax.pcolormesh(
        cols, rows, grid, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat",
        edgecolors=(0.0, 0.0, 0.0, 0.25), linewidth=0.3,
    )  # fmt: skip
    _image_axes(ax, size)
    return mesh


def draw_person_outline(ax, mask):
    """The outline of a person mask ((H, W), 1 = person) in the pixel coordinates of its image:
    a white line with a dark edge, visible on photos and maps alike. Returns the contour set, or
    None when the mask is empty or full (nothing to outline)."""
    person = np.asarray(mask) > 0
    if not person.any() or person.all():
        return None
    limits = ax.get_xlim(), ax.get_ylim()
    outline = ax.contour(person.astype(float), levels=[0.5], colors="white", linewidths=0.9)
    outline.set_path_effects([effects.withStroke(linewidth=2.0, foreground="0.1")])
    ax.set_xlim(*limits[0])  # contour() autoscales to its own extent
    ax.set_ylim(*limits[1])
    return outline


def draw_image(ax, image, mask=None) -> None:
    """An (H, W, 3) image as shown to the network, its person outlined when ``mask`` is given."""
    ax.imshow(np.asarray(image), interpolation="nearest")
    _image_axes(ax, np.shape(image)[:2])
    if mask is not None:
        draw_person_outline(ax, mask)


def person_scores(maps, masks) -> dict[str, np.ndarray]:
    """Per image, how much of a spatial map falls on the person.

    Args:
        maps: (B, h, w) non-negative maps (sigmoid gates).
        masks: (B, H, W) person masks, 1 = person.
    Returns:
        {"mass_on_person": (B,), "person_area": (B,)}: the share of the map's mass on person
        pixels (``rga.analysis.precision``, the map upsampled to the mask as there), and the
        mask's share of the pixels, what a uniform map scores.
    """
    scores = attention_precision_per_image(maps, np.asarray(masks) > 0)
    return {"mass_on_person": scores["mass_on_person"], "person_area": scores["chance"]}


# --- Figures 1 and 2 --------------------------------------------------------------------------


def _maps_figure(
    images: np.ndarray, masks: np.ndarray | None, rows: Mapping[str, np.ndarray], title: str
) -> Figure:
    """The images in the top row, then one row per map set ({row label: (n, h, w) maps}), each
    on its grid and in its row's colour range, with the row's colour bar and per-image scores."""
    n, size = len(images), images.shape[1:3]
    fig = NotebookFigure(  # at least 6.5 inches wide: room for the title and the note
        figsize=(max(PANEL[0] * n + 1.9, 6.5), (PANEL[1] + 0.3) * (len(rows) + 1) + 0.7),
        layout="constrained",
    )
    axes = fig.subplots(len(rows) + 1, n, squeeze=False)
    for i, ax in enumerate(axes[0]):
        draw_image(ax, images[i], None if masks is None else masks[i])
        ax.set_title(f"test image {i + 1}", fontsize=8)
    if masks is not None:
        areas = (np.asarray(masks[:n]) > 0).mean(axis=(1, 2))  # what a uniform map scores
        for ax, area in zip(axes[0], areas, strict=True):
            ax.set_xlabel(f"person {area:.2f}\nof the pixels", fontsize=7)
    axes[0, 0].set_ylabel("image", fontsize=8)
    for row_axes, (label, maps) in zip(axes[1:], rows.items(), strict=True):
        maps = np.asarray(maps[:n], dtype=np.float64)
        vrange = map_range(maps)
        scores = person_scores(maps, masks[:n])["mass_on_person"] if masks is not None else None
        for i, ax in enumerate(row_axes):
            mesh = draw_grid_map(ax, maps[i], size, vrange)
            if masks is not None:
                draw_person_outline(ax, masks[i])
                ax.set_xlabel(f"on person {scores[i]:.2f}", fontsize=7)
        h, w = maps.shape[1:]
        row_axes[0].set_ylabel(f"{label}\n{h}×{w} cells", fontsize=8)
        bar = fig.colorbar(mesh, ax=row_axes.tolist(), ticks=vrange, aspect=12, pad=0.02)
        bar.ax.set_yticklabels([f"{v:.3f}" for v in vrange], fontsize=7)
        bar.set_label("gate", fontsize=7, labelpad=-4)
    fig.suptitle(title, fontsize=9)
    note = COLOURS_NOTE
    if masks is not None:
        note += "\nUnder each map: the share of its mass on the person (a uniform map: the person's share)."
    fig.supxlabel(note, fontsize=7, color="0.3")
    return fig


def _same_images(saved: Mapping[str, AttentionArrays]) -> AttentionArrays:
    """The first arrays of ``saved``, after checking that every run saved the same images."""
    first = next(iter(saved.values()))
    for label, arrays in saved.items():
        if arrays.images.shape != first.images.shape or not np.array_equal(
            arrays.images, first.images
        ):
            raise ValueError(
                f"the saved attention arrays of {label!r} hold other images than the others; "
                "save every run's maps on the same test images"
            )
    return first


def _seed(arrays: AttentionArrays) -> str:
    return f"seed {arrays.meta['seed']}" if "seed" in arrays.meta else "seed unknown"


def compare_saved_models(
    saved: Mapping[str, AttentionArrays], stage: int = 4, n: int = 6
) -> Figure:
    """Supplementary Figure 1 from saved arrays: the first ``n`` test images, then each model's
    spatial gate at ``stage`` ({row label: arrays}, e.g. CBAM-CS, RGA-SC w/o Rel., RGA-SC), one
    row per model named with its seed. The runs must have saved the same images."""
    first = _same_images(saved)
    n = min(n, len(first.images))
    rows = {f"{label}\n{_seed(a)}": a.spatial[stage][:n] for label, a in saved.items()}
    masks = None if first.masks is None else first.masks[:n]
    title = f"The spatial gate of the module after {STAGE_LABELS[stage]}, model by model"
    return _maps_figure(first.images[:n], masks, rows, title)


def saved_stages_figure(saved: AttentionArrays, n: int = 6) -> Figure:
    """Supplementary Figure 2 from saved arrays: the first ``n`` test images, then the spatial
    gate of every module (RGA-SC1 .. RGA-SC4), one row per module."""
    n = min(n, len(saved.images))
    rows = {
        f"RGA-SC{stage}\nafter {STAGE_LABELS[stage]}": maps[:n]
        for stage, maps in saved.spatial.items()
    }
    meta = saved.meta
    run = setting_label(meta["kind"], meta.get("positions")) if "kind" in meta else ""
    title = f"{run}, {_seed(saved)}: the spatial gate of each module".lstrip(", ")
    masks = None if saved.masks is None else saved.masks[:n]
    return _maps_figure(saved.images[:n], masks, rows, title)


def figure_caption(
    saved: Mapping[str, AttentionArrays], shipped: set[str] | None = None
) -> Markdown:
    """What a figure of :func:`compare_saved_models` or :func:`saved_stages_figure` shows: its
    runs (id, seed, profile), why those seeds, how the maps are drawn and scored.

    ``shipped``: the run ids whose weights the repository ships (default: read from
    ``rga.study.probe_weights``), named as the Probe page's models."""
    if shipped is None:
        from rga.study.probe_weights import shipped_runs

        shipped = {entry["run_id"] for entry in shipped_runs()}
    runs = "; ".join(
        f"{label}: `{a.meta.get('run_id')}` ({_seed(a)}, {a.meta.get('profile')} profile, "
        f"{a.meta.get('epochs')} epochs)"
        for label, a in saved.items()
    )
    seeds = {a.meta.get("seed") for a in saved.values()}
    which = f"seed {seeds.pop()}" if len(seeds) == 1 else "the seed named in each row"
    probe = [label for label, a in saved.items() if a.meta.get("run_id") in shipped]
    also = (
        f" The Probe page runs the same {'run' if len(probe) == 1 else 'runs'} of "
        f"{listed(probe)}, whose weights the repository ships."
        if probe
        else ""
    )
    scored = (
        " Under each map, the share of its mass on the person mask (the per-image value the "
        "precision tables below average over the test images; for it the map is upsampled "
        "bilinearly to the mask, as there); under each image, the person's share of the "
        "pixels, which is what a uniform map scores."
        if all(a.masks is not None for a in saved.values())
        else " These runs saved no person masks, so no score is given per image."
    )
    return Markdown(
        f"Runs: {runs}. Shown is {which}: the lowest seed recorded for each model, taken "
        "whatever its maps look like (`rga.study.report.select_attention_arrays`), so the "
        f"pictures are not a chosen best case.{also} Each map is drawn on the module's own "
        "feature grid, one flat cell per position, with the person mask outlined in white. "
        "Colours span each row's own range, from its smallest to its largest value over the "
        "row's images (the colour bar at its right gives both): rows differ in range, so read "
        f"each row against its own bar.{scored}"
    )


# --- the opening answer -----------------------------------------------------------------------


def _checks(n: int) -> str:
    return "the check" if n == 1 else f"the {n} checks"


def _verdicts(verdicts: pd.Series) -> str:
    """ "it holds", "all 4 are inconclusive", "3 inconclusive, 1 holds"."""
    counts = verdicts.value_counts()
    if len(counts) > 1:
        return ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    verdict = counts.index[0]
    if len(verdicts) == 1:
        return f"it {verdict}" if verdict == "holds" else f"it is {verdict}"
    return (
        f"all {len(verdicts)} hold" if verdict == "holds" else f"all {len(verdicts)} are {verdict}"
    )


def answer(
    precision: pd.DataFrame,
    claims: pd.DataFrame,
    profile: str,
    study: str,
    maps_profile: str | None = None,
) -> Markdown:
    """The page's answer in three sentences, from the scores and verdicts of one study.

    Args:
        precision: ``rga.study.report.attention_precision_table`` of that study's runs.
        claims: ``rga.study.report.claims.study_claims()`` (the attention claims are picked).
        profile: the study's profile (e.g. "pretrained-ones").
        study: how the text names it (``rga.study.pages.summary.PROFILE_NAMES[profile]``).
        maps_profile: the profile of the runs whose maps the figures draw, named when it is
            not ``profile``.
    """
    checks = claims[
        claims["metric"].isin(["AUROC", "mass on person"]) & (claims["profile"] == profile)
    ]
    fourth = precision[precision["stage"] == 4]
    if checks.empty or fourth.empty:
        return Markdown(
            "The supplementary shows pictures of attention maps as evidence that RGA-SC attends "
            "more precisely to the person than CBAM or RGA-SC without relations. This page "
            "answers with scores once the study's runs are recorded; the sections below say "
            "which are missing."
        )
    seeds = sorted({int(s) for s in checks["seeds"] if pd.notna(s)})
    seeds_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
    means = fourth.groupby("setting")["mass_on_person"].mean().sort_values()
    low, high = means.index[0], means.index[-1]
    chance = fourth["chance"].mean()
    whose = (
        f" (from runs of the `{maps_profile}` profile, whose maps are saved for all three models)"
        if maps_profile not in (None, profile)
        else ""
    )
    return Markdown(
        "Does RGA-SC's attention cover the person more precisely than CBAM-CS's or than RGA-SC "
        f"without relations, as the supplementary's Figure 1 suggests? In {study}, "
        f"{_checks(len(checks))} of that claim (against each model, in AUROC and in mass on the "
        f"person, {seeds_text} seeds): {_verdicts(checks['verdict'])}. At the fourth module "
        f"the settings put between {means.iloc[0]:.3f} ({low}) and {means.iloc[-1]:.3f} "
        f"({high}) of their attention mass on the person, means over seeds, against "
        f"{chance:.3f} for a uniform map. Below, each map{whose} is drawn on its module's "
        "feature grid with the person outlined and that share printed under it."
    )


# --- Figure 2 in numbers: the part scores -------------------------------------------------------


def parts_summary(parts: pd.DataFrame) -> pd.DataFrame:
    """``rga.study.report.attention_parts.attention_parts_table`` (one model) as the page's
    table: one row per (runs of, module), columns ("variance explained", "by the 7 regions" |
    "person vs background") in percent and ("mean gate", <region>), mean ± sd over seeds, and
    the number of seeds. Empty in, empty out."""
    if parts.empty:
        return pd.DataFrame()
    rows = {}
    for (group, stage), g in parts.groupby(["group", "stage"], sort=False):
        row = {
            ("variance explained", "by the 7 regions"): _percent(g["explained"]),
            ("variance explained", "person vs background"): _percent(g["explained_person"]),
        }
        for part in PARTS:
            row[("mean gate", part)] = format_mean_sd(g[f"mean_{part}"].astype(float), digits=3)
        row[("seeds", "")] = g["seed"].nunique()
        rows[(group, module_label(stage))] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "module"])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def _percent(shares: pd.Series) -> str:
    """Shares as "mean ± sd %" over seeds; "constant map" when no seed's map varied."""
    values = shares.astype(float)
    if values.isna().all():
        return "constant map"
    return f"{format_mean_sd(100 * values, digits=0)} %"


def parts_sentences(parts: pd.DataFrame) -> list[str]:
    """One sentence per stage, from the means over seeds of ``attention_parts_table`` (one
    model): how much of the map the parts explain, beyond person vs background, which region
    gets the highest and which the lowest gate, and how many body parts get less than the
    background."""
    sentences = []
    for stage, g in parts.groupby("stage"):
        means = g[PART_SCORE_COLUMNS].astype(float).mean()
        gates = {p: means[f"mean_{p}"] for p in PARTS if pd.notna(means[f"mean_{p}"])}
        module = module_label(stage)
        if not gates:
            continue
        if pd.isna(means["explained"]):
            sentences.append(
                f"{module}: the map is constant over each image (gate {gates[PARTS[0]]:.3f}), "
                "so no region gets more attention than another."
            )
            continue
        top, bottom = max(gates, key=gates.get), min(gates, key=gates.get)
        below = [p for p in BODY_PARTS if p in gates and gates[p] < gates.get("background", -1)]
        if not below:
            versus = "every body part gets more than the background."
        elif len(below) == len(BODY_PARTS):
            versus = "all six body parts get less than the background."
        else:
            verb = "gets" if len(below) == 1 else "get"
            versus = f"{len(below)} of the six body parts ({', '.join(below)}) {verb} less than the background."
        sentences.append(
            f"{module}: the seven regions explain {means['explained']:.0%} of the map's variance "
            f"over the pixels, person versus background alone {means['explained_person']:.0%}; "
            f"the highest mean gate is on the {top} ({gates[top]:.3f}), the lowest on the "
            f"{bottom} ({gates[bottom]:.3f}); {versus}"
        )
    return sentences


def fourth_map_numbers(precision: pd.DataFrame, runs: pd.DataFrame, profile: str) -> dict[str, str]:
    """What the page's prose cites of the fourth module's scores in ``profile``'s runs: the
    lowest and highest mean over seeds of the mass on the person across settings
    (``mass_low``, ``mass_high``), the uniform map's share (``chance``, the mean mask area) and
    the lowest and highest AUROC of RGA-SC conv2-5_x's seeds (``rga_sc_auroc_low``/``_high``);
    "–" where there is none."""
    ids = set(runs.loc[runs["profile"] == profile, "run_id"]) if not runs.empty else set()
    fourth = precision[(precision["stage"] == 4) & precision["run_id"].isin(ids)]
    if fourth.empty:
        return dict.fromkeys(
            ("mass_low", "mass_high", "chance", "rga_sc_auroc_low", "rga_sc_auroc_high"), "–"
        )
    means = fourth.groupby("setting")["mass_on_person"].mean()
    rga_sc = fourth.loc[fourth["setting"] == setting_label("rga-sc", (1, 2, 3, 4)), "auroc"]
    return {
        "mass_low": f"{means.min():.2f}",
        "mass_high": f"{means.max():.2f}",
        "chance": f"{fourth['chance'].mean():.3f}",
        "rga_sc_auroc_low": f"{rga_sc.min():.2f}" if not rga_sc.empty else "–",
        "rga_sc_auroc_high": f"{rga_sc.max():.2f}" if not rga_sc.empty else "–",
    }


def fourth_map_reading(precision: pd.DataFrame, runs: pd.DataFrame, claims: pd.DataFrame,
                       profile: str) -> str:  # fmt: skip
    """The fourth module's scores in ``profile``'s runs, in words, all computed: each check's
    verdict in both scores, where the settings' mass on the person sits against a uniform map,
    which setting's AUROC varies most over seeds, and which settings' AUROC is below 0.5 (more
    on the background than on the person) in every seed."""
    numbers = fourth_map_numbers(precision, runs, profile)
    ids = set(runs.loc[runs["profile"] == profile, "run_id"]) if not runs.empty else set()
    fourth = precision[(precision["stage"] == 4) & precision["run_id"].isin(ids)]
    rows = claims[(claims["profile"] == profile)
                  & claims["metric"].isin(["AUROC", "mass on person"])]  # fmt: skip
    if fourth.empty or rows.empty:
        return "No run of this study has scored attention maps yet."
    checks = []
    for text, group in rows.groupby("claim", sort=False):
        against = text.rsplit("than ", 1)[-1].removesuffix("'s")
        verdicts = ", ".join(f"*{v}* in {m}" for m, v in zip(group["metric"], group["verdict"],
                                                              strict=True))  # fmt: skip
        checks.append(f"against {against}, {verdicts}")
    spread = fourth.groupby("setting")["auroc"].agg(lambda a: a.max() - a.min())
    widest = spread.idxmax()
    below = [s for s, g in fourth.groupby("setting") if (g["auroc"] < 0.5).all()]
    sentences = [
        f"The two checks: {'; '.join(checks)}.",
        f"The settings' fourth maps put from {numbers['mass_low']} to {numbers['mass_high']} of "
        f"their mass on the person (means over seeds), against {numbers['chance']} for a uniform "
        "map.",
        f"The AUROC varies most over seeds for {widest} (from "
        f"{fourth.loc[fourth['setting'] == widest, 'auroc'].min():.2f} to "
        f"{fourth.loc[fourth['setting'] == widest, 'auroc'].max():.2f}).",
    ]
    if below:
        sentences.append(
            f"{', '.join(below)} ha{'s' if len(below) == 1 else 've'} an AUROC below 0.5 in every "
            "seed: the map is more on the background than on the person."
        )
    return " ".join(sentences)
