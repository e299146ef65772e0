"""The population of a model scenario: an OMEGA matrix with correlations, covariates (drawn or from a
patient table) and their effects (pkpd.model_population).

Statistical checks draw 4000 patients and allow 4 standard errors of the estimate (a chance
failure about once in 16 000 runs, and the seed is fixed, so the test is deterministic): the SE
of a sample variance ``s^2`` is ``omega^2 sqrt(2/n)``, of a correlation ``(1 - rho^2)/sqrt(n)``,
of a median of a log-normal ``1.2533 sigma/sqrt(n)`` on the log scale, of a proportion
``sqrt(q(1-q)/n)``.  Everything else (the effects, the table, chunk independence, a diagonal
OMEGA against CVs) is exact.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pkpd.cli import main
from pkpd.io import read_dataset
from pkpd.model_group import patient_parameters
from pkpd.runner import run
from pkpd.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "indirect_response.model"
N = 4000

BASE = """\
name: pop
model: {model}
duration: 2 d
output_every: 2 h
arms:
  - name: QD
    regimen: [{{cmt: DEPOT, dose: 100 mg, every: 24 h}}]
population:
{population}
"""


def scenario(population: str, model: Path = MODEL, base_dir=None):
    text = BASE.format(model=model, population="\n".join("  " + line for line in population.strip().splitlines()))
    return load_scenario(text, base_dir=base_dir)


def index(sc, name):
    return sc.model.parameter_index(name)


def test_a_diagonal_omega_is_the_cvs_it_stands_for():
    a = scenario(f"size: 50\nseed: 4\nvariability: {{CL: 0.3, KA: 0.4}}")
    b = scenario(f"size: 50\nseed: 4\nomega: {{CL: {math.log1p(0.3 * 0.3)!r}, KA: {math.log1p(0.4 * 0.4)!r}}}")
    np.testing.assert_array_equal(patient_parameters(a), patient_parameters(b))


def test_correlated_random_effects_have_the_omega_matrix():
    sc = scenario(f"size: {N}\nseed: 11\nomega:\n  parameters: [CL, V]\n  matrix: [[0.09], [0.03, 0.04]]")
    P = patient_parameters(sc)
    eta = np.log(P[:, [index(sc, "CL"), index(sc, "V")]] / np.array([5.0, 50.0]))
    cov = np.cov(eta.T)
    assert abs(cov[0, 0] - 0.09) < 4 * 0.09 * math.sqrt(2 / N)
    assert abs(cov[1, 1] - 0.04) < 4 * 0.04 * math.sqrt(2 / N)
    rho = 0.03 / math.sqrt(0.09 * 0.04)
    assert abs(np.corrcoef(eta.T)[0, 1] - rho) < 4 * (1 - rho ** 2) / math.sqrt(N)
    assert np.all(P[:, index(sc, "KA")] == 1.0)        # no random effect on KA
    # the full matrix and the lower triangle are the same OMEGA
    full = scenario(f"size: 20\nseed: 11\nomega:\n  parameters: [CL, V]\n  matrix: [[0.09, 0.03], [0.03, 0.04]]")
    np.testing.assert_array_equal(patient_parameters(full), P[:20])


def test_patients_do_not_depend_on_the_chunk_they_are_drawn_in():
    sc = scenario(f"""size: 2000
seed: 3
variability: {{KA: 0.4}}
omega: {{parameters: [CL, V], matrix: [[0.09], [0.03, 0.04]]}}
covariates:
  WT: {{unit: kg, distribution: lognormal, median: 70, cv: 0.2, bounds: [40, 150]}}
  SEX: {{distribution: categorical, values: [0, 1], probabilities: [0.4, 0.6]}}
effects:
  CL: {{WT: {{power: 0.75, reference: 70}}, SEX: {{categories: {{1: 0.8}}}}}}""")
    P = patient_parameters(sc)
    np.testing.assert_array_equal(patient_parameters(sc, None, start=1500, n=7), P[1500:1507])


def test_covariates_are_drawn_within_bounds_and_act_through_their_effects():
    sc = scenario(f"""size: {N}
seed: 8
covariates:
  WT: {{unit: kg, distribution: lognormal, median: 70, cv: 0.25, bounds: [45, 120]}}
  AGE: {{unit: y, distribution: normal, mean: 55, sd: 10, bounds: [18, 90]}}
  SEX: {{distribution: categorical, values: [0, 1], probabilities: [0.4, 0.6]}}
