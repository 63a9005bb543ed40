"""Turn a pytest-benchmark JSON of ``benchmarks/`` into ``benchmarks/RESULTS.md``.

    pytest benchmarks --benchmark-only --benchmark-json=bench.json -s
    python benchmarks/report.py bench.json [--out benchmarks/RESULTS.md] [--notes NOTES.md]
                                           [--gpu GPU.json ...]

``--notes`` (default: ``benchmarks/RESULTS_NOTES.md`` when it exists) is a hand-written
Markdown file appended under "Notes", e.g. the explanation of a missed goal, so that
regenerating the results never loses it. ``--gpu`` (default: every
``benchmarks/gpu/results/*.json``) adds the GPU figures of issue 7, measured on another
machine by ``benchmarks/gpu/device_check.sh``: each file with its own machine and card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GPU_RESULTS = HERE / "gpu" / "results"
GIB = 1 << 30

# figure -> heading and what its goal is; in the order of the issues' benchmark lists
# (issue 2: figures 1-5, issue 3: figures 6-7, issue 4: figure 8, issue 9: figure 9; the GPU
# figures 10-15 follow below; duplicated data: figure 16)
FIGURES = {
    "compute_prdc": "1. compute_prdc vs the prdc package (goal: >= 4x faster)",
    "full_prdc": "2. Full PRDC vs one float32 matmul of the same shape (goal: <= 2.4x its time)",
    "knn_radii": "3. Self-kNN radii vs scikit-learn brute and faiss-cpu (goals: >= 3x, >= 1.5x)",
    "memory": "4. Peak memory, all four metrics (goal: <= input bytes + 1 GiB)",
    "exact_overhead": "5. Cost of exactness: exact=True vs exact=False (goal: <= 5% overhead)",
    "evaluate_all": (
        '6. evaluate(metrics="all") vs density_coverage alone (goal: <= 1.15x its time)'
    ),
    "alpha_beta": (
        "7. alpha_precision_beta_recall vs synthcity's AlphaPrecision computation "
        "(goal: >= 5x faster)"
    ),
    "compat_prdc_50k": (
        "8. 50k samples through the patched prdc API, beside prdc's own memory need "
        "(goal: <= input bytes + 1 GiB)"
    ),
    "reference": (
        "9. Issue 9: cached reference, Reference(real) + 5 ref.evaluate vs 5 evaluate "
        "(goal: >= 3x faster in total)"
    ),
    "duplicated_rows": (
        '16. Duplicated rows: evaluate(metrics="all") on 20 distinct rows repeated vs distinct '
        "rows of the same shape (goal: <= 3x its time)"
    ),
}

# GPU figure (by prefix of its name) -> heading (issue 7, benchmarks/bench_gpu.py)
GPU_FIGURES = {
    "gpu_gemm_paths": (
        "10. GEMM paths on the GPU: fp32, tf32x3, tf32, fp16 and fp16x3, N = M = 100k (all exact)"
    ),
    "gpu_evaluate_1m": (
        '11. evaluate(metrics="all"), N = M = 1M, d = 2048, exact (goals: <= 90 s; each pass '
        "<= 1.2x the bare cuBLAS GEMM of its tiles)"
    ),
    "gpu_prdc_vs_torch": (
        "12. Full PRDC, N = M = 100k, d = 2048, vs torch cdist + kthvalue (goal: >= 3x faster)"
    ),
    "gpu_exact_overhead": "13. Cost of exactness on the GPU (goal: <= 5% overhead)",
    "gpu_cupy_vs_cuda": "14. cupy backend vs cuda backend (goal: <= 1.3x its time)",
    "gpu_kernel_profile": (
        '15. Where the GPU time goes: evaluate(metrics="all"), N = M = 100k, each GEMM and '
        "kernel timed on its own"
    ),
    "gpu_tile_gates": "18. Tile gates on the GPU: on vs off, N = M = 100k (identical results)",
    "gpu_tile_groups": (
        "19. Tile groups on the GPU: a launch per group of tiles that share no row vs a launch "
        "per tile, N = M = 100k (identical results)"
    ),
    "gpu_deferred_rechecks": (
        "20. Deferred ball rechecks on the GPU: one parallel recheck per undecided pair vs each "
        "side's row thread, N = M = 100k (identical results)"
    ),
    "gpu_overlap": (
        "21. Overlap on the GPU: a group's GEMMs on one stream while the previous group's "
        "kernels run on another vs one stream, N = M = 100k (identical results)"
    ),
    "gpu_duplicated_rows": (
        '17. Duplicated rows on the GPU: evaluate(metrics="all"), N = M = 100k, d = 14, 20 '
        "distinct rows repeated vs distinct rows (goal: <= 3x its time)"
    ),
}


def _fmt_seconds(t: float) -> str:
    if t >= 100:
        return f"{t:.0f} s"
    if t >= 1:
        return f"{t:.2f} s"
    return f"{t * 1000:.1f} ms"


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**NO**"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt_value(v)}" for k, v in value.items())
    return str(value)


def _fmt_ratio(r: dict[str, Any]) -> tuple[str, str, str]:
    value = f"{r['value']:.3g}"
    if r.get("op") is None:
        return value, "-", "-"
    status = "met" if r["met"] else "**missed**"
    return value, f"{r['op']} {r['goal']:g}", status


def _bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    return f"{n / GIB:.3f} GiB" if n < 1e12 else f"{n / 1e9:.0f} GB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _machine(data: dict[str, Any]) -> list[str]:
    info = data.get("machine_info", {})
    fp = info.get("fastprdc", {})
    lines = ["## Machine", ""]
    ram = fp.get("ram_bytes")
    rows = [
        ["CPU", fp.get("cpu_model") or info.get("cpu", {}).get("brand_raw", "unknown")],
        ["logical CPUs / physical cores", f"{fp.get('logical_cpus')} / {fp.get('physical_cores')}"],
        ["RAM", f"{ram / GIB:.1f} GiB" if ram else "unknown"],
        ["platform", fp.get("platform") or info.get("system", "")],
        ["date (UTC)", data.get("datetime", "")],
        ["pytest-benchmark", data.get("version", "")],
    ]
    commit = data.get("commit_info", {})
    if commit.get("id"):
        dirty = " (dirty)" if commit.get("dirty") else ""
        rows.append(["commit", f"{commit['id'][:12]}{dirty}"])
    for name, version in fp.get("versions", {}).items():
        rows.append([name, version])
    lines += _table(["", ""], rows)
    pools = fp.get("thread_pools") or []
    if pools:
        lines += ["", "Thread pools (threadpoolctl):", ""]
        lines += _table(
            ["library", "api", "version", "threads", "architecture"],
            [
                [p.get("prefix"), p.get("internal_api"), p.get("version"),
                 p.get("num_threads"), p.get("architecture")]
                for p in pools
            ],
        )  # fmt: skip
    text = fp.get("show_config_text")
    if text:
        lines += ["", "`fastprdc.show_config()`:", "", "```", text.rstrip(), "```"]
    elif fp.get("show_config"):
        lines += ["", "```", json.dumps(fp["show_config"], indent=2), "```"]
    return lines


def _figure(bench: dict[str, Any]) -> list[str]:
    extra = bench["extra_info"]
    sizes = ", ".join(f"{k} = {v}" for k, v in extra.get("sizes", {}).items())
    name = extra.get("figure", bench["name"])
    lines = [f"### {name}: {extra.get('title', '')}", "", f"Sizes: {sizes}.", ""]
    if extra.get("baseline"):
        lines += [f"Baseline: {extra['baseline']}.", ""]
    main = extra.get("main")
    header = ["measurement", "value", "goal", "status"]
    rows = []
    times = extra.get("times", {})
    rounds = extra.get("rounds", {})
    order = ([main] if main in times else []) + [t for t in times if t != main]
    for t in order:
        label = f"time: {t}" + (" (fastprdc)" if t == main and "fastprdc" not in t else "")
        rows.append([label, f"{_fmt_seconds(times[t])} (min of {rounds.get(t, '?')})", "", ""])
    memory = extra.get("memory")
    if memory:
        rows.append(["input bytes", _bytes(memory["input_bytes"]), "", ""])
        rows.append(["peak RSS (process)", _bytes(memory["peak_rss_process"]),
                     f"<= {_bytes(memory['goal_bytes'])}", ""])  # fmt: skip
        if memory.get("peak_rss_polled") is not None:
            rows.append(["peak RSS polled by psutil (cross-check)",
                         _bytes(memory["peak_rss_polled"]), "", ""])  # fmt: skip
        if memory.get("peak_rss_during_evaluate") is not None:
            rows.append(["peak RSS during evaluate", _bytes(memory["peak_rss_during_evaluate"]),
                         "", ""])  # fmt: skip
        rows.append(["RSS before evaluate", _bytes(memory["rss_before_evaluate"]), "", ""])
        rows.append(["one N x M float32 matrix (prdc needs 3)",
                     _bytes(memory["reference_matrix_bytes"]), "", "not run"])  # fmt: skip
    rows += _compat_memory_rows(extra.get("compat_memory"))
    for r in extra.get("ratios", []):
        value, goal, status = _fmt_ratio(r)
        rows.append([f"{r['name']} ({r['description']})", value, goal, status])
    lines += _table(header, rows)
    phases = extra.get("phases")
    if phases:
        lines += ["", f'Phases of the last `{main}` round (`result.info["timings"]`):', ""]
        lines += _phases(phases)
    checks = extra.get("checks", {})
    if phases:  # shown in the table above
        checks = {k: v for k, v in checks.items() if k != "fastprdc_phase_seconds"}
    if checks:
        lines += ["", "Checks:", ""]
        lines += [f"- {k}: {_fmt_value(v)}" for k, v in checks.items()]
    for note in extra.get("notes", []):
        lines += [f"- note: {note}"]
    lines.append("")
    return lines


def _compat_memory_rows(cm: dict[str, Any] | None) -> list[list[str]]:
    """Rows of figure 8: the patched run's memory and the upstream's computed need."""
    if not cm:
        return []
    rows = [
        ["input bytes", _bytes(cm["input_bytes"]), "", ""],
        ["peak RSS (process), patched prdc", _bytes(cm["peak_rss_process"]),
         f"<= {_bytes(cm['goal_bytes'])}", ""],
    ]  # fmt: skip
    if cm.get("peak_rss_during_call") is not None:
        rows.append(["peak RSS during the call", _bytes(cm["peak_rss_during_call"]), "", ""])
    rows.append(["RSS before the call", _bytes(cm["rss_before_call"]), "", ""])
    for phase, nbytes in cm.get("upstream_bytes_by_phase", {}).items():
        rows.append([f"prdc's own N x M arrays, {phase} phase", _bytes(nbytes), "",
                     "computed, not run"])  # fmt: skip
    rows.append(["prdc's own peak need (largest phase + inputs)",
                 _bytes(cm["upstream_peak_bytes"]), "", "computed, not run"])  # fmt: skip
    check = cm.get("model_check")
    if check:
        rows.append([
            f"model check, unpatched prdc at N = M = {check['n']}: traced numpy peak / RSS "
            "growth vs the model",
            f"{_bytes(check.get('upstream_traced_peak'))} / "
            f"{_bytes(check['upstream_measured_growth'])} vs {_bytes(check['model_prediction'])}",
            "", "measured",
        ])  # fmt: skip
        upstream_t = _fmt_seconds(check["upstream_seconds"])
        patched_t = _fmt_seconds(check["patched_seconds"])
        rows.append([f"time at N = M = {check['n']}: prdc vs patched prdc",
                     f"{upstream_t} vs {patched_t}", "", ""])  # fmt: skip
    return rows


def _phases(phases: dict[str, float]) -> list[str]:
    """Phase table: seconds and share of ``total`` (when the timings carry one)."""
    total = phases.get("total")
    order = [name for name in phases if name != "total"] + (["total"] if "total" in phases else [])
    rows = []
    for name in order:
        t = phases[name]
        share = f"{100 * t / total:.1f} %" if total and name != "total" else ""
        rows.append([name, _fmt_seconds(float(t)), share])
    return _table(["phase", "seconds", "share of total"], rows)


def _summary(benches: list[dict[str, Any]]) -> list[str]:
    rows = []
    for bench in benches:
        extra = bench["extra_info"]
        for r in extra.get("ratios", []):
            if r.get("op") is None:
                continue
            value, goal, status = _fmt_ratio(r)
            rows.append([extra.get("figure", bench["name"]), r["name"], value, goal, status])
    return _table(["figure", "ratio", "measured", "goal", "status"], rows)


def _command(data: dict[str, Any], json_name: str) -> list[str]:
    bench = data.get("fastprdc_bench", {})
    scale = bench.get("scale", 1.0)
    rounds = bench.get("rounds_override")
    env = ""
    if scale != 1.0:
        env += f"FASTPRDC_BENCH_SCALE={scale:g} "
    if rounds:
        env += f"FASTPRDC_BENCH_ROUNDS={rounds} "
    return [
        "## Reproduce",
        "",
        "```",
        'pip install ".[bench]"',
        f"{env}pytest benchmarks --benchmark-only --benchmark-json={json_name} -s",
        f"python benchmarks/report.py {json_name}",
        "```",
        "",
        f"Command line of this run: `{' '.join(bench.get('argv', []))}`",
    ]


def _card(data: dict[str, Any]) -> str:
    """The GPU a run used, as its figures and fastprdc.show_config() recorded it."""
    for bench in data.get("benchmarks", []):
        device = bench.get("extra_info", {}).get("sizes", {}).get("device")
        if device:
            return str(device)
    cfg = data.get("machine_info", {}).get("fastprdc", {}).get("show_config", {})
    return str(cfg.get("cuda", {}).get("device") or "unknown GPU")


def _gpu_section(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Issue 7's figures from the device check's JSON files, each run with its machine."""
    lines = ["## GPU figures (issue 7)", ""]
    if not runs:
        lines.append(
            "Not measured yet: no GPU has been lent to a session so far. On a GPU machine, "
            "`bash benchmarks/gpu/device_check.sh` writes `bench_gpu*.json`; copy them to "
            "`benchmarks/gpu/results/` and run this script again."
        )
        return [*lines, ""]
    benches = []
    for name, data in runs:
        for bench in data.get("benchmarks", []):
            if "figure" in bench.get("extra_info", {}):
                benches.append((name, data, bench))
    rows = [
        [b["extra_info"]["figure"], r["name"], _card(data), *_fmt_ratio(r)]
        for _, data, b in benches
        for r in b["extra_info"].get("ratios", [])
        if r.get("op") is not None
    ]
    lines += [*_table(["figure", "ratio", "card", "measured", "goal", "status"], rows), ""]
    for prefix, heading in GPU_FIGURES.items():
        group = [(n, d, b) for n, d, b in benches if b["extra_info"]["figure"].startswith(prefix)]
        lines += [f"### {heading}", ""]
        if not group:
            lines += ["Not measured yet.", ""]
            continue
        for name, data, bench in group:
            lines += [f"Card: {_card(data)} (`{name}`, {data.get('datetime', '')}).", ""]
            lines += ["#" + line if line.startswith("### ") else line for line in _figure(bench)]
    for name, data in runs:
        machine = _machine(data)
        lines += [f"### GPU machine of `{name}`", "", *machine[2:], ""]
    return lines


