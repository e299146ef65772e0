"""Scenarios of a model written in the language, through the one reader and runner: sweeps, summaries,
the tidy CSV, resume, re-runs, Dask and pickling.

The model is ``examples/indirect_response.model`` (oral one-compartment PK with bioavailability and a
lag time, inhibiting the production of a turnover biomarker whose baseline depends on the
parameters), copied next to each test's scenario.  Every comparison here is exact (bitwise): a
sweep point, a resumed run, a re-run and a run on Dask workers must integrate the same patients
with the same parameters, doses and solver settings as the run they are compared with, so any
difference at all is a bug (which patient, which parameter, which event table), not round-off.
"""

from __future__ import annotations

import csv
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from pkpd.checkpoint import Checkpoint
from pkpd.errors import ScenarioError
from pkpd.cli import main
from pkpd.io import read_dataset
from pkpd.model_group import summary_records
from pkpd.runner import plan, run
from pkpd.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "indirect_response.model"

SCENARIO = """\
name: irm-sweep
model: indirect_response.model
duration: 4 d
output_every: 2 h
population: {{size: 4, seed: 7, variability: {{CL: 0.3, kin: 0.2, F1: 0.05}}}}
solver: {{rtol: 1e-8, atol: 1e-10}}
arms:
  - name: placebo
  - name: QD
    regimen: [{{cmt: DEPOT, dose: 100 mg, every: 24 h}}]
  - name: BID
    regimen: [{{cmt: DEPOT, dose: 50 mg, every: 12 h}}]
summary: {{variables: [CP, R_rel], window: last_interval}}
{extra}"""

SWEEP = "sweep:\n  CL: [3 L/h, 6 L/h]\n  DEPOT.dose: [40 mg, 120 mg]\n"


@pytest.fixture()
def folder(tmp_path):
    shutil.copy(MODEL, tmp_path / MODEL.name)
    return tmp_path


