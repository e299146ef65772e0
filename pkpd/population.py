"""Virtual patients: seeded sampling of individual PK parameters.

Each patient's parameters are drawn from the drug's population model
(:class:`pkpd.models.drugs.DrugPK`):

    P_ij = TV_j · Π_c effect_cj(covariate_ic) · exp(eta_ik(j)),
    eta_i ~ N(0, Ω),  Ω = D R D,  D = diag(ω_k),  ω_k² = ln(1 + CV_k²),

with R the eta correlation matrix (identity unless given).  ``eta_i = L z_i`` with
``L`` the lower Cholesky factor of Ω and ``z_i`` standard normal.

Reproducibility across blocks, threads and machines
---------------------------------------------------
Patient ``i`` gets its own random stream,
``SeedSequence(entropy=seed, spawn_key=(stream, i))``, where ``stream`` defaults
to a fixed CRC-32 of the drug name (so two drugs given to the same patient get
independent etas under one scenario seed).  Nothing a patient draws depends on
which other patients are drawn in the same call, so sampling patients 0..N-1 in
one call gives bitwise the same numbers as sampling 0..k-1 and k..N-1 (``start=k``)
separately, in any order, on any worker.  The arithmetic after the draw is
element-wise in a fixed order (no BLAS reductions whose blocking could depend on
the batch size).

The same per-patient streams are available to other components through
:func:`patient_rng` (pass another ``stream``).
"""

from __future__ import annotations

import numbers
import zlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from pkpd.errors import InputError
from pkpd.models.drugs import DrugPK, get_drug
from pkpd.models.drugs.base import check_correlation

__all__ = [
    "VirtualPatients",
    "sample_parameters",
    "sample_etas",
    "patient_rng",
    "drug_stream",
]


# --------------------------------------------------------------------------- validation

def _require_int(value, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(path, f"must be an integer >= {minimum}", repr(value))
    v = int(value)
    if v < minimum:
        raise InputError(path, f"must be an integer >= {minimum}", v)
    return v


def drug_stream(name: str) -> int:
    """Default random-stream key of a drug: CRC-32 of its name (stable across runs and platforms)."""
    return zlib.crc32(name.encode("utf-8"))


def patient_rng(seed: int, patient: int, stream: int = 0) -> np.random.Generator:
    """The random generator of patient ``patient`` in stream ``stream`` of scenario seed ``seed``.

    ``Generator(PCG64(SeedSequence(entropy=seed, spawn_key=(stream, patient))))``:
    independent of every other patient and stream, whatever the batch it is drawn in.
    """
    seed = _require_int(seed, "seed", 0)
    patient = _require_int(patient, "patient", 0)
    stream = _require_int(stream, "stream", 0)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(stream, patient))))


def sample_etas(omega, n: int, seed: int, *, start: int = 0, stream: int = 0) -> np.ndarray:
    """Random effects of patients ``start .. start+n-1``, shape (n, n_eta).

    Parameters
    ----------
    omega : array_like, shape (n_eta, n_eta)
        Covariance matrix Ω of the etas (symmetric positive definite).
    n : int >= 1
        Number of patients.
    seed : int >= 0
        Scenario seed.
    start : int >= 0
        Index of the first patient (for sampling a population in blocks).
    stream : int >= 0
        Stream key (see :func:`patient_rng`).

    Returns
    -------
    ndarray, shape (n, n_eta), float64: row ``r`` is ``L @ z`` for patient
    ``start + r``, with ``L = cholesky(Ω)`` and ``z`` its n_eta standard normals.
    """
    n = _require_int(n, "n", 1)
    seed = _require_int(seed, "seed", 0)
    start = _require_int(start, "start", 0)
    stream = _require_int(stream, "stream", 0)
    omega = np.asarray(omega, dtype=np.float64)
    if omega.ndim != 2 or omega.shape[0] != omega.shape[1]:
        raise InputError("omega", "must be a square matrix", omega.shape)
    k = omega.shape[0]
    if k == 0:
        return np.zeros((n, 0))
    try:
        L = np.linalg.cholesky(omega)
    except np.linalg.LinAlgError:
        raise InputError("omega", "must be symmetric positive definite", show_value=False) from None
    z = np.empty((n, k))
    for r in range(n):
        z[r] = patient_rng(seed, start + r, stream).standard_normal(k)
    # eta[:, j] = sum_m L[j, m] z[:, m], summed in a fixed order m = 0..j (bitwise batch-independent)
    eta = np.zeros((n, k))
    for j in range(k):
        for m in range(j + 1):
            eta[:, j] += L[j, m] * z[:, m]
    return eta


# --------------------------------------------------------------------------- result record

