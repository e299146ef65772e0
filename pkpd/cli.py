"""Command-line interface: ``pkpd run | validate | summary | plot | models``.

Every command turns a :class:`pkpd.errors.PKPDError` into one line on stderr and
exit code 2 (no traceback, no partial output).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys

import click

from pkpd import __version__
from pkpd.errors import InputError, PKPDError


def _user_errors(fn):
    """Report pkpd's own errors as one line on stderr with exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PKPDError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pkpd")
def main():
    """pkpd: mechanistic PK/PD simulation (neratinib + ruxolitinib, EGFR-JAK-STAT3, TNBC)."""


@main.command("models")
@click.argument("name", required=False)
@_user_errors
def models_cmd(name):
    """List every model and drug with its parameters, units, values and sources (* = assumed).

    NAME may be a model written in the model language (a library name or a .model file):
    its equations, parameters with units and sources, and its block graph are printed.
    """
    from pkpd.models import MODELS, get_model
    from pkpd.models.drugs import DRUGS, get_drug

    def show(title, table):
        click.echo(title)
        for r in table:
            flag = "*" if r["assumed"] else " "
            click.echo(f"  {flag} {r['name']:<12} {r['value']:>12.6g} {r['unit']:<8} {r['description']}")
            click.echo(f"      source: {r['source']}")

    if name:
        from pkpd.model.library import LIBRARY

        if name in LIBRARY or name.endswith(".model"):   # written in the model language
            from pkpd.model.language import load_model_file

            _show_equations(LIBRARY[name] if name in LIBRARY else load_model_file(name))
        elif ".py:" in name:  # a user model file (docs/user_models.md)
            from pkpd.usermodel import load_model

            spec = load_model(name)
            show(f"model {spec.name}: {spec.description}", spec.table())
        elif name in MODELS:
            show(f"model {name}: {get_model(name).description}", get_model(name).table())
        elif name.lower() in DRUGS:
            drug = get_drug(name)
            show(f"drug {drug.name} ({drug.structure}, MW {drug.mw.value:g} g/mol, fu {drug.fu.value:g})",
                 drug.table())
        else:
            raise InputError("models", f"unknown model or drug {name!r}; valid: "
                             + ", ".join([*MODELS, *DRUGS]), show_value=False)
        return
    for key, spec in MODELS.items():
        show(f"model {key}: {spec.description}", spec.table())
        click.echo("")
    from pkpd.model.library import LIBRARY

    click.echo("written in the model language (pkpd models NAME prints the equations): " + ", ".join(LIBRARY))
    click.echo("")
    for key, drug in DRUGS.items():
        show(f"drug {key} ({drug.structure})", drug.table())
        click.echo("")
    click.echo("* = assumed value (a guess or a calibration made for pkpd), not a published estimate")


def _show_equations(model) -> None:
    """A model in the language: its text (parameters with units and sources, ODEs) and its block graph."""
    from pkpd.model.compose import block_graph

    click.echo(model.equations(), nl=False)
    if model.blocks:
        click.echo("\n# block graph: block (its model) -> the blocks it drives")
        graph = block_graph(model)
        for b, meta in model.blocks.items():
            click.echo(f"#   {b} ({meta['model']}) -> " + (", ".join(sorted(graph[b])) or "nothing"))
        click.echo("# connections: input <- source")
        for target, (source, _) in model.connections.items():
            click.echo(f"#   {target} <- {source}")


def _progress(quiet: bool):
    """A progress reporter on stderr that shows itself only once a run has taken over 2 s."""
    if quiet:
        return None
    import time

    start = time.perf_counter()
    state = {"shown": False}

    def report(done, total):
        elapsed = time.perf_counter() - start
        if elapsed < 2.0 and done < total:
            return
        width = 30
        filled = int(width * done / total)
        eta = elapsed / done * (total - done) if done else 0.0
        click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} arm x sweep-point groups, "
                   f"{elapsed:.0f} s elapsed, ~{eta:.0f} s left", err=True, nl=done == total)
        state["shown"] = True

    return report