def scenario(folder: Path, extra: str = SWEEP, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(SCENARIO.format(extra=extra))
    return path


@pytest.fixture()
def swept(folder):
    sc = load_scenario(scenario(folder))
    return sc, run(sc)


def test_the_sweep_reads_and_plans(swept):
    sc, ds = swept
    assert [a.key for a in sc.sweep] == ["CL", "DEPOT.dose"] and [a.kind for a in sc.sweep] == ["parameter", "regimen"]
    assert sc.sweep[0].values == (3.0, 6.0) and sc.sweep[1].values == (40.0, 120.0)
    p = plan(sc)
    assert p.n_groups == 3 * 4 and p.added_arms == () and p.n_simulations == 48
    assert ds["CP"].dims == ("arm", "CL", "DEPOT_dose", "patient", "time")
    assert ds["CL"].attrs == {"units": "L/h", "long_name": "CL", "sweep_key": "CL"}
    assert ds["DEPOT_dose"].attrs["units"] == "mg" and list(ds["DEPOT_dose_label"].values) == ["40 mg", "120 mg"]
    assert ds["param_CL"].dims == ("CL", "DEPOT_dose", "patient")
    assert ds.attrs["sweep_keys"] == "CL, DEPOT.dose" and int(ds["status"].max()) == 0


@pytest.mark.parametrize("i, j", [(0, 0), (1, 1), (0, 1)])
def test_a_sweep_point_is_the_scenario_with_its_values_written_in(folder, swept, i, j):
    """The point (CL_i, dose_j) of the sweep gives bitwise the run of a scenario with CL and dose set."""
    sc, ds = swept
    cl, dose = ("3 L/h", "6 L/h")[i], ("40 mg", "120 mg")[j]
    text = scenario(folder, extra=f"parameters: {{CL: {cl}}}\n", name="one.yaml").read_text()
    one = run(load_scenario(text.replace("dose: 100 mg", f"dose: {dose}").replace("dose: 50 mg", f"dose: {dose}"),
                            base_dir=folder))
    for v in ("CP", "R", "R_rel", "DEPOT", "CMAX_CP", "AUC_R_rel", "summary_window", "param_CL", "param_F1"):
        a = ds[v].isel(CL=i, DEPOT_dose=j).values
        np.testing.assert_array_equal(a, one[v].values, err_msg=v)


def test_the_population_varies_and_the_baseline_follows_each_patient(swept):
    sc, ds = swept
    kin = ds["param_kin"].isel(CL=0, DEPOT_dose=0).values
    kout = ds["param_kout"].isel(CL=0, DEPOT_dose=0).values
    assert np.unique(kin).size == 4 and np.all(kout == 0.1)           # kin varies, kout does not
    np.testing.assert_array_equal(ds["R"].isel(arm=0, CL=0, DEPOT_dose=0, time=0).values, kin / kout)
    # the patients are the same at every sweep point, except the swept CL itself
    np.testing.assert_array_equal(ds["param_kin"].isel(CL=1, DEPOT_dose=1).values, kin)
    cl = ds["param_CL"].values
    np.testing.assert_allclose(cl[1] / cl[0], 2.0, rtol=1e-15)


def test_summary_records_are_one_per_arm_and_point(swept):
    sc, ds = swept
    rec = summary_records(ds)
    assert len(rec) == 3 * 4
    assert list(rec[0])[:5] == ["arm", "CL", "DEPOT.dose", "n", "window_h"]
    assert [(r["arm"], r["CL"], r["DEPOT.dose"]) for r in rec[:4]] == [
        ("placebo", "3 L/h", "40 mg"), ("placebo", "3 L/h", "120 mg"), ("placebo", "6 L/h", "40 mg"),
        ("placebo", "6 L/h", "120 mg")]
    qd = [r for r in rec if r["arm"] == "QD"]
    assert all(r["window_h"] == "72-96" for r in qd) and rec[0]["window_h"] == "-"
    # a higher dose gives a higher median Cmax; a higher clearance a lower one
    cmax = {(r["CL"], r["DEPOT.dose"]): r["CMAX_CP [mg/L]"] for r in qd}
    assert cmax[("3 L/h", "120 mg")] > cmax[("3 L/h", "40 mg")] > cmax[("6 L/h", "40 mg")]
    x = ds["CMAX_CP"].sel(arm="QD").isel(CL=0, DEPOT_dose=1).values
    assert cmax[("3 L/h", "120 mg")] == float(np.median(x))


def test_cli_run_with_a_sweep_writes_the_dataset_and_a_tidy_csv(folder):
    sc = scenario(folder)
    out, table = folder / "o.nc", folder / "o.csv"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "--csv", str(table)])
    assert r.exit_code == 0, r.output
    assert "model indirect_response, summary over last_interval, median over 4 patients:" in r.stdout
    ds = read_dataset(out)
    with open(table, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["variable", "arm", "CL", "DEPOT_dose", "patient", "time", "drug", "value", "units"]
    cp = [x for x in rows[1:] if x[0] == "CP"]
    assert len(cp) == ds["CP"].size
    pick = [x for x in cp if x[1] == "QD" and x[2] == "6.0" and x[3] == "120.0" and x[4] == "2"]
    np.testing.assert_array_equal([float(x[7]) for x in pick], ds["CP"].sel(arm="QD").isel(CL=1, DEPOT_dose=1,
                                                                                            patient=2).values)
    assert {x[8] for x in cp} == {"mg/L"}


def test_cli_validate_prints_the_model_and_the_plan(folder):
    r = CliRunner().invoke(main, ["validate", str(scenario(folder))])
    assert r.exit_code == 0, r.output
    assert "scenario irm-sweep: valid" in r.stdout and "sweep CL: 3 L/h, 6 L/h" in r.stdout
    assert "sweep points: 4" in r.stdout and "simulations: 48 (3 states" in r.stdout
    assert "estimated time: about" in r.stdout


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(folder, swept):
    sc, ref = swept
    cp = Checkpoint(folder / "o.checkpoint", sc.text)

    def crash_after_five(fn, items):
        for k, item in enumerate(items):
            if k == 5:
                raise KeyboardInterrupt
            yield fn(item)

    with pytest.raises(KeyboardInterrupt):
        run(sc, checkpoint=cp, map_groups=crash_after_five)
    assert len(list((folder / "o.checkpoint").glob("group_*.npz"))) == 5
    calls = []

    def counting(fn, items):
        for item in items:
            calls.append(item)
            yield fn(item)

    again = run(sc, checkpoint=cp, map_groups=counting)
    assert len(calls) == 12 - 5
    xr.testing.assert_identical(ref.drop_attrs(), again.drop_attrs())


def test_cli_resume_and_rerun_from_the_result(folder):
    sc = scenario(folder)
    first, again = folder / "a.nc", folder / "b.nc"
    assert CliRunner().invoke(main, ["run", str(sc), "-o", str(first), "-q", "--resume"]).exit_code == 0
    assert not (folder / "a.nc.checkpoint").exists()
    # --from reads the model file relative to the folder recorded with the result, from anywhere
    r = CliRunner().invoke(main, ["run", "--from", str(first), "-o", str(again), "-q"])
    assert r.exit_code == 0, r.output
    xr.testing.assert_identical(read_dataset(first).drop_attrs(), read_dataset(again).drop_attrs())


def test_a_checkpoint_of_an_edited_model_file_is_refused(folder):
    from pkpd.cli import _fingerprint

    path = scenario(folder)
    sc = load_scenario(path)
    before = _fingerprint(sc)
    assert _fingerprint(load_scenario(path)) == before
    model = folder / MODEL.name
    model.write_text(model.read_text().replace("kout [1/h]  = 0.1", "kout [1/h]  = 0.2"))
    edited = load_scenario(path)         # what a resumed run reads
    assert _fingerprint(edited) != before and _fingerprint(edited).startswith(sc.text)


def test_a_model_scenario_pickles_as_its_text(swept):
    sc, ds = swept
    back = pickle.loads(pickle.dumps(sc))
    assert back == sc and back.model.name == "indirect_response" and back.compiled is not None
    xr.testing.assert_identical(run(back).drop_attrs(), ds.drop_attrs())


def test_dask_workers_give_bitwise_the_threaded_result(swept):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    from pkpd.executors import executor

    sc, ds = swept
    with executor("dask", "local", n_workers=2) as map_groups:
        distributed = run(sc, map_groups=map_groups)
    xr.testing.assert_identical(ds.drop_attrs(), distributed.drop_attrs())


def test_cli_plots_of_a_swept_model_scenario(folder):
    from PIL import Image

    sc = scenario(folder)
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(folder / "o.nc"), "--plots", str(folder / "figs"), "-q"])
    assert r.exit_code == 0, r.output
    figs = sorted((folder / "figs").iterdir())
    assert [p.name for p in figs] == ["profiles.png", "sweep.png"]
    for p in figs:
        w, h = Image.open(p).size
        assert w > 600 and h > 300
    out = folder / "x.png"
    ok = CliRunner().invoke(main, ["plot", str(folder / "o.nc"), "sweep", "-o", str(out), "--metric", "CMIN_R_rel"])
    assert ok.exit_code == 0 and out.is_file(), ok.output
    bad = CliRunner().invoke(main, ["plot", str(folder / "o.nc"), "pk", "-o", str(out)])
    assert bad.exit_code == 2 and bad.stderr.strip() == ("error: kind: unknown plot kind 'pk'; valid kinds: profiles, "
                                                         "sweep, waterfall, swimmer, spider, km, orr")