def render(
    data: dict[str, Any],
    json_name: str,
    notes: str | None = None,
    gpu: list[tuple[str, dict[str, Any]]] | None = None,
) -> str:
    benches = [b for b in data.get("benchmarks", []) if "figure" in b.get("extra_info", {})]
    bench_info = data.get("fastprdc_bench", {})
    scale = bench_info.get("scale", 1.0)
    lines = ["# fastprdc benchmark results", ""]
    lines.append(
        f"Generated by `benchmarks/report.py` from `{json_name}`. Every figure times fastprdc "
        "and its baselines in the same run, on the machine below; times are the minimum over "
        "rounds. Speed goals are reported, never enforced; correctness checks are asserted."
    )
    if scale != 1.0:
        lines += [
            "",
            f"**FASTPRDC_BENCH_SCALE = {scale:g}: sample counts are scaled down, so these are "
            "NOT the figures of the issue (smoke run).**",
        ]
    by_figure: dict[str, list[dict[str, Any]]] = {}
    for bench in benches:
        key = bench["extra_info"]["figure"].split("[", 1)[0]
        by_figure.setdefault(key, []).append(bench)
    ordered = [b for key in FIGURES for b in by_figure.get(key, [])]
    ordered += [b for key, group in by_figure.items() if key not in FIGURES for b in group]
    lines += ["", "## Summary", "", *_summary(ordered), ""]
    missing = [key for key in FIGURES if key not in by_figure]
    if missing:
        lines += [f"Not measured in this run: {', '.join(missing)}.", ""]
    for key, heading in FIGURES.items():
        lines += [f"## {heading}", ""]
        if key not in by_figure:
            lines += ["Not measured in this run (test failed, deselected or skipped).", ""]
            continue
        for bench in by_figure[key]:
            lines += _figure(bench)
    for key, group in by_figure.items():
        if key not in FIGURES:
            lines += [f"## {key}", ""]
            for bench in group:
                lines += _figure(bench)
    if gpu is not None:
        lines += _gpu_section(gpu)
    if notes:
        lines += ["## Notes", "", notes.rstrip(), ""]
    lines += [*_machine(data), "", *_command(data, json_name), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="pytest-benchmark JSON (--benchmark-json=...)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="Markdown to write")
    parser.add_argument(
        "--notes", default=None,
        help="Markdown appended under 'Notes' (default: benchmarks/RESULTS_NOTES.md if present)",
    )  # fmt: skip
    parser.add_argument(
        "--gpu", nargs="*", default=None, metavar="GPU.json",
        help="the device check's JSON files (default: benchmarks/gpu/results/*.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    data = json.loads(Path(args.json).read_text(encoding="utf-8"))
    notes_path = Path(args.notes) if args.notes else HERE / "RESULTS_NOTES.md"
    if args.notes and not notes_path.exists():
        parser.error(f"notes file {notes_path} does not exist")
    notes = notes_path.read_text(encoding="utf-8") if notes_path.exists() else None
    gpu_files = (
        [Path(f) for f in args.gpu] if args.gpu is not None else sorted(GPU_RESULTS.glob("*.json"))
    )
    gpu = [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in gpu_files]
    rehearsed = [name for name, run in gpu if _card(run).startswith("rehearsal")]
    if rehearsed:  # FASTPRDC_BENCH_GPU_REHEARSAL: the sim backend's numbers, not a GPU's
        parser.error(f"{', '.join(rehearsed)}: a rehearsal without a GPU, not GPU figures")
    text = render(data, Path(args.json).name, notes, gpu)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