@dataclass(frozen=True)
class VirtualPatients:
    """Individual parameters of a block of virtual patients (read-only arrays).

    Attributes
    ----------
    drug : str
        Drug registry name.
    parameter_names, units : tuple of str
        Column names and units of :attr:`values` (``DrugPK.parameter_names``).
    values : ndarray, shape (n_patients, n_params), float64
        Individual parameter values (L/h, L, 1/h, h, 1 as in ``units``).
    eta_names : tuple of str
        Column names of :attr:`etas` (``DrugPK.eta_names``).
    etas : ndarray, shape (n_patients, n_eta), float64
        Random effects (log-scale deviations); zeros when sampled without variability.
    patient : ndarray, shape (n_patients,), int64
        Global patient indices (``start .. start+n-1``).
    seed, stream : int
        Scenario seed and stream key the patients were drawn with.
    variability : bool
        Whether IIV was sampled (False = typical patients).
    """

    drug: str
    parameter_names: tuple[str, ...]
    units: tuple[str, ...]
    values: np.ndarray
    eta_names: tuple[str, ...]
    etas: np.ndarray
    patient: np.ndarray
    seed: int
    stream: int
    variability: bool

    def __post_init__(self):
        for a in (self.values, self.etas, self.patient):
            a.flags.writeable = False

    def __len__(self) -> int:
        return self.values.shape[0]

    def column(self, name: str) -> np.ndarray:
        """Values of parameter ``name`` for every patient, shape (n_patients,)."""
        if name not in self.parameter_names:
            raise InputError("parameter", f"unknown parameter {name!r} of {self.drug}; valid: "
                             + ", ".join(self.parameter_names), show_value=False)
        return self.values[:, self.parameter_names.index(name)]

    def eta(self, name: str) -> np.ndarray:
        """Random effect ``name`` for every patient, shape (n_patients,)."""
        if name not in self.eta_names:
            raise InputError("eta", f"unknown eta {name!r} of {self.drug}; valid: "
                             + ", ".join(self.eta_names), show_value=False)
        return self.etas[:, self.eta_names.index(name)]

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{parameter name: values (n_patients,)}``."""
        return {n: self.values[:, j] for j, n in enumerate(self.parameter_names)}


# --------------------------------------------------------------------------- sampling

def sample_parameters(
    drug: DrugPK | str,
    n: int,
    seed: int,
    *,
    start: int = 0,
    variability: bool = True,
    covariates: Mapping[str, object] | None = None,
    correlation=None,
    stream: int | None = None,
) -> VirtualPatients:
    """Sample individual PK parameters for patients ``start .. start+n-1``.

    Parameters
    ----------
    drug : DrugPK or str
        The drug's parameter set, or its registry name (``"neratinib"``, ``"ruxolitinib"``).
    n : int >= 1
        Number of patients in this block.
    seed : int >= 0
        Scenario seed; with ``stream`` and the patient index it fixes every draw.
    start : int >= 0
        Global index of the first patient of the block.  Sampling ``n = N`` at
        ``start = 0`` equals, bitwise, sampling ``k`` at 0 and ``N - k`` at ``k``.
    variability : bool
        False: typical patients (every eta 0; covariates still applied).
    covariates : mapping, optional
        Covariate values by name (e.g. ``{"WT": weights_kg, "SEX": 0}``), each a
        scalar or an array of shape (n,).  Names must be covariates of the drug;
        covariates not given take their reference value (effect 1).
    correlation : array_like, shape (n_eta, n_eta), optional
        Eta correlation matrix overriding the drug's (unit diagonal, positive definite).
    stream : int >= 0, optional
        Random-stream key; default :func:`drug_stream` of the drug name.

    Returns
    -------
    VirtualPatients
        ``values`` (n, n_params) float64 in the units of ``drug.parameter_names``,
        plus the eta table ``etas`` (n, n_eta).

    Examples
    --------
    >>> pop = sample_parameters("neratinib", n=4, seed=1)
    >>> pop.values.shape, pop.parameter_names[:5]
    ((4, 9), ('CL', 'Vc', 'Q', 'Vp', 'KA'))
    >>> bool((sample_parameters("neratinib", 2, 1, start=2).values == pop.values[2:]).all())
    True
    >>> float(sample_parameters("ruxolitinib", 1, 0, variability=False).column("CL")[0])
    17.7
    """
    drug = get_drug(drug) if not isinstance(drug, DrugPK) else drug
    n = _require_int(n, "n", 1)
    seed = _require_int(seed, "seed", 0)
    start = _require_int(start, "start", 0)
    stream = drug_stream(drug.name) if stream is None else _require_int(stream, "stream", 0)
    if not isinstance(variability, (bool, np.bool_)):
        raise InputError("variability", "must be true or false", repr(variability))

    names = drug.parameter_names
    col = {name: j for j, name in enumerate(names)}
    n_eta = len(drug.iiv)

    # typical values, then covariate effects
    values = np.empty((n, len(names)))
    values[:] = np.array([p.value for p in drug.all_parameters])
    if covariates:
        known = sorted({c.covariate for c in drug.covariates})
        for cname, cval in covariates.items():
            if cname not in known:
                raise InputError(f"covariates.{cname}", f"unknown covariate of {drug.name}; valid: "
                                 + (", ".join(known) if known else "none"), show_value=False)
            v = np.asarray(cval, dtype=np.float64) if not isinstance(cval, str) else None
            if v is None or v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n):
                raise InputError(f"covariates.{cname}", f"must be a number or an array of {n} numbers",
                                 getattr(v, "shape", cval))
            v = np.broadcast_to(v, (n,))
            for effect in drug.covariates:
                if effect.covariate == cname:
                    mult = effect.multiplier(v)
                    for p in effect.parameters:
                        values[:, col[p]] *= mult

    # random effects
    if correlation is not None:
        R = np.asarray(correlation, dtype=np.float64)
        check_correlation(R, n_eta, "correlation")
    else:
        R = drug.correlation_matrix
    if variability and n_eta:
        etas = sample_etas(drug.omega_matrix(R), n, seed, start=start, stream=stream)
    else:
        etas = np.zeros((n, n_eta))
    for k, e in enumerate(drug.iiv):
        factor = np.exp(etas[:, k])
        for p in e.parameters:
            values[:, col[p]] *= factor

    return VirtualPatients(
        drug=drug.name,
        parameter_names=names,
        units=tuple(p.unit for p in drug.all_parameters),
        values=values,
        eta_names=drug.eta_names,
        etas=etas,
        patient=np.arange(start, start + n, dtype=np.int64),
        seed=seed,
        stream=stream,
        variability=bool(variability),
    )
