"""Virtual patients: distribution of the sampled parameters, reproducibility, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pkpd.errors import InputError
from pkpd.models.drugs import DRUGS, NERATINIB, RUXOLITINIB
from pkpd.population import (
    VirtualPatients,
    drug_stream,
    patient_rng,
    sample_etas,
    sample_parameters,
)

N = 20_000
N_SE = 4.0  # allowed deviation in standard errors (two-sided p ~ 6e-5 per check; fixed seeds anyway)


@pytest.fixture(scope="module", params=list(DRUGS), ids=list(DRUGS))
def big_sample(request):
    drug = DRUGS[request.param]
    return drug, sample_parameters(drug, N, seed=12345)


# --------------------------------------------------------------------------- shape and typical patient

def test_shape_dtype_and_names():
    pop = sample_parameters("neratinib", 5, seed=0)
    assert isinstance(pop, VirtualPatients) and len(pop) == 5
    assert pop.values.shape == (5, len(NERATINIB.parameter_names)) and pop.values.dtype == np.float64
    assert pop.parameter_names == NERATINIB.parameter_names
    assert pop.units == tuple(p.unit for p in NERATINIB.all_parameters)
    assert pop.etas.shape == (5, 3) and pop.eta_names == ("CL", "V", "KA")
    assert pop.patient.tolist() == [0, 1, 2, 3, 4]
    assert not pop.values.flags.writeable and not pop.etas.flags.writeable
    assert set(pop.as_dict()) == set(NERATINIB.parameter_names)
    with pytest.raises(InputError, match="unknown parameter 'X'"):
        pop.column("X")
    with pytest.raises(InputError, match="unknown eta 'X'"):
        pop.eta("X")


@pytest.mark.parametrize("drug", list(DRUGS.values()), ids=list(DRUGS))
def test_typical_patients_without_variability(drug):
    pop = sample_parameters(drug, 3, seed=7, variability=False)
    assert np.all(pop.etas == 0.0)
    typical = np.array([p.value for p in drug.all_parameters])
    assert np.array_equal(pop.values, np.tile(typical, (3, 1)))


def test_parameters_without_eta_are_constant():
    pop = sample_parameters(NERATINIB, 200, seed=3)
    for name in ("tlag", "F", "kCL"):
        assert np.all(pop.column(name) == NERATINIB.parameter(name).value)
    # CL1 shares the CL eta: the ratio CL1/CL is the typical one for every patient
    assert np.allclose(pop.column("CL1") / pop.column("CL"), 216.0 / 281.0, rtol=1e-14)
    # Vc and Vp share one eta: Vc/Vp constant, Vss = (Vc+Vp) carries the Vss CV
    assert np.allclose(pop.column("Vc") / pop.column("Vp"), 2544.0 / 3889.0, rtol=1e-14)


# --------------------------------------------------------------------------- distributions

def test_sampled_cvs_match_requested(big_sample):
    """SD of log(P_i / TV) equals omega = sqrt(ln(1+CV^2)).

    For normal data the standard error of the sample SD is omega / sqrt(2 (N-1)) and
    that of the mean omega / sqrt(N); allow N_SE of each.
    """
    drug, pop = big_sample
    for k, e in enumerate(drug.iiv):
        for name in e.parameters:
            log_ratio = np.log(pop.column(name) / drug.parameter(name).value)
            assert np.array_equal(log_ratio, log_ratio)  # finite, no NaN
            se_sd = e.omega / math.sqrt(2 * (N - 1))
            assert abs(log_ratio.std(ddof=1) - e.omega) < N_SE * se_sd, (drug.name, name)
            assert abs(log_ratio.mean()) < N_SE * e.omega / math.sqrt(N), (drug.name, name)
            # the etas table holds exactly these deviations
            assert np.allclose(log_ratio, pop.etas[:, k], rtol=0, atol=1e-12)
        # the CV of the log-normal parameter itself: sqrt(exp(omega^2) - 1) = CV
        p = pop.column(e.parameters[0])
        assert np.std(p, ddof=1) / np.mean(p) == pytest.approx(e.cv, rel=0.05)


def test_etas_independent_by_default(big_sample):
    """No correlation published: off-diagonal sample correlations within N_SE * 1/sqrt(N)."""
    drug, pop = big_sample
    R = np.corrcoef(pop.etas, rowvar=False)
    off = R[~np.eye(R.shape[0], dtype=bool)]
    assert np.all(np.abs(off) < N_SE / math.sqrt(N))


def test_correlation_is_reproduced():
    """Requested correlation reproduced within N_SE standard errors, SE(r) = (1 - r^2)/sqrt(N)."""
    R = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 1.0]])
    pop = sample_parameters(RUXOLITINIB, N, seed=99, correlation=R)
    R_hat = np.corrcoef(pop.etas, rowvar=False)
    se = (1 - R**2) / math.sqrt(N)
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(R_hat - R)[off] < N_SE * se[off])
    # marginal SDs unchanged by the correlation
    omegas = np.array([e.omega for e in RUXOLITINIB.iiv])
    assert np.all(np.abs(pop.etas.std(axis=0, ddof=1) - omegas) < N_SE * omegas / math.sqrt(2 * (N - 1)))


def test_sample_etas_covariance():
    omega = np.array([[0.09, 0.03], [0.03, 0.04]])
    eta = sample_etas(omega, N, seed=5, stream=1)
    cov = np.cov(eta, rowvar=False)
    # SE of a sample covariance entry: sqrt((s_ij^2 + s_ii s_jj) / N)
    se = np.sqrt((omega**2 + np.outer(np.diag(omega), np.diag(omega))) / N)
    assert np.all(np.abs(cov - omega) < N_SE * se)


# --------------------------------------------------------------------------- reproducibility

@pytest.mark.parametrize("splits", [(1,), (17,), (1, 2, 3), (25, 24)])
def test_blocks_give_bitwise_identical_patients(splits):
    n = 50
    R = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.1], [0.2, 0.1, 1.0]])
    wt = np.linspace(45.0, 110.0, n)
    whole = sample_parameters(NERATINIB, n, seed=2024, correlation=R, covariates={"WT": wt})
    bounds = [0, *np.cumsum(splits), n]
    blocks = {}
    for lo, hi in reversed(list(zip(bounds[:-1], bounds[1:]))):  # out of order on purpose
        blocks[lo] = sample_parameters(NERATINIB, int(hi - lo), seed=2024, start=int(lo), correlation=R,
                                       covariates={"WT": wt[lo:hi]})
    values = np.concatenate([blocks[lo].values for lo in sorted(blocks)])
    etas = np.concatenate([blocks[lo].etas for lo in sorted(blocks)])
    patients = np.concatenate([blocks[lo].patient for lo in sorted(blocks)])
    assert values.tobytes() == whole.values.tobytes()
    assert etas.tobytes() == whole.etas.tobytes()
    assert patients.tolist() == list(range(n))


def test_same_seed_same_patients_different_seed_different():
    a = sample_parameters(RUXOLITINIB, 100, seed=1)
    b = sample_parameters(RUXOLITINIB, 100, seed=1)
    c = sample_parameters(RUXOLITINIB, 100, seed=2)
    assert a.values.tobytes() == b.values.tobytes()
    assert not np.any(a.etas == c.etas)


def test_drugs_and_streams_draw_independently():
    # one scenario seed, two drugs: the standard normals behind the etas differ
    ner = sample_parameters(NERATINIB, 50, seed=8, correlation=np.eye(3))
    rux = sample_parameters(RUXOLITINIB, 50, seed=8)
    z_ner = ner.etas / np.array([e.omega for e in NERATINIB.iiv])
    z_rux = rux.etas / np.array([e.omega for e in RUXOLITINIB.iiv])
    assert not np.any(np.isclose(z_ner, z_rux))
    assert ner.stream == drug_stream("neratinib") != rux.stream
    other = sample_parameters(RUXOLITINIB, 50, seed=8, stream=0)
    assert not np.any(other.etas == rux.etas)


def test_patient_rng_is_per_patient():
    a = patient_rng(3, 10, 1).standard_normal(4)
    assert np.array_equal(a, patient_rng(3, 10, 1).standard_normal(4))
    assert not np.array_equal(a, patient_rng(3, 11, 1).standard_normal(4))
    assert not np.array_equal(a, patient_rng(3, 10, 2).standard_normal(4))


# --------------------------------------------------------------------------- covariates

def test_weight_covariate_is_allometric():
    pop = sample_parameters(NERATINIB, 2, seed=0, variability=False, covariates={"WT": [70.0, 140.0]})
    ratio = pop.values[1] / pop.values[0]
    r = dict(zip(pop.parameter_names, ratio))
    assert r["CL"] == pytest.approx(2**0.75, rel=1e-14) and r["Q"] == pytest.approx(2**0.75, rel=1e-14)
    assert r["CL1"] == pytest.approx(2**0.75, rel=1e-14)
    assert r["Vc"] == pytest.approx(2.0, rel=1e-14) and r["Vp"] == pytest.approx(2.0, rel=1e-14)
    assert r["KA"] == 1.0 and r["tlag"] == 1.0
    # at the reference weight the typical values are unchanged
    assert np.array_equal(pop.values[0], [p.value for p in NERATINIB.all_parameters])


def test_ruxolitinib_sex_covariate_gives_label_clearances():
    pop = sample_parameters(RUXOLITINIB, 2, seed=0, variability=False, covariates={"SEX": [0, 1]})
    assert pop.column("CL")[0] == 17.7
    assert pop.column("CL")[1] == pytest.approx(22.1, rel=1e-14)
    assert np.all(pop.column("V") == 72.0)


def test_covariate_validation():
    with pytest.raises(InputError, match=r"covariates\.AGE: unknown covariate of ruxolitinib; valid: SEX, WT"):
        sample_parameters(RUXOLITINIB, 2, seed=0, covariates={"AGE": 50})
    with pytest.raises(InputError, match=r"covariates\.SEX: must be 0 or 1"):
        sample_parameters(RUXOLITINIB, 2, seed=0, covariates={"SEX": [0, 2]})
    with pytest.raises(InputError, match=r"covariates\.WT: must be > 0 kg"):
        sample_parameters(NERATINIB, 2, seed=0, covariates={"WT": [70.0, -1.0]})
    with pytest.raises(InputError, match=r"covariates\.WT: must be a number or an array of 2 numbers"):
        sample_parameters(NERATINIB, 2, seed=0, covariates={"WT": [70.0, 60.0, 50.0]})
    with pytest.raises(InputError, match=r"covariates\.WT: must be finite"):
        sample_parameters(NERATINIB, 1, seed=0, covariates={"WT": float("nan")})


# --------------------------------------------------------------------------- input validation

@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0), "n: must be an integer >= 1, got 0"),
    (dict(n=2.0), "n: must be an integer >= 1, got 2.0"),
    (dict(n=True), "n: must be an integer >= 1, got True"),
    (dict(seed=-1), "seed: must be an integer >= 0, got -1"),
    (dict(seed=1.5), "seed: must be an integer >= 0, got 1.5"),
    (dict(seed=None), "seed: must be an integer >= 0, got None"),
    (dict(start=-3), "start: must be an integer >= 0, got -3"),
    (dict(stream=-1), "stream: must be an integer >= 0, got -1"),
    (dict(variability="no"), "variability: must be true or false, got 'no'"),
])
def test_invalid_arguments(kwargs, message):
    args = dict(drug="neratinib", n=3, seed=0) | kwargs
    with pytest.raises(InputError) as err:
        sample_parameters(**args)
    assert str(err.value) == message


def test_numpy_integers_accepted():
    a = sample_parameters("neratinib", np.int64(3), seed=np.uint32(4), start=np.int32(2))
    b = sample_parameters("neratinib", 3, seed=4, start=2)
    assert a.values.tobytes() == b.values.tobytes()


def test_unknown_drug():
    with pytest.raises(InputError, match="drug: unknown drug 'x'; valid: neratinib, ruxolitinib"):
        sample_parameters("x", 3, seed=0)


@pytest.mark.parametrize("R, message", [
    (np.eye(2), "correlation: must be a 3 x 3 matrix"),
    (np.array([[1, 0.5, 0], [0.4, 1, 0], [0, 0, 1.0]]), "correlation: must be symmetric"),
    (np.array([[2, 0, 0], [0, 1, 0], [0, 0, 1.0]]), "correlation: must have a unit diagonal"),
    (np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1.0]]), "correlation: must be positive definite"),
])
def test_invalid_correlation(R, message):
    with pytest.raises(InputError, match=message):
        sample_parameters(RUXOLITINIB, 3, seed=0, correlation=R)


def test_sample_etas_validation():
    with pytest.raises(InputError, match="omega: must be symmetric positive definite"):
        sample_etas(np.array([[1.0, 2.0], [2.0, 1.0]]), 3, seed=0)
    with pytest.raises(InputError, match="omega: must be a square matrix"):
        sample_etas(np.ones((2, 3)), 3, seed=0)
    assert sample_etas(np.zeros((0, 0)), 4, seed=0).shape == (4, 0)