def test_the_figures_show_what_the_dataset_holds(swept):
    from pkpd.model_plots import plot_profiles, plot_sweep

    sc, ds = swept
    fig = plot_profiles(ds, variables=["CP"], arm="QD", point={"DEPOT.dose": "120 mg"})
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_title() == "CL = 3 L/h" and "DEPOT.dose = 120 mg" in fig._suptitle.get_text()
    line = axes[1].get_lines()[0]              # CL = 6 L/h: the median over the 4 patients
    np.testing.assert_allclose(line.get_ydata(), np.median(ds["CP"].sel(arm="QD").isel(CL=1, DEPOT_dose=1).values,
                                                          axis=0))
    fig = plot_sweep(ds, metric="CMAX_CP", key="DEPOT.dose")
    (ax,) = fig.get_axes()
    lines = ax.get_lines()
    assert len(lines) == 2                     # QD and BID: placebo has no summary window
    np.testing.assert_allclose(lines[0].get_ydata(), np.median(ds["CMAX_CP"].sel(arm="QD").isel(CL=0).values, axis=1))
    assert "no summary window: placebo" in fig._suptitle.get_text()
    from pkpd.errors import InputError

    with pytest.raises(InputError, match="unknown variable 'AUC'"):
        plot_profiles(ds, variables=["AUC"])
    with pytest.raises(InputError, match="unknown metric 'CP'"):
        plot_sweep(ds, metric="CP")