_EXPOSURE = ("CMAX", "CTROUGH", "AUCTAU")


def _print_table(records: list[dict]) -> None:
    """Two fixed-width tables: pathway/tumour metrics, then steady-state exposure (medians)."""
    if not records:
        click.echo("(no rows)")
        return
    all_keys = [k for k in records[0] if not k.endswith(("_p05", "_p95"))]
    ids = [k for k in all_keys if k == "arm" or isinstance(records[0][k], str)]
    effect = [k for k in all_keys if k not in ids and not k.startswith(_EXPOSURE)]
    exposure = [k for k in all_keys if k.startswith(_EXPOSURE)]
    for block in (effect, exposure):
        keys = ids + [k for k in block if any(r.get(k) is not None for r in records)]
        if len(keys) > len(ids):
            _table(records, keys)
            click.echo("")


def _print_biopsies(ds) -> None:
    """The biopsy panel (median log2 fold change over patients) per arm and biopsy day, if any."""
    if "biopsy_log2fc" not in ds:
        return
    panel = ds["biopsy_log2fc"]
    other = [d for d in panel.dims if d not in ("arm", "patient", "biopsy_time", "marker")]
    if other:
        panel = panel.isel({d: 0 for d in other})
    med = panel.median("patient")
    markers = [str(m) for m in ds["marker"].values]
    records = []
    for arm in ds["arm"].values:
        for k, bt in enumerate(ds["biopsy_time"].values):
            rec = {"arm": str(arm), "biopsy_day": f"{bt / 24:g}"}
            rec.update({m: round(float(med.sel(arm=arm).isel(biopsy_time=k).sel(marker=m)), 3) + 0.0 for m in markers})
            records.append(rec)
    note = f" (first sweep point of {', '.join(other)})" if other else ""
    click.echo(f"biopsy panel, log2 fold change from baseline, median over patients{note}:")
    _table(records, ["arm", "biopsy_day", *markers])
    click.echo("")


def _table(records: list[dict], keys: list[str]) -> None:

    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    widths = {k: max(len(k), *(len(fmt(r.get(k))) for r in records)) for k in keys}
    click.echo("  ".join(k.rjust(widths[k]) for k in keys))
    for r in records:
        click.echo("  ".join(fmt(r.get(k)).rjust(widths[k]) for k in keys))


def _output_and_format(output, fmt, name):
    """The output path (default ``<scenario name>.nc``) and format (``zarr`` for a ``.zarr`` path),
    checked before anything is simulated: zarr needs the optional zarr package."""
    output = output or f"{name}.nc"
    if str(output).rstrip("/").endswith(".zarr"):
        fmt = "zarr"
    if fmt == "zarr":
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise InputError("--format", "zarr output needs the zarr package (pip install 'pkpd[zarr]')",
                             show_value=False) from None
    return output, fmt


def _print_model_summary(ds) -> None:
    """The per-arm summary of a model scenario's result (medians over patients)."""
    from pkpd.model_group import summary_records

    records = summary_records(ds)
    n = int(ds.sizes["patient"])
    click.echo(f"model {ds.attrs['model']}, summary over {ds.attrs['summary_window']}"
               + (f", median over {n} patients" if n > 1 else "") + ":")
    keys = list(records[0])
    fixed = keys[:keys.index("window_h") + 1]
    _table_in_parts(records, fixed, keys[len(fixed):])
    click.echo("")


#: widest line of a printed table (characters); wider tables are printed in parts
TABLE_WIDTH = 160


