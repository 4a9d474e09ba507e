"""The code behind the Performance page (``book/performance.md``): what is fast, against what,
on which machine, from the benchmark records.

Every function takes the records of ``benchmarks/results/*.json`` as dicts ({file stem: record},
what :func:`rga.study.report.benchmarks.load_benchmarks` returns) and gives text or a table of
text; nothing is measured or typed here. The records are written by ``benchmarks/bench_model.py`` (one training step,
inference and memory of the ResNet-50 baseline and of RGA-SC with the relations factorised or
materialised; with ``--compile`` the ``bench_model_compiled`` record), ``bench_training.py``
(training speed of the study's cpu profile; with ``--profile pretrained-192x96`` the
``bench_training_size`` record of scale probe 2's input size) and ``bench_evaluation.py`` (``evaluate_rank``
against ``np.argsort`` and torchreid).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd

from rga.study.report.formats import (
    MISSING,
    count,
    decimal,
    percent,
    ratio,
    scientific,
)

__all__ = [
    "evaluation_table",
    "goals_table",
    "headline_table",
    "headline_values",
    "machine_label",
    "machine_summary",
    "model_table",
    "records_table",
    "regenerate_command",
    "size_choice",
    "size_training_table",
    "training_table",
]

NOT_MEASURED = "(not measured yet)"
# What each record measures, in the words of the page's prose.
RECORD_NAMES = {
    "bench_model": "model",
    "bench_model_compiled": "compiled-model",
    "bench_training": "training",
    "bench_training_size": "training at another input size",
    "bench_evaluation": "evaluation",
}
# What `platform.machine()` returns when a record could not name its CPU model.
ARCHITECTURES = {"x86_64", "amd64", "aarch64", "arm64", "i386", "i686", "ppc64le", "s390x"}
# The variants of bench_model and bench_training as a reader knows them.
VARIANT_LABELS = {
    "baseline": "baseline",
    "rga-sc factorised": "RGA-SC, relations factorised (ours)",
    "rga-sc materialised": "RGA-SC, relations materialised (official code)",
    "eager": "plain eager",
    "tuned": "tuned eager",
    "nchw": "eager without channels_last",
    "compiled, warm cache": "compiled, warm cache",
    "compiled, empty cache": "compiled, empty cache",
}
# bench_evaluation's runs: ours, the argsort floor each is compared with, torchreid's.
EVALUATION_LABELS = {
    "argsort (floor)": "np.argsort of the distance matrix (floor)",
    "evaluate_rank step": "evaluate_rank, random distances",
    "evaluate_rank trapezoid": "evaluate_rank, random distances, trapezoid AP",
    "evaluate_rank informative": "evaluate_rank, positives ranked high",
    "argsort, junk removed (floor)": "junk removed: np.argsort (floor)",
    "evaluate_rank, junk removed": "junk removed: evaluate_rank",
    "torchreid evaluate_rank (python)": "junk removed: torchreid evaluate_rank (pure Python)",
}
GOALS = {  # the goals a record stores, by target key: what each bounds
    "step_time_vs_baseline": "RGA-SC training step / baseline's",
    "peak_memory_vs_baseline": "RGA-SC peak memory / baseline's",
    "speedup_vs_materialised": "materialised / factorised training step",
    "run_speedup": "whole cpu-profile run, plain eager / tuned or compiled (best)",
}


def _kind(name: str, record: dict) -> str:
    """bench_model, bench_model_compiled, bench_training or bench_evaluation."""
    kind = record.get("benchmark", name)
    return "bench_model_compiled" if (record.get("settings") or {}).get("compile") else kind


def _of(records: dict[str, dict], kind: str) -> tuple[str, dict]:
    """(file stem, record) of the first record of `kind`; (kind, {}) when there is none."""
    return next(((n, r) for n, r in records.items() if _kind(n, r) == kind), (kind, {}))


def _arch(name: str) -> str:
    """ "resnet50" -> "ResNet-50"."""
    match = re.fullmatch(r"resnet(\d+)", name or "")
    return f"ResNet-{match[1]}" if match else name


def _cpu(record: dict) -> tuple[str, bool, int | None]:
    """(the processor a record names, whether that is its model rather than only the
    architecture ``platform.machine()`` gives, its core count)."""
    machine = record.get("machine") or {}
    cpu = re.sub(r"\((R|TM)\)", "", str(machine.get("cpu") or ""))
    cpu = re.sub(r"\s+", " ", cpu).strip()
    return cpu or "CPU", bool(cpu) and cpu.lower() not in ARCHITECTURES, machine.get("cpu_count")


def machine_label(record: dict) -> str:
    """The machine of a record's table row: "Intel Xeon Processor @ 2.80GHz, 2 cores", "x86_64,
    model not recorded, 2 cores" when the record kept only the architecture; a GPU by name."""
    gpu = (record.get("machine") or {}).get("gpu")
    if gpu:
        return str(gpu)
    cpu, named, cores = _cpu(record)
    parts = [cpu, "" if named else "model not recorded", f"{cores} cores" if cores else ""]
    return ", ".join(p for p in parts if p)