effects:
  CL: {{WT: {{power: 0.75, reference: 70}}, SEX: {{categories: {{1: 0.8}}}}}}
  V: {{WT: {{power: 1, reference: 70}}}}
  KA: {{AGE: {{linear: -0.01, reference: 55}}}}
  kin: {{AGE: {{exponential: 0.02, reference: 55}}}}""")
    cov = sc.population_model.covariate_values(sc.population.seed, 0, N)
    wt, age, sex = cov["WT"], cov["AGE"], cov["SEX"]
    assert wt.min() >= 45 and wt.max() <= 120 and age.min() >= 18 and age.max() <= 90
    s = math.sqrt(math.log1p(0.25 ** 2))
    assert abs(math.log(np.median(wt) / 70)) < 4 * 1.2533 * s / math.sqrt(N)
    assert abs(np.mean(sex) - 0.6) < 4 * math.sqrt(0.24 / N) and set(np.unique(sex)) == {0.0, 1.0}
    P = patient_parameters(sc)
    # no random effects: every parameter is its typical value times its covariate factors, exactly
    np.testing.assert_allclose(P[:, index(sc, "CL")], 5.0 * (wt / 70) ** 0.75 * np.where(sex == 1, 0.8, 1.0),
                               rtol=1e-15)
    np.testing.assert_allclose(P[:, index(sc, "V")], 50.0 * wt / 70, rtol=1e-15)
    np.testing.assert_allclose(P[:, index(sc, "KA")], 1.0 * (1 - 0.01 * (age - 55)), rtol=1e-15)
    np.testing.assert_allclose(P[:, index(sc, "kin")], 10.0 * np.exp(0.02 * (age - 55)), rtol=1e-15)


def test_a_patient_table_gives_covariates_and_individual_parameters(tmp_path):
    (tmp_path / "patients.csv").write_text("ID,WT,CL\n1,50,4.0\n2,70,5.5\n3,100,7.25\n")
    sc = scenario("""seed: 1