def _table_in_parts(records: list[dict], fixed: list[str], rest: list[str]) -> None:
    """``records`` as tables of at most :data:`TABLE_WIDTH` characters, each with the ``fixed`` columns."""

    def width(k):
        return max(len(k), *(len("-" if r.get(k) is None else f"{r[k]:.4g}" if isinstance(r.get(k), float)
                                  else str(r.get(k))) for r in records)) + 2

    base = sum(width(k) for k in fixed)
    parts, part, used = [], [], base
    for k in rest:
        if part and used + width(k) > TABLE_WIDTH:
            parts.append(part)
            part, used = [], base
        part.append(k)
        used += width(k)
    parts.append(part)
    for i, part in enumerate(parts):
        if i:
            click.echo("")
        _table(records, fixed + part)


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False), required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=True), default=None,
              help="Result file (NetCDF; a folder for --format zarr). Default: <scenario name>.nc")
@click.option("--format", "fmt", type=click.Choice(["netcdf", "zarr"]), default="netcdf", show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the trajectories as a tidy long CSV table.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the standard figures (PNG) into this folder.")
@click.option("--on-failure", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="A failed integration stops the run (fail), or is marked in 'status' and left out of the "
                   "metrics (skip).")
@click.option("--resume", is_flag=True,
              help="Keep finished groups in OUTPUT.checkpoint/ and reuse them when run again after an interruption.")
@click.option("--from", "from_result", type=click.Path(dir_okay=True), default=None,
              help="Re-run the scenario recorded in an earlier result (instead of SCENARIO).")
@click.option("--executor", type=click.Choice(["threads", "dask"]), default="threads", show_default=True,
              help="Run groups here in parallel threads, or on a Dask cluster.")
@click.option("--scheduler", default=None, help="Dask scheduler address, or 'local' to start a LocalCluster.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary table.")
@_user_errors
def run_cmd(scenario, output, fmt, csv_path, plots_dir, on_failure, resume, from_result, executor, scheduler,
            quiet):
    """Simulate every arm x sweep point x patient of SCENARIO and write the labelled dataset."""
    from pkpd.checkpoint import Checkpoint
    from pkpd.io import read_dataset, write_dataset, write_tidy_csv
    from pkpd.metrics import summary_records
    from pkpd.runner import plan, run
    from pkpd.scenario import load_scenario

    if (scenario is None) == (from_result is None):
        raise InputError("run", "give either a SCENARIO file or --from RESULT", show_value=False)
    if from_result is not None:
        attrs = read_dataset(from_result).attrs
        text = attrs["scenario"]
        sc = load_scenario(text if "\n" in text else text + "\n", base_dir=attrs.get("scenario_dir") or None)
    else:
        sc = load_scenario(scenario)
    p = plan(sc)
    if p.added_arms and not quiet:
        click.echo("added arms for the comparisons: " + ", ".join(p.added_arms), err=True)
    output, fmt = _output_and_format(output, fmt, sc.name)
    checkpoint = Checkpoint(f"{output}.checkpoint", _fingerprint(sc), on_failure) if resume else None
    from pkpd.executors import executor as make_executor

    with _interruptible(checkpoint), make_executor(executor, scheduler) as map_groups:
        ds = run(sc, progress=_progress(quiet), on_failure=on_failure, checkpoint=checkpoint,
                 map_groups=map_groups)
        write_dataset(ds, output, fmt)
    if checkpoint is not None:
        checkpoint.remove()
    if ds.attrs.get("n_failed"):
        click.echo(f"warning: {ds.attrs['n_failed']} patient simulation(s) failed and were left out of the "
                   f"{'summary' if sc.model is not None else 'metrics'} (see the 'status' variable)", err=True)
    if csv_path:
        write_tidy_csv(ds, csv_path)
    written = [output] + ([csv_path] if csv_path else [])
    if plots_dir:
        from pkpd.plots import standard_set

        os.makedirs(plots_dir, exist_ok=True)
        written += [str(x) for x in standard_set(ds, plots_dir)]
    if not quiet:
        if sc.model is not None:
            _print_model_summary(ds)
        else:
            _print_table(summary_records(ds))
            _print_biopsies(ds)
        click.echo("wrote " + ", ".join(str(w) for w in written), err=True)


def _fingerprint(sc) -> str:
    """What a checkpoint must match: the scenario text, and the model's equations or its file's text (a
    model edited between an interrupted run and its resumption invalidates the finished groups)."""
    if sc.compiled is not None:   # a model in the language (a file, a library model or blocks composed)
        return sc.text + "\0" + sc.compiled.model.equations()
    if sc.model_file:
        try:
            return sc.text + "\0" + open(sc.model_file, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError):
            pass
    return sc.text


@contextlib.contextmanager
def _interruptible(checkpoint):
    """Turn SIGTERM into KeyboardInterrupt; on either, say so and exit 130 with no output written."""

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except KeyboardInterrupt:
        kept = (f"; finished groups are kept in {checkpoint.folder}, run again with --resume to continue"
                if checkpoint is not None else "")
        click.echo(f"\ninterrupted: no output written{kept}", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)


@main.command("validate")
@click.argument("scenario", type=click.Path(dir_okay=False))
@_user_errors
def validate_cmd(scenario):
    """Check SCENARIO without simulating and print the plan (arms, points, patients, memory, time)."""
    from pkpd.runner import estimated_cpu_seconds, plan
    from pkpd.scenario import load_scenario

    sc = load_scenario(scenario)
    p = plan(sc)
    click.echo(f"scenario {sc.name}: valid")
    if sc.model is not None:
        click.echo(sc.describe())
    click.echo(p.describe())
    seconds = estimated_cpu_seconds(sc, p)
    when = f"{seconds / 60:.0f} min" if seconds >= 120 else f"{max(seconds, 1):.0f} s"
    click.echo(f"estimated time: about {when} on one core after compilation")


@main.command("summary")
@click.argument("result", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to a file instead.")
@_user_errors
def summary_cmd(result, fmt, output):
    """The metrics table of a result: one row per arm x sweep point."""
    import json

    from pkpd.io import read_dataset, write_records
    from pkpd.metrics import summary_records

    ds = read_dataset(result)
    if ds.attrs.get("scenario_kind") == "model" and fmt == "table" and not output:
        _print_model_summary(ds)
        return
    if ds.attrs.get("scenario_kind") == "model":
        from pkpd.model_group import summary_records
    records = summary_records(ds)
    if output:
        write_records(records, output, "json" if fmt == "json" else "csv")
    elif fmt == "json":
        click.echo(json.dumps(records, indent=1))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
        click.echo(buf.getvalue(), nl=False)
    else:
        _print_table(records)
        _print_biopsies(ds)


@main.command("plot")
@click.argument("result", type=click.Path())
@click.argument("kind")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--arm", default=None, help="Arm to show (where the plot shows one).")
@click.option("--metric", default=None, help="Metric for heatmap/schedules plots.")
@click.option("--log", is_flag=True, help="Logarithmic concentration axis (pk plots).")
@_user_errors
def plot_cmd(result, kind, output, arm, metric, log):
    """Plot KIND (pk, signaling, tumor, heatmap, schedules, ...; profiles or sweep for a model scenario's
    result) from a result file."""
    from pkpd.io import read_dataset
    from pkpd.plots import plot, save

    ds = read_dataset(result)
    fig = plot(ds, kind, arm=arm, metric=metric, log=log)
    save(fig, output)
    click.echo(f"wrote {output}", err=True)


@main.command("exposure")
@click.option("--population", type=int, default=0, help="Also a population table over N virtual patients (0: none).")
@_user_errors
def exposure_cmd(population):
    """Steady-state exposure of both drugs at their clinical doses (NCA, ng/mL and nM)."""
    from pkpd.exposure import main as exposure_main

    if population < 0:
        raise InputError("--population", "must be >= 0 patients (0: no population table)", population)
    exposure_main(["--population", str(population)] if population else [])


if __name__ == "__main__":  # pragma: no cover
    main()