def machine_summary(records: dict[str, dict]) -> str:
    """Which benchmark ran on which machine, as a clause: "the training benchmark ran on an
    Intel Xeon Processor @ 2.80GHz (2 cores); the model and evaluation benchmarks on an x86_64
    CPU (2 cores) whose model they did not record"."""
    groups: dict[str, list[str]] = {}
    for name, record in sorted(records.items(), key=lambda item: not _cpu(item[1])[1]):
        cpu, named, cores = _cpu(record)
        gpu = (record.get("machine") or {}).get("gpu")
        if gpu or named:
            where = f"{_a(gpu or cpu)} {gpu or cpu}" + (f" ({cores} cores)" if cores else "")
        else:
            where = f"{_a(str(cores or cpu))} {f'{cores}-core ' if cores else ''}{cpu} CPU"
            where += " whose model they did not record"
        groups.setdefault(where, []).append(RECORD_NAMES.get(name, name))
    if not groups:
        return NOT_MEASURED
    clauses = [
        f"the {_join(names)} benchmark{'s' if len(names) > 1 else ''} ran on {where}"
        for where, names in groups.items()
    ]
    if len(clauses) > 1 and any("did not record" in where for where in groups):
        clauses[-1] += ", so the records do not say whether they are the same machine"
    return "; ".join(clauses)


def _a(word: str) -> str:
    """The article before `word`: "an Intel", "an x86_64", "an 8-core"; "a 2-core", "a Xeon"."""
    return "an" if re.match(r"[aeio]|x86|8|11\b|18\b", word, re.IGNORECASE) else "a"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def regenerate_command(name: str, record: dict) -> str:
    """The command that replaces record `name` in ``benchmarks/results/``: the recorded command
    (its script as ``benchmarks/<script>.py``) without ``--json``, with ``--write``."""
    script = f"benchmarks/{record.get('benchmark', name)}.py"
    words, kept = shlex.split(record.get("command") or f"python {script}"), []
    for word, previous in zip(words, [None, *words[:-1]], strict=True):
        if word.endswith(".py"):
            kept.append(f"benchmarks/{Path(word).name}")
        elif word not in ("--json", "--write") and previous != "--json":
            kept.append(word)
    return " ".join([*[w for w in kept if not w.startswith("--json=")], "--write"])


def _threads(record: dict) -> str:
    listed = (record.get("settings") or {}).get("threads")
    if isinstance(listed, list):
        return _join([str(t) for t in listed])
    machine = record.get("machine") or {}
    value = machine.get("threads", machine.get("torch_threads"))
    return MISSING if value is None else str(value)


def records_table(records: dict[str, dict]) -> pd.DataFrame:
    """One row per record: its machine, CPU threads, date and the command that regenerates it."""
    rows = [
        {
            "record": name,
            "machine": machine_label(record),
            "threads": _threads(record),
            "measured": str(record.get("created", MISSING))[:10],
            "command": regenerate_command(name, record),
        }
        for name, record in records.items()
    ]
    return pd.DataFrame(rows, columns=["record", "machine", "threads", "measured", "command"])


