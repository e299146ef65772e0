"""Markdown rendering of a :func:`benchmarks.suite.run` result."""

from __future__ import annotations


def _t(sec):
    if sec is None:
        return "–"
    if sec < 1e-3:
        return f"{sec * 1e6:.0f} µs"
    if sec < 1.0:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec:.2f} s"


def _x(v):
    return "–" if v is None else (f"{v:.1f}×" if v < 100 else f"{v:.0f}×")


def _n(v):
    return "–" if v is None else f"{v:,.0f}"


def _e(v):
    return "–" if v is None else f"{v:.1e}"


def _rate(v):
    return "–" if v is None else (f"{v:,.0f}" if v >= 10 else f"{v:.2f}")


_HEAD = ("| engine | method | rhs | time | CPU time | timing | × vs LSODA py | × vs LSODA jit | subjects/s "
         "| rhs evals / subject | steps / subject | max err | load | note |\n"
         "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")


def _cpu(v):
    return "–" if v is None or v != v else _t(v)


def _load(v):
    return "–" if v is None else f"{v:.1f}"


def rows_table(rows) -> str:
    lines = [_HEAD]
    for r in rows:
        lines.append("| " + " | ".join([
            r["engine"], r["method"], r["rhs"], _t(r["time_s"]), _cpu(r.get("cpu_s")), r["timing"],
            _x(r["x_vs_lsoda_py"]), _x(r["x_vs_lsoda_jit"]), _rate(r["subjects_per_s"]), _n(r["rhs_evals"]),
            _n(r["steps"]), _e(r["max_err"]), _load(r.get("load")), r["note"]]) + " |")
    return "\n".join(lines)


