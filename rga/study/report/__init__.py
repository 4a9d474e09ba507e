"""Helpers of the book pages: find and read results, join them with the paper's numbers, draw.

The book (``book/``) only reads stored files; nothing here trains. Submodules: ``paths``
(locations, the "missing" notice), ``labels`` (the names of datasets, kinds, settings), ``runs``
(our results files as tables), ``paper`` (the paper's numbers and ours beside them),
``attention_tables`` (attention precision), ``architecture``
(Table 1 from the model, parameters and FLOPs), ``attention_arrays`` (the saved attention-map
format), ``attention_parts`` (the part scores of Figure 2), ``ranked_lists`` (the saved ranked
lists), ``probe_page`` (the Probe page's notes), ``views`` (composite figures), ``claims`` (the paper's claims checked on our runs), ``performance`` (benchmark ratios
against their targets), ``plots`` (seaborn figures).
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
    TABLE2_SETTINGS,
    normalise_kind,
    positions_key,
    table2_setting,
)
from rga.study.report.paper import (
    discrepancies_table,
    load_discrepancies,
    load_paper_numbers,
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
from rga.study.report.performance import benchmark_tables, load_benchmarks
from rga.study.report.runs import (
    STUDY_PROFILES,
    curves_long,
    format_mean_sd,
    hardware_and_time,
    load_runs,
    profile_overrides,
    profiles_shown,
    run_group_label,
    runs_overview,
    used_dataset_statistics,
)

__all__ = [
    "BASELINE",
    "DATASET_LABELS",
    "STUDY_PROFILES",
    "KIND_LABELS",
    "TABLE2_SETTINGS",
    "AttentionArrays",
    "Notice",
    "attention_path",
    "attention_precision_table",
    "benchmark_tables",
    "benchmarks_dir",
    "book_dir",
    "checkpoints_dir",
    "curves_long",
    "discrepancies_table",
    "find_attention_arrays",
    "format_mean_sd",
    "hardware_and_time",
    "load_attention_arrays",
    "load_benchmarks",
    "load_discrepancies",
    "load_paper_numbers",
    "load_runs",
    "normalise_kind",
    "missing_results_message",
    "paper_vs_ours_table",
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
    "settings_long",
    "table2_setting",
    "used_dataset_statistics",
    "variants_table",
]