def _span(values: list[float]) -> str:
    """ "1.27x-1.31x" over several values, "1.27x" when they round alike."""
    low, high = ratio(min(values)), ratio(max(values))
    return low if low == high else f"{low}–{high}"


def _faster(values: list[float]) -> str:
    """Speed-ups: "1.27x–1.31x faster"; "0.90x–1.11x the speed" where one is below 1."""
    return f"{_span(values)} {'faster' if min(values) >= 1 else 'the speed'}"


def _row(ours: str, against: str, results: list[str], record: str) -> dict:
    return {"ours": ours, "against": against, "result": "; ".join(results), "record": record}


def _model_rows(name: str, record: dict) -> list[dict]:
    """bench_model: RGA-SC factorised against materialised, and against the baseline."""
    r, arch = record.get("ratios") or {}, _arch((record.get("settings") or {}).get("arch"))
    rows = []
    for ours, against, specs in (
        ("RGA-SC, relations factorised", "relations materialised (official code)", [
            ("speedup_vs_materialised", "training step {} faster"),
            ("inference_speedup_vs_materialised", "inference {} faster"),
            ("memory_saving_vs_materialised", "peak memory {} less"),
        ]),
        ("RGA-SC", f"{arch} baseline", [
            ("step_time_vs_baseline", "training step {} the time"),
            ("inference_vs_baseline", "inference {} the time"),
            ("peak_memory_vs_baseline", "peak memory {} the memory"),
        ]),
    ):  # fmt: skip
        results = [text.format(ratio(r[key])) for key, text in specs if key in r]
        if results:
            rows.append(_row(ours, against, results, name))
    return rows


def headline_table(records: dict[str, dict]) -> pd.DataFrame:
    """The headline comparisons, one row each: ours, against, result ("training step 3.24x
    faster; ..."), record. Each ratio is measured in one run on one machine."""
    rows = _model_rows(*_of(records, "bench_model"))
    name, compiled = _of(records, "bench_model_compiled")
    if "step_time_vs_baseline" in (compiled.get("ratios") or {}):
        arch = _arch(compiled["settings"].get("arch"))
        step = ratio(compiled["ratios"]["step_time_vs_baseline"])
        rows.append(_row("RGA-SC, compiled", f"{arch} baseline, compiled",
                         [f"training step {step} the time"], name))  # fmt: skip
    name, training = _of(records, "bench_training")
    results = []
    for variant, text in (
        ("tuned", "tuned eager {}"),
        ("compiled, warm cache", "compiled {} with a warm compile cache"),
        ("compiled, empty cache", "{} with an empty one"),
    ):
        speedups = _run_speedups(training, variant)
        if speedups:
            results.append(text.format(_faster(speedups)))
    if results:
        rows.append(_row("whole training run (cpu profile)", "plain eager PyTorch", results, name))
    name, evaluation = _of(records, "bench_evaluation")
    res, values = evaluation.get("results") or {}, headline_values(records)
    results = [
        f"{ratio(res[run]['ratio_to_argsort'])} the time ({what})"
        for run, what in (
            ("evaluate_rank step", "random distances"),
            ("evaluate_rank informative", "positives ranked high"),
        )
        if run in res
    ]
    if results:
        rows.append(_row("evaluate_rank", "np.argsort of the distance matrix", results, name))
    if values["eval_vs_torchreid"] != NOT_MEASURED:
        results = [f"{values['eval_vs_torchreid']} faster"]
        if values["agreement"] != NOT_MEASURED:
            results.append(f"CMC and mAP differ by at most {values['agreement']}")
        rows.append(_row("evaluate_rank, junk removed", values["torchreid"], results, name))
    elif (evaluation.get("torchreid") or {}).get("skipped"):
        why = evaluation["torchreid"]["skipped"]
        rows.append(_row("evaluate_rank", "torchreid", [f"not compared: {why}"], name))
    return pd.DataFrame(rows, columns=["ours", "against", "result", "record"])


def _run_speedups(record: dict, variant: str) -> list[float]:
    return [r["run_speedup"] for r in record.get("rows") or [] if r["variant"] == variant]


