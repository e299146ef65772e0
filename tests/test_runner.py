"""The scenario runner and the CLI: shipped scenarios, outputs, metrics, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from pkpd.cli import main
from pkpd.io import read_dataset
from pkpd.metrics import summary_records
from pkpd.runner import plan, run
from pkpd.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def reduced(path: Path, days: int = 4) -> str:
    """A shipped scenario shortened for the test suite: ``days`` days, 6-hourly output, 2 values per sweep key."""
    d = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # keeps every scalar as written
    d["duration"] = f"{days} d"
    d["output_every"] = "6 h"
    d.pop("evaluation", None)
    d.pop("biopsies", None)
    if "population" in d:
        pop = d["population"]
        d["population"] = {"size": min(int(pop.get("size", 1)), 3), "seed": int(pop.get("seed", 0)),
                           "variability": pop.get("variability", "false").lower() in ("true", "yes", "on")}
    for key, values in (d.get("sweep") or {}).items():
        d["sweep"][key] = values[:2]
    return yaml.safe_dump(d, sort_keys=False)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_validates_and_runs_reduced(path):
    load_scenario(path)  # the full scenario is valid as shipped
    ds = run(load_scenario(reduced(path)))
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name
    assert np.all(np.isfinite(ds["tumor_volume"].values))
    assert ds.attrs["pkpd_version"] and "seed" in ds.attrs and ds.attrs["scenario"]


TEXT = """
name: small
duration: 6 d
output_every: 0.05 h   # the runner's fine grid: stored trajectories show every point it averages over
population: {size: 1, seed: 7, variability: false}
arms:
  - name: combination
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h}
sweep:
  ruxolitinib.dose: [5 mg, 25 mg]
"""


@pytest.fixture(scope="module")
def small():
    return run(load_scenario(TEXT))


def test_runner_adds_control_and_monotherapy_arms(small):
    p = plan(load_scenario(TEXT))
    assert set(p.added_arms) == {"control", "neratinib as in combination", "ruxolitinib as in combination"}
    assert list(small["arm"].values) == ["combination", "control", "neratinib as in combination",
                                         "ruxolitinib as in combination"]


def test_dimensions_units_and_day_coordinate(small):
    assert small["conc"].dims == ("arm", "ruxolitinib_dose", "patient", "time", "drug")
    assert small["conc"].attrs["units"] == "nM"
    np.testing.assert_allclose(small["day"].values, small["time"].values / 24)
    assert list(small["ruxolitinib_dose_label"].values) == ["5 mg", "25 mg"]


def test_metrics_follow_their_definitions(small):
    ctl = small.sel(arm="control")
    combo = small.sel(arm="combination")
    t = small["time"].values
    w = t >= float(np.atleast_1d(small.attrs["evaluation_window_h"])[0])
    for name, var in (("pSTAT3_inhibition", "pSTAT3"), ("proliferation_inhibition", "P")):
        x = combo[var].isel(patient=0).values[:, w]
        c = ctl[var].isel(patient=0).values[:, w]
        expected = 1 - np.trapezoid(x, t[w], axis=-1) / np.trapezoid(c, t[w], axis=-1)
        np.testing.assert_allclose(small[name].sel(arm="combination", stat="median").values, expected, rtol=1e-12)
    e = {a: small["proliferation_inhibition"].sel(arm=a, stat="median").values for a in small["arm"].values}
    bliss = e["combination"] - (e["neratinib as in combination"] + e["ruxolitinib as in combination"]
                                - e["neratinib as in combination"] * e["ruxolitinib as in combination"])
    np.testing.assert_allclose(small["bliss_excess"].sel(arm="combination", stat="median").values, bliss, rtol=1e-12)
    # more ruxolitinib inhibits pSTAT3 more
    p = small["pSTAT3_inhibition"].sel(arm="ruxolitinib as in combination", stat="median").values
    assert p[1] > p[0] > 0


def test_same_scenario_and_seed_give_identical_results(small):
    again = run(load_scenario(TEXT))
    xr.testing.assert_identical(small.drop_attrs(), again.drop_attrs())


def test_cli_run_summary_validate(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(TEXT)
    out = tmp_path / "out.nc"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "--csv", str(tmp_path / "t.csv"), "-q"])
    assert r.exit_code == 0, r.output
    ds = read_dataset(out)
    assert ds.attrs["seed"] == 7
    r = CliRunner().invoke(main, ["summary", str(out), "--format", "json"])
    records = json.loads(r.output)
    assert len(records) == 4 * 2
    assert {"arm", "ruxolitinib.dose", "pSTAT3_inhibition", "bliss_excess", "hsa_excess", "tgi",
            "CMAX_neratinib", "AUCTAU_ruxolitinib"} <= set(records[0])
    assert records == summary_records(ds)
    r = CliRunner().invoke(main, ["validate", str(sc)])
    assert r.exit_code == 0 and "sweep points: 2" in r.output and "estimated memory" in r.output
    assert (tmp_path / "t.csv").read_text().startswith("variable,arm,ruxolitinib_dose,patient,time,drug,value,units")


@pytest.mark.parametrize("text, message", [
    ("name: x\nduration: 8 weeks\narms:\n  - name: a\n    regimen:\n      - {drug: neratinib, dose: -5 mg, every: 24 h}\n",
     "arms[0].regimen[0].dose: must be > 0 mg, got -5 mg"),
    ("name: x\nduration: 8 weeks\narms:\n  - name: a\n    regimen:\n      - {drug: aspirin, dose: 5 mg, every: 24 h}\n",
     "arms[0].regimen[0].drug"),
    ("name: x\nduration: 8 weeks\narms: [{name: a}]\nsweep: {neratinib.dosage: [1 mg]}\n", "sweep.neratinib.dosage"),
    ("name: x\nduration: [oops\n", "line"),
    ("name: x\nduration: 8 weeks\npopulation: {size: 0}\narms: [{name: a}]\n", "population.size"),
])
def test_bad_scenarios_exit_2_with_one_line_and_no_output(tmp_path, text, message):
    sc = tmp_path / "bad.yaml"
    sc.write_text(text)
    out = tmp_path / "out.nc"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out)])
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert message in err and "\n" not in err and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == [sc]  # no output, no temporary file