def render(res: dict) -> str:
    cfg, m = res["config"], res["machine"]
    out = []
    out.append("# pkpd benchmark results" + (" (--quick)" if cfg["quick"] else ""))
    out.append("")
    out.append(f"Machine: {m.get('Model name', '?')}, {m.get('nproc', '?')} CPUs (nproc), "
               f"Python {m['python']}, numba {m['numba']}, numpy {m['numpy']}, scipy {m['scipy']}, "
               f"pkpd {m.get('pkpd', '?')}; Numba threads {m['numba_threads']}.")
    out.append("")
    out.append(f"Tolerances for every engine: rtol {cfg['rtol']:g}, atol {cfg['atol']:g} (state units: mg for "
               "PK amounts, fractions for signalling species, mm³ for tumour). Every solver is restarted at "
               "every dose time. Times are wall clock, best of N after a warm-up run (compile and first-call "
               "costs excluded; see the compile table). *× vs LSODA py / jit*: scipy `solve_ivp(method='LSODA')` "
               "time with the Python / Numba-compiled right-hand side divided by the row's time (higher = "
               "faster than scipy). *rhs*: `py` = the model's own rhs source run by the interpreter, `jit` = "
               "the compiled `spec.rhs` called from Python, `compiled` = called inside pkpd's compiled solver. "
               "*rhs evals* include finite-difference Jacobian columns. *max err*: max over states of "
               "(max |y − y_ref| over the output grid) / (max |y_ref| over the run), i.e. relative to each "
               "state's own scale. *CPU time*: CPU seconds of the benchmark process (all its threads) for the same "
               "run; *load*: the 1-minute load average just after the measurement. On a shared machine a "
               "single-threaded row whose time is well above its CPU time, or a load well above the threads in "
               f"use, was slowed by other work. Load average at start / end: {res.get('load_start', float('nan')):.1f}"
               f" / {res.get('load_end', float('nan')):.1f}.")
    out.append("")
    out.append("## Headline: pkpd vs scipy LSODA (same problem, tolerances, restarts)")
    out.append("")
    out.append("Speed-up = LSODA time / pkpd time, by wall clock and by CPU time (CPU time is robust to other "
               "load on the machine; for populations pkpd's CPU time sums its threads, so the CPU ratio "
               "compares total work and the wall ratio includes the parallel speed-up). Population scipy "
               "times are extrapolated from a subset (see the tables).")
    out.append("")
    out.append("| problem | subjects | pkpd method | pkpd time | × vs LSODA py (wall / CPU) "
               "| × vs LSODA jit (wall / CPU) | max err pkpd / LSODA |")
    out.append("|---|---:|---|---:|---:|---:|---:|")
    for r in res["rows"]:
        if r["engine"] != "pkpd" or not r["time_s"]:
            continue
        lsoda = next((q for q in res["rows"] if q["problem"] == r["problem"] and q["n_subjects"] == r["n_subjects"]
                      and q["engine"] == "scipy" and q["method"] == "LSODA" and q["rhs"] == "jit"), None)
        method = r["method"] + (", PK in closed form" if "closed" in r["rhs"] else "")
        out.append(f"| {r['problem']} | {r['n_subjects']} | {method} | {_t(r['time_s'])} | "
                   f"{_x(r['x_vs_lsoda_py'])} / {_x(r.get('x_cpu_vs_lsoda_py'))} | "
                   f"{_x(r['x_vs_lsoda_jit'])} / {_x(r.get('x_cpu_vs_lsoda_jit'))} | "
                   f"{_e(r['max_err'])} / {_e(lsoda['max_err'] if lsoda else None)} |")
    out.append("")
    for key, title in (("pk2cmt", "(a) mrgsolve benchmark shape: two-compartment oral model"),
                       ("system", "(b) full coupled model (23 states)")):
        prob = res["problems"][key]
        out.append(f"## {title}")
        out.append("")
        out.append(f"{prob['description']}. Reference: {prob['reference']}.")
        for n in sorted({r["n_subjects"] for r in res["rows"] if r["problem"] == key}):
            rows = [r for r in res["rows"] if r["problem"] == key and r["n_subjects"] == n]
            out.append("")
            out.append(f"### {n} subject{'s' if n > 1 else ''}")
            out.append("")
            out.append(rows_table(rows))
        out.append("")

    out.append("## Thread scaling (compiled population driver, event table prebuilt, dopri5)")
    out.append("")
    out.append("| problem | subjects | threads | time | CPU time | subjects/s | speed-up vs 1 thread | load |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["threads"]:
        out.append(f"| {r['problem']} | {r['n_subjects']} | {r['threads']} | {_t(r['time_s'])} | "
                   f"{_cpu(r.get('cpu_s'))} | {_rate(r['subjects_per_s'])} | {r['speedup_vs_1']:.2f}× | "
                   f"{_load(r.get('load'))} |")
    out.append("")

    out.append("## Where the time of one call goes (dopri5): Python around the compiled kernel")
    out.append("")
    out.append("| call | event table (Python) | compiled kernel | Dataset (xarray) | whole call "
               "| share outside the kernel |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for o in res["overhead"]:
        name = o["problem"] if "simulate_population" in o["problem"] else f"{o['problem']} (simulate, 1 subject)"
        out.append(f"| {name} | {_t(o['events_s'])} | {_t(o['kernel_s'])} | {_t(o['dataset_s'])} | "
                   f"{_t(o['simulate_s'])} | {100 * o['python_share']:.0f} % |")
    out.append("")

    rd = res["radau"]
    out.append(f"## radau5 vs scipy Radau on the full model (patient 0, rtol {rd['rtol']:g}, same restarts)")
    out.append("")
    out.append("| atol | solver | steps | rejected | rhs evals | Jacobians | LU | segments |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|")
    for c in rd["cases"]:
        for name, key in (("pkpd radau5", "pkpd_radau5"), ("scipy Radau", "scipy_Radau"),
                          ("pkpd dopri5", "pkpd_dopri5")):
            d = c[key]
            out.append(f"| {c['atol']:g} | {name} | {_n(d['steps'])} | {_n(d.get('rejected'))} | {_n(d['rhs'])} | "
                       f"{_n(d['jac'])} | {_n(d['lu'])} | {_n(d['segments'])} |")
    out.append("")
    if rd.get("pk_atol_sweep"):
        out.append("What drives the step counts: atol loosened on the 5 PK amounts only (mg; the other 17 "
                   "states keep theirs), rtol unchanged:")
        out.append("")
        out.append("| PK atol (mg) | radau5 steps | radau5 rhs evals | radau5 max err | dopri5 steps "
                   "| dopri5 rhs evals | dopri5 max err |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        for q in rd["pk_atol_sweep"]:
            a, b = q["radau5"], q["dopri5"]
            out.append(f"| {q['pk_atol']:g} | {_n(a['steps'])} | {_n(a['rhs'])} | {_e(a['max_err'])} | "
                       f"{_n(b['steps'])} | {_n(b['rhs'])} | {_e(b['max_err'])} |")
        out.append("")
    out.append(f"Largest |eigenvalue| of the Jacobian along the trajectory: {rd['max_abs_eigenvalue_per_h']:.3g} /h, "
               f"so dopri5 is stable up to h ≈ {rd['dopri5_stability_step_h']:.3g} h, i.e. at least "
               f"{rd['dopri5_steps_if_stability_limited']:,.0f} steps over the run if stability-limited.")
    out.append("")

    hz = res.get("horizon")
    if hz:
        out.append(f"## Long horizon: one typical patient per arm, {hz['days']:g} days, rtol {hz['rtol']:g}, "
                   f"atol {hz['atol']:g}")
        out.append("")
        out.append("The virtual trial's shape (neratinib 240 mg q24h and/or ruxolitinib 15 mg q12h, scans every "
                   "8 weeks, and the end of the run). *err*: largest relative error of the tumour diameter at these times "
                   "against radau5 "
                   "at rtol 1e-10 (what RECIST reads).")
        out.append("")
        out.append("| arm | method | time | steps | rhs evals | err (diameter) |")
        out.append("|---|---|---:|---:|---:|---:|")
        for r in hz["rows"]:
            out.append(f"| {r['arm']} | {r['method']} | {_t(r['time_s'])} | {_n(r['steps'])} | {_n(r['rhs'])} | "
                       f"{_e(r['max_rel_err_diameter'])} |")
        out.append("")

    tr = res.get("trial")
    if tr:
        out.append(f"## Virtual trial: {tr['rows'][0]['patients']} patients x {tr['arms']} arms, 18 months, "
                   "endpoints only")
        out.append("")
        out.append(f"`pkpd.runner.run` of `{tr['scenario']}` with `store: scans` (radau5, rtol 1e-4): sampling, "
                   "integration, metrics and RECIST endpoints, no file written. *periodic*: the tumour is "
                   "integrated alone once the PK and network have reached their periodic steady state "
                   "(`pkpd.periodic`, the default); *full*: `solver.periodic: false`, every state to the end "
                   "(both with the PK in closed form, the default for radau5). A row timed on a subset is "
                   "scaled to the whole population (time and steps) and shows no ORR. "
                   f"On the first {tr['subset']} patients the two differ by at most {tr['diff_diameter_mm']:.2g} mm "
                   f"in lesion diameter at the scans; {tr['diff_best_response']} best responses differ.")
        out.append("")
        out.append("| path | time | CPU time | timing | patient-arms/s | steps (all patients) | ORR combination |")
        out.append("|---|---:|---:|---|---:|---:|---:|")
        for r in tr["rows"]:
            rate = r["patients"] * tr["arms"] / r["time_s"] if r["time_s"] else None
            orr = "–" if r["orr_combination"] is None else f"{100 * r['orr_combination']:.1f}%"
            out.append(f"| {r['path']} | {_t(r['time_s'])} | {_cpu(r['cpu_s'])} | {r['timing']} | {_rate(rate)} | "
                       f"{_n(r['steps'])} | {orr} |")
        out.append("")

    if res.get("kernels"):
        from benchmarks.kernels import render as render_kernels

        out.append(render_kernels(res["kernels"]))

    c = res["compile"]
    out.append("## Start-up: compile vs cached load (new processes)")
    out.append("")
    out.append("| case | import pkpd (+simulate, PK library) | import pkpd.system | first simulate pk2cmt dopri5 "
               "| first simulate system radau5 (2 d) | whole process | cache entries loaded / saved |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for case in ("cold", "cached"):
        if case in c:
            d = c[case]
            out.append(f"| {case} | {_t(d['import_s'])} | {_t(d['import_system_s'])} | "
                       f"{_t(d['pk2cmt_dopri5_first_s'])} | {_t(d['system_radau5_first_s'])} | "
                       f"{_t(d['process_wall_s'])} | {d['cache_data_loaded']} / {d['cache_data_saved']} |")
    if c.get("note"):
        out.append("")
        out.append(f"Note: {c['note']}.")
    if not c:
        out.append("| (not measured) | | | | | | |")
    elif "cold" not in c:
        out.append("")
        out.append("(--quick: the cold case is not measured; the cached case uses the normal cache folder.)")
    out.append("")
    out.append("Reference checks: " + "; ".join(f"{k}: {v:.1e}" for k, v in res["notes"]["reference_check"].items())
               + ".")
    out.append("")
    out.append(f"Whole benchmark run: {res['elapsed_s']:.0f} s.")
    return "\n".join(out) + "\n"