def _rate(value: float) -> str:
    """Images per second: "127" from 100 up, "4.5" below."""
    return decimal(value, 0 if value >= 100 else 1)


def headline_values(records: dict[str, dict]) -> dict[str, str]:
    """The figures the page's opening and prose quote, as text, each NOT_MEASURED where its
    record is missing: the machines, then those of each benchmark (:func:`_model_values`,
    :func:`_training_values`, :func:`_evaluation_values`)."""
    machines = [r.get("machine") or {} for r in records.values()]
    cores = sorted({m.get("cpu_count") for m in machines} - {None})
    return {
        "machines": machine_summary(records),
        "devices": "CPU and GPU" if any(m.get("gpu") for m in machines) else "CPU",
        "cores": _span_words([f"{c}-core" for c in cores]) if cores else NOT_MEASURED,
        **_model_values(_of(records, "bench_model")[1]),
        **_compiled_values(_of(records, "bench_model_compiled")[1]),
        **_training_values(_of(records, "bench_training")[1]),
        **_evaluation_values(_of(records, "bench_evaluation")[1]),
    }


def _model_values(record: dict) -> dict[str, str]:
    values = dict.fromkeys(["model_setting", "fact_speedup", "fact_memory", "cost_step"])
    if record.get("ratios"):
        s, r = record.get("settings") or {}, record["ratios"]
        shape = f"{s.get('height')}x{s.get('width')} input"
        values["model_setting"] = f"{_arch(s.get('arch'))}, {shape}, batch {s.get('batch')}"
        values["fact_speedup"] = ratio(r["speedup_vs_materialised"])
        values["fact_memory"] = ratio(r["memory_saving_vs_materialised"])
        values["cost_step"] = ratio(r["step_time_vs_baseline"])
    return _measured(values)


def _compiled_values(record: dict) -> dict[str, str]:
    values = dict.fromkeys(["compiled_cost", "compiled_eager_cost", "compiled_threads"])
    if record.get("ratios"):
        values["compiled_cost"] = ratio(record["ratios"]["step_time_vs_baseline"])
        values["compiled_eager_cost"] = ratio(record["ratios"]["eager_step_time_vs_baseline"])
        values["compiled_threads"] = _threads(record)
    return _measured(values)


def _training_values(record: dict) -> dict[str, str]:
    """RGA-SC's training speed at the largest thread count measured, the run's length, and its
    evaluation forward pass eager, channels_last and compiled at one batch size."""
    keys = [
        "train_ips",
        "plain_ips",
        "train_threads",
        "train_speedup",
        "train_epochs",
        "train_steps",
        "forward_batch",
        "forward_eager",
        "forward_channels_last",
        "forward_compiled",
    ]
    values = dict.fromkeys(keys)
    rga = [row for row in record.get("rows") or [] if row["model"] == "rga-sc"]
    if rga:
        threads = max(row["threads"] for row in rga)
        at = {row["variant"]: row for row in rga if row["threads"] == threads}
        values["train_threads"] = str(threads)
        values["train_ips"] = _rate(at["tuned"]["images_per_s"])
        values["plain_ips"] = _rate(at["eager"]["images_per_s"])
        values["train_speedup"] = ratio(at["tuned"]["run_speedup"])
    measured = (record.get("measurements") or [{}])[0]
    if "epochs" in measured:
        values["train_epochs"] = count(measured["epochs"])
        values["train_steps"] = count(measured["steps_per_epoch"])
    forward = (record.get("evaluation") or {}).get("forward_images_per_s") or {}
    compiled = next((name for name in forward if name.startswith("compiled, batch ")), None)
    if compiled:  # the batch size at which eager, channels_last and compiled were all timed
        batch = compiled.removeprefix("compiled, batch ")
        values["forward_batch"] = batch
        values["forward_compiled"] = _rate(forward[compiled])
        for key, name in (
            ("forward_eager", "eager"),
            ("forward_channels_last", "eager channels_last"),
        ):
            if f"{name}, batch {batch}" in forward:
                values[key] = _rate(forward[f"{name}, batch {batch}"])
    return _measured(values)


