"""The benchmark problems: dosing, output grid, individual parameters and initial states.

Two problems, each for one subject or a population (same doses for everyone):

``pk2cmt``
    mrgsolve's benchmark shape on the two-compartment oral model
    (:data:`pkpd.models.pk.pk2cmt_oral`): 100 mg into the depot every 24 h, 57
    doses (0 .. 1344 h), output every hour for 1344 h (1345 times).  Typical
    parameters CL 1 L/h, Vc 20 L, Q 2 L/h, Vp 10 L, KA 1.2 /h (mrgsolve's ``pk2``
    defaults with KA 1.2).  Subject 0 is the typical subject; the others have
    log-normal inter-individual variability, ``theta * exp(eta)`` with
    ``eta ~ N(0, 0.3**2)`` on each of the five parameters (about 30 % CV), fixed seed.

``system``
    The full coupled model :data:`pkpd.system.SYSTEM` (23 states: neratinib and
    ruxolitinib PK, EGFR-JAK-STAT3 network, Simeoni tumour): neratinib 240 mg
    q24h and ruxolitinib 15 mg q12h for 56 days (1344 h), hourly output.  Lag
    times and bioavailability come from :func:`pkpd.system.dose_modifiers`
    (neratinib's lag is 4.21 h, so restarts are not on the output grid).  Patient
    0 has the typical parameters; the others the drugs' own PK variability
    (:func:`pkpd.population.sample_parameters`, as :mod:`pkpd.runner` applies it)
    with a fixed seed.  Initial states: :func:`pkpd.system.initial_states`.

Every engine receives the *same* dose list as applied boluses (time after the
lag, 0-based state, amount after F), read from pkpd's own event table so that
no engine sees a different schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pkpd.dosing import Dose
from pkpd.models.pk import pk2cmt_oral
from pkpd.models.spec import ModelSpec
from pkpd.regimens import Regimen
from pkpd.simulate import _event_table, _records_from_doses
from pkpd.solvers.integrate import BOLUS

SEED = 20240611

PK2_TYPICAL = {"CL": 1.0, "Vc": 20.0, "Q": 2.0, "Vp": 10.0, "KA": 1.2}
PK2_OMEGA = 0.3  # SD of eta on every parameter (log-normal, ~30 % CV)


@dataclass
class Problem:
    """One benchmark problem for ``n`` subjects sharing one dosing schedule."""

    name: str
    description: str
    model: ModelSpec
    doses: list[Dose]
    times: np.ndarray                 # output times, h
    P: np.ndarray                     # (n, n_parameters)
    Y0: np.ndarray                    # (n, n_states)
    bolus_time: np.ndarray            # applied boluses: time (h, after lag)
    bolus_state: np.ndarray           # 0-based state index
    bolus_amt: np.ndarray             # amount after F (mg)
    dose_modifiers: Callable | None = None
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.P.shape[0]

    @property
    def n_states(self) -> int:
        return self.model.n_states

    def params(self, i: int) -> dict:
        return dict(zip(self.model.parameter_names, self.P[i]))

    def event_table(self):
        """pkpd's event table for this schedule (F and lag from subject 0's parameters)."""
        rec = _records_from_doses(self.doses, self.times)
        return _event_table(self.model, rec, self.P[0], self.dose_modifiers, lambda k: f"dose record {k}")


def _applied_boluses(model, doses, times, p0, dose_modifiers):
    rec = _records_from_doses(doses, times)
    ev = _event_table(model, rec, p0, dose_modifiers, lambda k: f"dose record {k}")
    on = ev.kind == BOLUS
    if ev.ss_ii.size or ev.inf_rate.size:
        raise ValueError("benchmark schedules must be plain boluses")
    return ev.time[on].copy(), ev.cmt[on].astype(np.int64), ev.value[on].copy()


def pk2cmt(n: int = 1, n_doses: int = 57, interval_h: float = 24.0, amt: float = 100.0,
           end_h: float = 1344.0, dt_h: float = 1.0, seed: int = SEED) -> Problem:
    """The mrgsolve benchmark shape on ``pk2cmt_oral`` (see the module docstring)."""
    model = pk2cmt_oral
    doses = Regimen.every(amt, interval_h, count=n_doses).to_doses(1, end_h + interval_h)
    doses = [d for d in doses if d.time <= end_h]
    times = np.arange(0.0, end_h + 0.5 * dt_h, dt_h)
    theta = model.pack(PK2_TYPICAL)
    rng = np.random.default_rng(seed)
    eta = rng.normal(0.0, PK2_OMEGA, size=(n, theta.size))
    eta[0] = 0.0  # subject 0 is the typical subject
    P = theta * np.exp(eta)
    Y0 = np.zeros((n, model.n_states))
    bt, bs, ba = _applied_boluses(model, doses, times, P[0], None)
    return Problem(
        name="pk2cmt", model=model, doses=doses, times=times, P=P, Y0=Y0,
        bolus_time=bt, bolus_state=bs, bolus_amt=ba,
        description=(f"pk2cmt_oral (CL 1, Vc 20, Q 2, Vp 10, KA 1.2; eta SD {PK2_OMEGA} on each), "
                     f"{len(doses)} x {amt:g} mg q{interval_h:g}h into DEPOT, output every {dt_h:g} h "
                     f"to {end_h:g} h ({times.size} times)"),
        info=dict(n_doses=len(doses), n_times=int(times.size), end_h=end_h, seed=seed))


def system(n: int = 1, days: float = 56.0, ner_mg: float = 240.0, rux_mg: float = 15.0,
           dt_h: float = 1.0, seed: int = SEED) -> Problem:
    """Neratinib 240 mg q24h + ruxolitinib 15 mg q12h on the full coupled model."""
    from pkpd.models.drugs import get_drug
    from pkpd.population import sample_parameters
    from pkpd.system import DEPOT_CMT, PATHS, SYSTEM, dose_modifiers, initial_states, parameter_matrix

    end_h = days * 24.0
    doses = sorted(Regimen.every(ner_mg, 24.0).to_doses(DEPOT_CMT["neratinib"], end_h)
                   + Regimen.every(rux_mg, 12.0).to_doses(DEPOT_CMT["ruxolitinib"], end_h),
                   key=lambda d: (d.time, d.cmt))
    times = np.arange(0.0, end_h + 0.5 * dt_h, dt_h)
    P = parameter_matrix(n)
    if n > 1:  # PK variability as pkpd.runner applies it; patient 0 stays typical
        for drug_name in ("neratinib", "ruxolitinib"):
            drug = get_drug(drug_name)
            vp = sample_parameters(drug, n - 1, seed, start=1)
            typical = drug.typical_values()
            for j, pname in enumerate(vp.parameter_names):
                path = f"{drug_name}.{pname}"
                if path in PATHS and typical[pname] != 0:
                    P[1:, PATHS[path]] *= vp.values[:, j] / typical[pname]
    Y0 = initial_states(P)
    bt, bs, ba = _applied_boluses(SYSTEM, doses, times, P[0], dose_modifiers)
    return Problem(
        name="system", model=SYSTEM, doses=doses, times=times, P=P, Y0=Y0,
        bolus_time=bt, bolus_state=bs, bolus_amt=ba, dose_modifiers=dose_modifiers,
        description=(f"full coupled model SYSTEM ({SYSTEM.n_states} states): neratinib {ner_mg:g} mg q24h + "
                     f"ruxolitinib {rux_mg:g} mg q12h for {days:g} d, lags/F from dose_modifiers, "
                     f"output every {dt_h:g} h ({times.size} times)"),
        info=dict(n_doses=len(doses), n_restarts=int(np.unique(bt).size), n_times=int(times.size),
                  end_h=end_h, seed=seed))
