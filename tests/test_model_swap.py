"""Blocks swapped and added from a scenario, without code: ``model: {from, blocks, connections}``.

The trial composition with its Simeoni tumour replaced by a Gompertz block
(``examples/gompertz_tumor.model``) is checked against the Gompertz closed form for the untreated
arm, ``V(t) = Vmax exp(ln(V0/Vmax) exp(-alpha t))`` (the network's proliferation signal stays at
its baseline 1 without drug), at rtol 1e-8: bound 1e-6 relative.  The blocks that were not
replaced must give what the shipped composition gives: the same equations, integrated with the
tumour states changed, so the step sizes differ and the solutions agree to the solver tolerance
(bound 1e-5 relative at rtol 1e-8).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pkpd.cli import main
from pkpd.errors import ScenarioError
from pkpd.runner import run
from pkpd.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
GOMPERTZ = ROOT / "examples" / "gompertz_tumor.model"

TEXT = """\
name: swap
model: {model}
duration: 6 weeks
output_every: 24 h
solver: {{method: radau5, rtol: 1e-8, atol: 1e-10}}
arms:
  - name: control
  - name: combination
    regimen: [{{cmt: neratinib.DEPOT, dose: 240 mg, every: 24 h}}, {{cmt: ruxolitinib.DEPOT, dose: 15 mg, every: 12 h}}]
"""

BIOMARKER = """\
[model]
name = biomarker
description = a circulating biomarker whose production follows nuclear pSTAT3 (illustrative)

[parameters]
kout [1/h] = 0.05 ; loss of the biomarker ; GUESS: illustrative
S0   [fraction of total STAT3] = 0.0535 ; untreated nuclear pSTAT3 ; GUESS: the network's baseline

[inputs]
S [fraction of total STAT3] = 0.0535 ; nuclear pSTAT3

[states]
B [1] = 1 ; biomarker relative to baseline

[odes]
d/dt(B) = kout*(S/S0 - B)

[outputs]
level [1] = B ; biomarker relative to baseline
"""


@pytest.fixture()
def folder(tmp_path):
    shutil.copy(GOMPERTZ, tmp_path / GOMPERTZ.name)
    return tmp_path


def scenario(folder: Path, model: str):
    return load_scenario(TEXT.format(model=model), base_dir=folder)


def test_a_swapped_tumour_block_follows_its_own_law(folder):
    sc = scenario(folder, "{from: tnbc_combination, blocks: {tumor: gompertz_tumor.model}}")
    assert "tumor.V" in sc.model.state_names and "tumor.X1" not in sc.model.state_names
    ds = run(sc)
    t = ds["time"].values
    alpha, vmax, d0 = 0.0002, 1.0e6, 30.0
    v0 = np.pi / 6 * d0 ** 3
    closed = vmax * np.exp(np.log(v0 / vmax) * np.exp(-alpha * t))
    np.testing.assert_allclose(ds["tumor.volume"].sel(arm="control").values[0], closed, rtol=1e-6)
    treated = ds["tumor.volume"].sel(arm="combination").values[0]
    assert treated[-1] < closed[-1]                 # the combination slows growth


def test_the_blocks_not_replaced_give_the_shipped_compositions_results(folder):
    swapped = run(scenario(folder, "{from: tnbc_combination, blocks: {tumor: gompertz_tumor.model}}"))
    shipped = run(scenario(folder, "tnbc_combination"))
    for v in ("neratinib.conc", "ruxolitinib.conc_free", "signaling.pSTAT3", "signaling.P"):
        np.testing.assert_allclose(swapped[v].values, shipped[v].values, rtol=1e-5, atol=1e-12, err_msg=v)


def test_a_block_added_with_a_connection(folder):
    (folder / "biomarker.model").write_text(BIOMARKER)
    sc = scenario(folder, "{from: tnbc_combination, blocks: {marker: biomarker.model}, "
                          "connections: {marker.S: signaling.pSTAT3_nuclear}}")
    ds = run(sc)
    level = ds["marker.level"].values[:, 0]
    assert np.allclose(level[0], 1.0, atol=1e-3)                       # untreated: at baseline
    s = ds["signaling.pSTAT3_nuclear"].sel(arm="combination").values[0]
    assert level[1, -1] < 0.9 and s[1:].max() < 0.0535                # follows the fall of pSTAT3


def test_cli_runs_a_composition_from_the_scenario(folder):
    (folder / "s.yaml").write_text(TEXT.format(model="{from: tnbc_combination, blocks: {tumor: gompertz_tumor.model}}")
                                   .replace("6 weeks", "2 weeks"))
    r = CliRunner().invoke(main, ["run", str(folder / "s.yaml"), "-o", str(folder / "o.nc"), "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["validate", str(folder / "s.yaml")])
    assert "model custom_tnbc_combination (composed in the scenario): 19 states" in r.stdout


@pytest.mark.parametrize("model, message", [
    ("{from: tnbc_combination, blocks: {tumor: indirect_response.model}}", "composition custom_tnbc_combination: "
     "connection tumor.P <- signaling.P: "),
    ("{from: tnbc_combination, blocks: {tumor: gompertz.model}}", "model.blocks.tumor: no such model file"),
    ("{from: tnbc_combination, blocks: {tumor: simeoni}}", "model.blocks.tumor: unknown library model 'simeoni'"),
    ("{from: trial}", "model.from: 'trial' is not a library composition; valid: tnbc_combination"),
    ("{from: tnbc_combination, connections: {tumor.P: signaling.Q}}", "composition custom_tnbc_combination: "
     "connection tumor.P <- signaling.Q"),
    ("{from: tnbc_combination, blocks: [tumor]}", "model.blocks: must be a mapping name: block"),
    ("{blocks: {}}", "model.blocks: must be a mapping name: block"),
    ("{from: tnbc_combination, block: {}}", "model.block: unknown key; valid keys: name, from, blocks"),
])
def test_bad_compositions_are_one_line_errors(folder, model, message):
    shutil.copy(ROOT / "examples" / "indirect_response.model", folder)
    (folder / "s.yaml").write_text(TEXT.format(model=model))
    r = CliRunner().invoke(main, ["run", str(folder / "s.yaml"), "-o", str(folder / "o.nc")])
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert err.startswith("error: " + message), err
    assert "\n" not in err and not (folder / "o.nc").exists()