def _evaluation_values(record: dict) -> dict[str, str]:
    keys = [
        "eval_seconds",
        "eval_problem",
        "eval_vs_argsort",
        "eval_vs_torchreid",
        "agreement",
        "agreement_words",
        "torchreid",
    ]
    values = dict.fromkeys(keys)
    res, config = record.get("results") or {}, record.get("config") or {}
    if "evaluate_rank step" in res:
        values["eval_seconds"] = f"{decimal(res['evaluate_rank step']['seconds'], 2)} s"
        values["eval_problem"] = f"{count(config['queries'])} x {count(config['gallery'])}"
        values["eval_vs_argsort"] = ratio(res["evaluate_rank step"]["ratio_to_argsort"])
    theirs = res.get("torchreid evaluate_rank (python)")
    ours = res.get("evaluate_rank, junk removed")
    if theirs and ours:
        values["eval_vs_torchreid"] = ratio(theirs["seconds"] / ours["seconds"], 1)
    agree = record.get("torchreid_agreement")
    if agree:
        values["torchreid"] = f"torchreid {agree['torchreid_version']} evaluate_rank (pure Python)"
        values["agreement"] = scientific(max(agree["max_abs_diff_cmc"], agree["abs_diff_mAP"]), 2)
        values["agreement_words"] = (
            "with the same CMC and mAP"
            if agree["agree"]
            else f"but with CMC or mAP differing by up to {values['agreement']}"
        )
    return _measured(values)


def _measured(values: dict) -> dict[str, str]:
    return {key: NOT_MEASURED if value is None else value for key, value in values.items()}


def _span_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{words[0]} to {words[-1]}"


def model_table(record: dict) -> pd.DataFrame:
    """bench_model's variants (eager, and compiled with ``--compile``) with the columns that
    matter: training step (s), training images/s, peak memory (MiB), inference images/s, and
    compile (s) of the compiled variants."""
    arch = _arch((record.get("settings") or {}).get("arch"))
    columns = {
        "step_time_s": ("training step (s)", lambda v: decimal(v, 2)),
        "train_images_per_s": ("training images/s", lambda v: decimal(v, 1)),
        "peak_memory_mib": ("peak memory (MiB)", count),
        "inference_images_per_s": ("inference images/s", lambda v: decimal(v, 1)),
        "compile_s": ("compile (s)", lambda v: decimal(v, 0)),
    }
    rows = []
    for row in record.get("rows") or []:
        variant, _, compiled = row["variant"].partition(", ")
        label = VARIANT_LABELS.get(variant, variant).replace("baseline", f"{arch} baseline")
        text = {"variant": f"{label}, {compiled}" if compiled else label}
        for key, (name, form) in columns.items():
            if key in row and (key != "compile_s" or compiled):
                text[name] = form(row[key])
        rows.append(text)
    return pd.DataFrame(rows).fillna(MISSING)


def training_table(record: dict) -> pd.DataFrame:
    """bench_training per model and thread count: training images/s (data and step) of each
    variant, then the whole-run speed-up of each over plain eager."""
    table: dict[tuple, dict] = {}
    for row in record.get("rows") or []:
        model = row["model"].replace("rga-sc", "RGA-SC")
        text = table.setdefault((model, row["threads"]), {"model": model})
        text["threads"] = str(row["threads"])
        label = VARIANT_LABELS.get(row["variant"], row["variant"])
        if row["variant"] != "compiled, empty cache":  # the same step as with a warm cache
            text[f"{label.removesuffix(', warm cache')} (images/s)"] = _rate(row["images_per_s"])
        if row["variant"] != "eager":
            text[f"run speed-up, {label}"] = ratio(row["run_speedup"])
    frame = pd.DataFrame(list(table.values()))
    order = sorted(frame.columns, key=lambda c: (c.startswith("run speed-up"), "images/s" in c))
    return frame[order].fillna(MISSING)