table: patients.csv
variability: {V: 0.2}
covariates: {WT: {unit: kg}}
effects: {V: {WT: {power: 1, reference: 70}}}""", base_dir=tmp_path)
    assert sc.population.size == 3
    ds = run(sc)
    np.testing.assert_array_equal(ds["cov_WT"].values, [50, 70, 100])
    assert ds["cov_WT"].attrs["units"] == "kg"
    np.testing.assert_array_equal(ds["param_CL"].values, [4.0, 5.5, 7.25])
    alone = patient_parameters(scenario("size: 3\nseed: 1\nvariability: {V: 0.2}"))
    np.testing.assert_allclose(ds["param_V"].values, alone[:, index(sc, "V")] * np.array([50, 70, 100]) / 70,
                               rtol=1e-15)
    assert "covariate WT [kg]: from" in ds.attrs["population_model"]


def test_cli_runs_a_language_model_with_a_sweep_correlated_variability_and_a_covariate(tmp_path):
    """The issue's acceptance case: a sweep, correlated variability, a covariate, several arms, --csv."""
    shutil.copy(MODEL, tmp_path / MODEL.name)
    (tmp_path / "s.yaml").write_text("""\
name: irm-population
model: indirect_response.model
duration: 3 d
output_every: 1 h
population:
  size: 40
  seed: 2
  omega: {parameters: [CL, V], matrix: [[0.09], [0.03, 0.04]]}
  variability: {kin: 0.2}
  covariates: {WT: {unit: kg, distribution: lognormal, median: 70, cv: 0.2, bounds: [40, 150]}}
  effects: {CL: {WT: {power: 0.75, reference: 70}}, V: {WT: {power: 1, reference: 70}}}
arms:
  - name: placebo
  - name: 100 mg QD
    regimen: [{cmt: DEPOT, dose: 100 mg, every: 24 h}]
  - name: 50 mg BID
    regimen: [{cmt: DEPOT, dose: 50 mg, every: 12 h}]
sweep:
  IC50: [0.25 mg/L, 0.5 mg/L, 1 mg/L]
summary: {variables: [CP, R_rel], window: last_interval}
""")
    r = CliRunner().invoke(main, ["run", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o.nc"),
                                  "--csv", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    ds = read_dataset(tmp_path / "o.nc")
    assert ds["R_rel"].dims == ("arm", "IC50", "patient", "time") and int(ds["status"].max()) == 0
    assert ds["cov_WT"].dims == ("patient",) and ds["cov_WT"].values.min() >= 40
    assert "1 correlation(s)" in ds.attrs["population_model"]
    # a more potent drug (lower IC50) suppresses the biomarker more, in every patient, in both arms
    trough = ds["CMIN_R_rel"].sel(arm=["100 mg QD", "50 mg BID"]).values
    assert np.all(trough[:, 0] < trough[:, 1]) and np.all(trough[:, 1] < trough[:, 2])
    # untreated, the biomarker stays at each patient's own baseline (round-off of kin - kout kin/kout only)
    np.testing.assert_allclose(ds["R_rel"].sel(arm="placebo").values, 1.0, rtol=1e-12)
    assert (tmp_path / "o.csv").read_text().startswith("variable,arm,IC50,patient,time,drug,value,units\n")


@pytest.mark.parametrize("population, message", [
    ("size: 3\nomega: {parameters: [CL, V], matrix: [[0.09], [0.1, 0.04]]}",
     "population.omega: the OMEGA matrix is not positive definite"),
    ("size: 3\nomega: {parameters: [CL, V], matrix: [[0.09, 0.03], [0.02, 0.04]]}",
     "population.omega.matrix: must be symmetric"),
    ("size: 3\nomega: {parameters: [CL, VV], matrix: [[0.09], [0.03, 0.04]]}",
     "population.omega.parameters: unknown parameter 'VV' of model indirect_response"),
    ("size: 3\nvariability: {CL: 0.3}\nomega: {CL: 0.09}",
     "population.omega: gives CL a random effect that population.variability gives too"),
    ("size: 3\ncovariates: {WT: {unit: kg, distribution: lognormal, median: 70, cv: 0.2}}\n"
     "effects: {CL: {AGE: {power: 1, reference: 1}}}",
     "population.effects.CL.AGE: is not a covariate of population.covariates (WT)"),
    ("size: 3\ncovariates: {WT: {unit: kg, distribution: lognormal, median: 70, cv: 0.2}}\n"
     "effects: {CL: {WT: {power: 0.75}}}", "population.effects.CL.WT.reference: is required for a power effect"),
    ("size: 3\ncovariates: {WT: {unit: kg, distribution: normal, mean: 70, sd: 5, bounds: [200, 300]}}",
     "population.covariates.WT.bounds: leave 0.00% of the distribution"),
    ("size: 3\ncovariates: {WT: {unit: kg, median: 70}}", "population.covariates.WT.distribution: is required"),
    ("size: 3\ncovariates: {WT: {unit: kg, distribution: lognormal, mean: 70, cv: 0.2}}",
     "population.covariates.WT.median: is required for a lognormal covariate"),
    ("size: 3\ncovariates: {SEX: {distribution: categorical, values: [0, 1], probabilities: [0.5, 0.6]}}",
     "population.covariates.SEX.probabilities: must be >= 0 and add up to 1"),
    ("size: 3\ncovariates: {CL: {unit: kg, distribution: normal, mean: 70, sd: 5}}",
     "population.covariates.CL: is a parameter's name"),
    ("size: 3\ntable: nowhere.csv", "population.table: no such file"),
    ("size: 3\nomega: {CL: 0.09}\neffects: {CLX: {}}", "population.effects.CLX: unknown parameter of model"),
])
def test_bad_population_fields_are_one_line_errors(tmp_path, population, message):
    from pkpd.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        scenario(population, base_dir=tmp_path)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("table, population, message", [
    ("ID,WT\n1,50\n2,60\n", "size: 3\ntable: p.csv\ncovariates: {WT: {unit: kg}}",
     "population.size: is 3, but population.table"),
    ("ID,HT\n1,150\n", "table: p.csv", "population.table: {file}: column HT is neither a declared covariate"),
    ("ID,WT\n1,abc\n", "table: p.csv\ncovariates: {WT: {unit: kg}}", "population.table: {file}, row 2, column WT: "
                                                                   "not a number"),
    ("ID,F1\n1,1.5\n", "table: p.csv", "population.table: {file}: column F1 has 1.5, outside the parameter's bounds"),
    ("ID,CL\n1,4\n", "table: p.csv\nvariability: {CL: 0.3}",
     "population.variability: gives CL a random effect, but population.table gives its individual values"),
])
def test_bad_patient_tables_are_one_line_errors(tmp_path, table, population, message):
    from pkpd.errors import ScenarioError

    (tmp_path / "p.csv").write_text(table)
    with pytest.raises(ScenarioError) as err:
        scenario(population, base_dir=tmp_path)
    assert str(err.value).startswith(message.format(file=tmp_path / "p.csv")), str(err.value)