# ---------------------------------------------------------------------------------- the closed-form path
STIFF = "solver: {{method: radau5, rtol: 1e-8, atol: 1e-10{pk}}}"


def _stiff(folder, pk: str, name: str):
    text = scenario(folder, SWEEP, name).read_text().replace("solver: {rtol: 1e-8, atol: 1e-10}",
                                                             STIFF.format(pk=pk))
    path = folder / name
    path.write_text(text)
    return load_scenario(path)


def test_a_stiff_run_takes_the_pk_in_closed_form_and_gives_the_ode_paths_numbers(folder):
    """DEPOT and CENT are a linear source; with radau5 (solver.pk auto) the solver carries R alone.

    Both paths integrate at rtol 1e-8, the closed form with the PK exact: they agree to 1e-6 of
    each variable's scale (a hundred times the tolerance, for error accumulation over 4 days)."""
    closed, ode = (run(_stiff(folder, pk, f"{k}.yaml")) for k, pk in (("c", ""), ("o", ", pk: ode")))
    assert closed.attrs["closed_form"].startswith("DEPOT, CENT (")
    assert ode.attrs["closed_form"] == "none"
    for v in ("CENT", "R", "CP", "R_rel", "AUC_CP", "CMIN_R_rel"):
        a, b = closed[v].values, ode[v].values
        assert np.nanmax(np.abs(a - b)) <= 1e-6 * np.nanmax(np.abs(b)), v
    assert int(closed.solver_steps.sum()) < int(ode.solver_steps.sum())


def test_closed_form_is_refused_for_a_model_without_a_linear_source(folder):
    shutil.copy(ROOT / "examples" / "tmdd.model", folder / "tmdd.model")
    text = (ROOT / "examples" / "tmdd.yaml").read_text()
    text = text.replace("solver: {method: radau5,", "solver: {pk: closed_form, method: radau5,")
    (folder / "t.yaml").write_text(text)
    r = CliRunner().invoke(main, ["validate", str(folder / "t.yaml")])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1].startswith("error: solver.pk: closed_form: model tmdd has no linear")


# ---------------------------------------------------------------------------------- drug: shorthand
COMPOSED = """\
name: drug-shorthand
model: tnbc_combination
duration: 3 d
output_every: 6 h
population: {{size: 2, seed: 1, variability: {{ruxolitinib.CL: 0.3}}}}
arms:
  - name: combination
    regimen:
      - {{{ner}, dose: 240 mg, every: 24 h}}
      - {{{rux}, dose: 15 mg, every: 12 h}}
sweep:
  {key}: [10 mg, 20 mg]
"""


def test_drug_is_shorthand_for_the_blocks_dosing_compartment():
    short = run(load_scenario(COMPOSED.format(ner="drug: neratinib", rux="drug: ruxolitinib", key="ruxolitinib.dose")))
    full = run(load_scenario(COMPOSED.format(ner="cmt: neratinib.DEPOT", rux="cmt: ruxolitinib.DEPOT",
                                             key="ruxolitinib.DEPOT.dose")))
    assert short.attrs["sweep_keys"] == full.attrs["sweep_keys"] == "ruxolitinib.DEPOT.dose"
    for v in ("neratinib.CENT", "ruxolitinib.CENT", "signaling.pSTAT3"):
        np.testing.assert_array_equal(short[v].values, full[v].values)


@pytest.mark.parametrize("entry, message", [
    ("drug: neratinibb", "arms[0].regimen[0].drug: must name a block of the model: neratinib, ruxolitinib, "
                         "signaling, tumor, got neratinibb"),
    ("drug: signaling", "arms[0].regimen[0].drug: block signaling declares no dosed state; give cmt: instead"),
    ("drug: neratinib, cmt: neratinib.DEPOT", "arms[0].regimen[0]: give cmt or drug, not both"),
])
def test_bad_drug_entries_are_one_line_errors(entry, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(COMPOSED.format(ner=entry, rux="drug: ruxolitinib", key="ruxolitinib.dose"))
    assert str(err.value) == message


def test_drug_needs_a_composed_model(folder):
    text = scenario(folder, "").read_text().replace("cmt: DEPOT, dose: 100 mg", "drug: DEPOT, dose: 100 mg")
    (folder / "d.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"arms\[1\].regimen\[0\].drug: is shorthand for a block's dosing "
                                            "compartment, and indirect_response is not composed of blocks"):
        load_scenario(folder / "d.yaml")
