"""Helpers of the book pages: find and read results, join them with the paper's numbers, draw.

The book (``book/``) only reads stored files; nothing here trains. Submodules: ``paths``
(locations, the "missing" notice), ``labels`` (the glossary: names and colours of datasets,
kinds, positions, settings, metrics), ``formats`` (how each kind of number is written),
``runs`` (our results files as tables), ``paper`` (the paper's numbers and ours beside them),
``attention_tables`` (attention precision), ``architecture``
(Table 1 from the model, parameters and FLOPs), ``attention_arrays`` (the saved attention-map
format), ``attention_parts`` (the part scores of Figure 2), ``ranked_lists`` (the saved ranked
lists), ``probe_page`` (the Probe page's notes), ``reproduce_views`` (the Reproduce page: the
commits of the runs, reruns), ``views`` (composite figures), ``claims`` (the paper's claims
checked on our runs), ``verdicts`` (a claim's verdict from paired per-seed margins),
``performance`` (benchmark ratios against their targets), ``plots`` (figures, each setting in its
glossary colour), ``sections`` (the parts every experiment page shows), ``regime_views`` (the
Regime page) and ``diagnostics_views`` (the per-epoch diagnostics of the From-scratch page).
"""

from rga.study.report.attention_arrays import (
    AttentionArrays,
    attention_path,
    find_attention_arrays,
    load_attention_arrays,
    run_attention_arrays,
    save_attention_arrays,
    save_run_attention,
    select_attention_arrays,
    select_attention_set,
)
from rga.study.report.attention_tables import (
    attention_precision_table,
    precision_summary,
    variants_table,
)
from rga.study.report.labels import (
    BASELINE,
    DATASET_LABELS,
    KIND_LABELS,
    METRICS,
    metric_label,
    normalise_kind,
    position_label,
    positions_key,
    setting_colour,
    setting_key,
    setting_label,
)
from rga.study.report.paper import (
    PAPER_TABLES,
    discrepancies_table,
    final_numbers_table,
    groups_legend,
    load_discrepancies,
    load_paper_numbers,
    ordering_agreement,
    ordering_table,
    paper_vs_ours_table,
    settings_long,
)
from rga.study.report.paths import (
    Notice,
    benchmarks_dir,
    book_dir,
    checkpoints_dir,
    missing_results_message,
    repo_root,
    results_dir,
)
from rga.study.report.performance import benchmark_details, benchmark_tables, load_benchmarks
from rga.study.report.runs import (
    STUDY_PROFILES,
    curves_long,
    format_mean_sd,
    hardware_and_time,
    load_runs,
    profile_overrides,
    profiles_shown,
    run_group_label,
    run_profiles,
    runs_overview,
    study_profiles,
    unique_runs,
    used_dataset_statistics,
)

__all__ = [
    "BASELINE",
    "DATASET_LABELS",
    "STUDY_PROFILES",
    "run_profiles",
    "study_profiles",
    "KIND_LABELS",
    "METRICS",
    "PAPER_TABLES",
    "attention_path",
    "attention_precision_table",
    "AttentionArrays",
    "benchmark_details",
    "benchmark_tables",
    "benchmarks_dir",
    "book_dir",
    "checkpoints_dir",
    "curves_long",
    "discrepancies_table",
    "final_numbers_table",
    "find_attention_arrays",
    "format_mean_sd",
    "groups_legend",
    "hardware_and_time",
    "load_attention_arrays",
    "load_benchmarks",
    "load_discrepancies",
    "load_paper_numbers",
    "load_runs",
    "metric_label",
    "missing_results_message",
    "normalise_kind",
    "Notice",
    "ordering_agreement",
    "ordering_table",
    "paper_vs_ours_table",
    "position_label",
    "positions_key",
    "precision_summary",
    "profile_overrides",
    "profiles_shown",
    "repo_root",
    "results_dir",
    "run_attention_arrays",
    "run_group_label",
    "runs_overview",
    "save_attention_arrays",
    "save_run_attention",
    "select_attention_arrays",
    "select_attention_set",
    "setting_colour",
    "setting_key",
    "setting_label",
    "settings_long",
    "unique_runs",
    "used_dataset_statistics",
    "variants_table",
]