def _size_rows(record: dict) -> list[dict]:
    """bench_training_size's measurements, one per (model, threads, runs at once, variant): the
    workers timed together averaged per run and summed for the machine (``machine``); the
    empty-cache compile left out (the same step as with a warm cache)."""
    groups: dict[tuple, list[dict]] = {}
    for r in record.get("rows") or []:
        if r["variant"] != "compiled, empty cache":
            key = (r["model"], r["threads"], r.get("runs_at_once", 1), r["variant"])
            groups.setdefault(key, []).append(r)
    return [
        {"model": model.replace("rga-sc", "RGA-SC"), "threads": threads, "runs_at_once": at_once,
         "variant": variant, "images_per_s": sum(r["images_per_s"] for r in rs) / len(rs),
         "machine": sum(r["images_per_s"] for r in rs) * at_once / len(rs),
         "run_total_s": sum(r["run_total_s"] for r in rs) / len(rs)}
        for (model, threads, at_once, variant), rs in groups.items()
    ]  # fmt: skip


def size_training_table(record: dict) -> pd.DataFrame:
    """bench_training at another input size: per model, threads per run and runs at once, each
    variant's training images/s per run (the mean of the runs timed together) and for the whole
    machine, and the minutes of a whole run of the profile."""
    rows = [
        {
            "model": r["model"],
            "threads per run": str(r["threads"]),
            "runs at once": str(r["runs_at_once"]),
            "variant": VARIANT_LABELS.get(r["variant"], r["variant"]),
            "images/s per run": _rate(r["images_per_s"]),
            "images/s, machine": _rate(r["machine"]),
            "one run (minutes)": decimal(r["run_total_s"] / 60, 0),
        }
        for r in _size_rows(record)
    ]
    return pd.DataFrame(rows)


def size_choice(record: dict) -> dict[str, str]:
    """Per model, the setting that trains the most images per second on the whole machine:
    e.g. {"RGA-SC": "tuned eager, 1 thread per run, 2 at once (70.4 images/s)"}."""
    best: dict[str, dict] = {}
    for r in _size_rows(record):
        if r["model"] not in best or r["machine"] > best[r["model"]]["machine"]:
            best[r["model"]] = r
    return {
        model: f"{VARIANT_LABELS.get(r['variant'], r['variant'])}, {r['threads']} thread"
        f"{'s' if r['threads'] > 1 else ''} per run, {r['runs_at_once']} at once "
        f"({_rate(r['machine'])} images/s)"
        for model, r in best.items()
    }


def evaluation_table(record: dict) -> pd.DataFrame:
    """bench_evaluation's timings: what ran, seconds (best of the repeats), time / its
    ``np.argsort`` floor (the one on the same gallery), mAP (%): each side ranks the same
    problem."""
    rows = [
        {
            "run": EVALUATION_LABELS.get(run, run),
            "seconds": decimal(res["seconds"], 2),
            "time / floor": ratio(res["ratio_to_argsort"]),
            "mAP (%)": percent(100 * res["mAP"], 2) if "mAP" in res else MISSING,
        }
        for run, res in (record.get("results") or {}).items()
    ]
    return pd.DataFrame(rows, columns=["run", "seconds", "time / floor", "mAP (%)"])


def goals_table(records: dict[str, dict]) -> pd.DataFrame:
    """The speed goals the records store (``targets``, set while the code was written; no claim
    of the paper): goal, measured, met ("yes" or "no")."""
    rows = []
    for name, record in records.items():
        measured = record.get("ratios") or {}
        for key, limit in (record.get("targets") or {}).items():
            quantity, bound = key.rsplit("_", 1)
            value = measured.get(quantity)
            if value is None and quantity == "run_speedup":
                speedups = [r["run_speedup"] for r in record.get("rows") or []]
                value = max(speedups, default=None)
            if value is None:
                continue
            what = GOALS.get(quantity, quantity)
            if _kind(name, record) == "bench_model_compiled":
                what = f"{what}, both compiled"
            sign, met = ("≤", value <= limit) if bound == "max" else ("≥", value >= limit)
            rows.append(
                {
                    "goal": f"{what} {sign} {ratio(limit)}",
                    "measured": ratio(value),
                    "met": "yes" if met else "no",
                }
            )
    return pd.DataFrame(rows, columns=["goal", "measured", "met"])
