"""The trial system's right-hand side as it was laid out by hand, before it was composed from blocks.

Kept as an independent check of the generated kernel (``tests/test_model_trial.py``: the two agree to
about 1e-15) and as the baseline of ``benchmarks/kernels.py`` (the generated kernel must not be
slower).  It calls pkpd's hand-written block kernels (:func:`pkpd.models.pk.rhs_pk2cmt_oral`,
:func:`pkpd.signaling.egfr_jak_stat3.network_rhs`, :func:`pkpd.models.tumor.tumor_rhs`) on slices
of one state vector, in the layout of :mod:`pkpd.system` (read there from the composition; the
assertions below check that the hand layout is the same).
"""

from __future__ import annotations

from numba import njit

from pkpd.models.pk import PK_MODELS, rhs_pk1cmt_oral, rhs_pk2cmt_oral
from pkpd.models.tumor import SIMEONI_PARAMETERS, STATES as TUMOR_STATES, tumor_rhs
from pkpd.signaling import egfr_jak_stat3 as net
from pkpd.signaling.egfr_jak_stat3 import network_rhs
from pkpd import system

__all__ = ["coupled_rhs"]

_NER_MODEL, _RUX_MODEL = PK_MODELS["pk2cmt_oral"], PK_MODELS["pk1cmt_oral"]
# the layout by hand: blocks in a row, each block's states and parameters in its own order
S_NER = 0
S_RUX = S_NER + _NER_MODEL.n_states
S_NET = S_RUX + _RUX_MODEL.n_states
S_TUM = S_NET + net.N_SPECIES
N_STATES = S_TUM + len(TUMOR_STATES)
S_P = S_NET + [s.name for s in net.SPECIES].index("P")
P_NER = 0
P_RUX = P_NER + _NER_MODEL.n_parameters
P_CONV = P_RUX + _RUX_MODEL.n_parameters
P_NET = P_CONV + 4
P_TUM = P_NET + net.N_PARAMS
P_DOSE = P_TUM + len(SIMEONI_PARAMETERS)
I_NER_VC = P_NER + _NER_MODEL.parameter_index("Vc")
I_RUX_V = P_RUX + _RUX_MODEL.parameter_index("V")
assert (S_NER, S_RUX, S_NET, S_TUM, N_STATES, S_P) == (system.S_NER, system.S_RUX, system.S_NET, system.S_TUM,
                                                      system.N_STATES, system.S_P), "state layout"
assert (P_NER, P_RUX, P_CONV, P_NET, P_TUM, P_DOSE, I_NER_VC, I_RUX_V) == (
    system.P_NER, system.P_RUX, system.P_CONV, system.P_NET, system.P_TUM, system.P_DOSE, system.I_NER_VC,
    system.I_RUX_V), "parameter layout"


@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def _free_nM(amount_mg, volume_l, mw, fu):
    """Free concentration, nM, from an amount (mg) in a volume (L); never below 0."""
    return fu * max(amount_mg, 0.0) / volume_l * 1.0e6 / mw


@njit(cache=True)
def coupled_rhs(t, y, p, dydt):
    """d(y)/dt of the coupled system (23 states, see the module docstring); t in h."""
    rhs_pk2cmt_oral(t, y[S_NER:S_RUX], p[P_NER:P_RUX], dydt[S_NER:S_RUX])
    rhs_pk1cmt_oral(t, y[S_RUX:S_NET], p[P_RUX:P_CONV], dydt[S_RUX:S_NET])
    c_ner_u = _free_nM(y[S_NER + 1], p[I_NER_VC], p[P_CONV], p[P_CONV + 1])
    c_rux_u = _free_nM(y[S_RUX + 1], p[I_RUX_V], p[P_CONV + 2], p[P_CONV + 3])
    network_rhs(t, y[S_NET:S_TUM], p[P_NET:P_TUM], c_ner_u, c_rux_u, dydt[S_NET:S_TUM])
    tumor_rhs(t, y[S_TUM:N_STATES], p[P_TUM:P_DOSE], y[S_P], dydt[S_TUM:N_STATES])
