"""The full coupled model as Antimony text (compiled to SBML by libantimony) for the libroadrunner peer.

Generated from the same data pkpd runs on: the PK equations of :mod:`pkpd.models.pk` (written
out here), the network's species, reactions, rate laws and derived quantities from
:data:`pkpd.signaling.egfr_jak_stat3.NETWORK` (the hand-written Numba kernel is tested
against these), and the Simeoni tumour block of :mod:`pkpd.models.tumor` (written out here).
Every state is a rate-rule variable in pkpd's state order, every parameter a constant with
the value of one patient's parameter row.  :func:`tests.test_benchmarks` checks the model
against pkpd's own right-hand side.
"""

from __future__ import annotations

import ast

import numpy as np

from pkpd.signaling.egfr_jak_stat3 import NETWORK
from pkpd.system import SYSTEM

__all__ = ["antimony_text", "STATE_IDS"]

#: Antimony identifier of every state, in pkpd's state order (the network's species get a prefix,
#: so that names such as ``e``, ``D`` or ``S`` cannot clash with anything in SBML)
STATE_IDS = tuple(s.name if s.name.startswith(("neratinib_", "ruxolitinib_", "tumor_")) else f"nw_{s.name}"
                  for s in SYSTEM.states)


def _network_id(name: str) -> str:
    return f"nw_{name}"


def _expr(text: str, rename) -> str:
    """A rate-law expression in Antimony syntax (``**`` -> ``^``), names through ``rename``."""

    def emit(node) -> str:
        if isinstance(node, ast.Expression):
            return emit(node.body)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}[type(node.op)]
            return f"({emit(node.left)} {op} {emit(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return f"(-{emit(node.operand)})"
        if isinstance(node, ast.Name):
            return rename(node.id)
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return f"{node.func.id}({', '.join(emit(a) for a in node.args)})"
        raise ValueError(f"cannot translate {ast.dump(node)}")

    return emit(ast.parse(text, mode="eval"))


def antimony_text(p: np.ndarray, y0: np.ndarray) -> str:
    """Antimony model of :data:`pkpd.system.SYSTEM` for one parameter row ``p`` and initial state ``y0``."""
    prm = dict(zip(SYSTEM.parameter_names, np.asarray(p, dtype=float)))
    lines = ["model tnbc_combination"]
    # parameters: the system's own names; the network's with the prefix
    for name, value in prm.items():
        ident = _network_id(name[len("signaling_"):]) if name.startswith("signaling_") else name
        lines.append(f"  {ident} = {float(value)!r}")
    # PK (mg, h): neratinib 2-cmt oral, ruxolitinib 1-cmt oral
    lines += [
        "  neratinib_DEPOT' = -neratinib_KA*neratinib_DEPOT",
        "  neratinib_CENT' = neratinib_KA*neratinib_DEPOT - neratinib_CL/neratinib_Vc*neratinib_CENT"
        " - neratinib_Q*(neratinib_CENT/neratinib_Vc - neratinib_PERIPH/neratinib_Vp)",
        "  neratinib_PERIPH' = neratinib_Q*(neratinib_CENT/neratinib_Vc - neratinib_PERIPH/neratinib_Vp)",
        "  ruxolitinib_DEPOT' = -ruxolitinib_KA*ruxolitinib_DEPOT",
        "  ruxolitinib_CENT' = ruxolitinib_KA*ruxolitinib_DEPOT - ruxolitinib_CL/ruxolitinib_V*ruxolitinib_CENT",
        # free concentrations (nM), the network's inputs
        "  nw_C_ner_u := neratinib_fu*max(neratinib_CENT, 0)/neratinib_Vc*1e6/neratinib_MW",
        "  nw_C_rux_u := ruxolitinib_fu*max(ruxolitinib_CENT, 0)/ruxolitinib_V*1e6/ruxolitinib_MW",
    ]
    # network: derived quantities (assignment rules), then one rate rule per species
    for d in NETWORK.derived:
        lines.append(f"  {_network_id(d.name)} := {_expr(d.expression, _network_id)}")
    flux = {s.name: [] for s in NETWORK.species}
    for r in NETWORK.reactions:
        rate = _expr(r.rate_law, _network_id)
        for s in r.reactants:
            flux[s].append(f"- {rate}")
        for s in r.products:
            flux[s].append(f"+ {rate}")
    for s in NETWORK.species:
        lines.append(f"  {_network_id(s.name)}' = 0 {' '.join(flux[s.name])}")
    # tumour: Simeoni growth with the damage chain and the resistant subclone (pkpd.models.tumor)
    lines += [
        "  tumor_W := tumor_X1 + tumor_X2 + tumor_X3 + tumor_X4 + tumor_XR",
        "  tumor_denom := (1 + (tumor_lambda0/tumor_lambda1*max(tumor_W, 0))^tumor_psi)^(1/tumor_psi)",
        "  tumor_growth := max(nw_P, 0)^tumor_gamma*tumor_lambda0*tumor_X1/tumor_denom",
        "  tumor_d := max(1 - nw_P, 0)",
        "  tumor_kill := tumor_K_max*tumor_d^tumor_n_K/(tumor_IC50_K^tumor_n_K + tumor_d^tumor_n_K)",
        "  tumor_X1' = tumor_growth - tumor_kill*tumor_X1",
        "  tumor_X2' = tumor_kill*tumor_X1 - tumor_k1*tumor_X2",
        "  tumor_X3' = tumor_k1*(tumor_X2 - tumor_X3)",
        "  tumor_X4' = tumor_k1*(tumor_X3 - tumor_X4)",
        "  tumor_XR' = tumor_lambda0*tumor_XR/tumor_denom",
    ]
    for ident, value in zip(STATE_IDS, np.asarray(y0, dtype=float)):
        lines.append(f"  {ident} = {float(value)!r}")
    lines.append("end")
    return "\n".join(lines) + "\n"
