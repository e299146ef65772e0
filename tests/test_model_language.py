"""The model language (pkpd.model): text parsing, errors with file:line:symbol, generated kernels, Jacobians.

Reference for the kernels: an indirect-response model whose rhs is written out by hand
here (numpy), and central finite differences of the generated rhs for the Jacobians.
Tolerances:

* generated rhs against the hand-written formula: 1e-14 relative (same arithmetic,
  possibly another association order: a few ulp);
* analytic Jacobian against central differences with step h = 1e-6 * scale: the
  truncation error is O(h^2 f''') ~ 1e-12 relative and the round-off O(eps f / h) ~
  1e-10 relative to the largest rate, so 1e-6 relative (to |J| + 1e-6 absolute)
  separates a right Jacobian from a wrong term (a wrong term is off by O(1)).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pkpd.errors import ModelError
from pkpd.model import Derived, Input, Model, OutputDef, StateDef, compile_model, compose, parse_model
from pkpd.model.compose import block_graph
from pkpd.model.language import load_model_file, render_model
from pkpd.models.spec import Parameter

IRM = textwrap.dedent("""\
    [model]
    name = irm_test
    description = Oral one-compartment PK inhibiting the production of a response R

    [parameters]
    # NAME [unit] = value [in [lower, upper]] ; description ; source
    CL   [L/h]  = 5     ; clearance              ; Smith 2010 Table 2
    V    [L]    = 50    ; volume                 ; Smith 2010 Table 2
    KA   [1/h]  = 1.2   ; absorption rate        ; assumed
    kin  [1/h]  = 2     ; production of R        ; assumed
    kout [1/h]  = 0.5   ; loss of R              ; assumed
    IC50 [mg/L] = 0.02  ; half-inhibiting conc.  ; assumed
    Imax [1]    = 0.9 in [0, 1] ; maximal inhibition ; assumed
    gam  [1]    = 1.7   ; Hill exponent          ; assumed
    F1   [1]    = 0.6   ; bioavailability        ; assumed
    ALAG [h]    = 0.25  ; lag time               ; assumed

    [states]
    DEPOT [mg] ; absorption depot
    CENT  [mg] ; central compartment
    R     [1]  = kin/kout ; response, starts at its baseline

    [derived]
    C [mg/L] = CENT/V ; plasma concentration
    INH [1] = Imax*C^gam/(IC50^gam + C^gam) ; inhibition of production

    [odes]
    d/dt(DEPOT) = -KA*DEPOT
    d/dt(CENT) = KA*DEPOT - CL/V*CENT
    dxdt_R = kin*(1 - INH) - kout*R

    [outputs]
    CP [mg/L] = C ; plasma concentration
    RESP [1] = R/(kin/kout) ; response relative to baseline

    [dosing]
    DEPOT: bioavailability = F1, lag = ALAG
    """)


def _irm_rhs(y, p):
    """The indirect-response model's rhs written out by hand (the reference)."""
    CL, V, KA, kin, kout, IC50, Imax, gam = p[:8]
    DEPOT, CENT, R = y
    C = CENT / V
    INH = Imax * C ** gam / (IC50 ** gam + C ** gam)
    return np.array([-KA * DEPOT, KA * DEPOT - CL / V * CENT, kin * (1 - INH) - kout * R])


def fd_jacobian(cm, y, p, steps=None):
    """Central differences of ``cm.rhs`` at ``y``; ``steps`` per column (default 1e-6 * max(1, |y_j|))."""
    n = len(y)
    J = np.zeros((n, n))
    for j in range(n):
        h = steps[j] if steps is not None else 1e-6 * max(1.0, abs(y[j]))
        yp, ym = y.copy(), y.copy()
        yp[j] += h
        ym[j] -= h
        f1, f2 = np.zeros(n), np.zeros(n)
        cm.rhs(0.0, yp, p, f1)
        cm.rhs(0.0, ym, p, f2)
        J[:, j] = (f1 - f2) / (2 * h)
    return J


@pytest.fixture(scope="module")
def irm():
    return compile_model(parse_model(IRM, "irm.model"))


# ------------------------------------------------------------------------------------ parsing
def test_text_model_declarations(irm):
    m = irm.model
    assert m.name == "irm_test"
    assert m.state_names == ("DEPOT", "CENT", "R")
    assert m.parameter_names[:3] == ("CL", "V", "KA")
    cl = m.parameters[0]
    assert (cl.value, cl.unit, cl.source, cl.assumed) == (5.0, "L/h", "Smith 2010 Table 2", False)
    assert m.parameters[2].assumed            # "assumed" source marks the value as assumed
    imax = m.parameters[6]
    assert (imax.lower, imax.upper) == (0.0, 1.0)
    assert m.derived_order.index("C") < m.derived_order.index("INH")
    assert [o.name for o in m.outputs] == ["CP", "RESP"]


def test_generated_rhs_equals_hand_written(irm):
    p = np.array([q.value for q in irm.parameters])
    rng = np.random.default_rng(3)
    for _ in range(50):
        y = rng.random(3) * [100.0, 20.0, 5.0]
        out = np.zeros(3)
        irm.rhs(0.0, y, p, out)
        np.testing.assert_allclose(out, _irm_rhs(y, p), rtol=1e-14, atol=0)


def test_initial_state_is_an_expression_of_parameters(irm):
    p = np.array([q.value for q in irm.parameters])
    np.testing.assert_array_equal(irm.initial_states(p), [0.0, 0.0, 4.0])
    p2 = p.copy()
    p2[irm.parameter_names.index("kout")] = 0.25
    P = np.stack([p, p2])
    np.testing.assert_array_equal(irm.initial_states(P)[:, 2], [4.0, 8.0])   # per patient


def test_outputs_and_dose_modifiers(irm):
    p = np.array([q.value for q in irm.parameters])
    Y = np.array([[0.0, 10.0, 4.0], [1.0, 5.0, 2.0]])
    out = irm.outputs(Y, p)
    np.testing.assert_allclose(out["CP"], [0.2, 0.1], rtol=1e-15)
    np.testing.assert_allclose(out["RESP"], [1.0, 0.5], rtol=1e-15)
    mods = irm.dose_modifiers(p)          # (n_states, 4): F, ALAG, R, D
    np.testing.assert_array_equal(mods[0], [0.6, 0.25, 0.0, 0.0])
    np.testing.assert_array_equal(mods[1], [1.0, 0.0, 0.0, 0.0])


def test_analytic_jacobian_matches_finite_differences(irm):
    p = np.array([q.value for q in irm.parameters])
    rng = np.random.default_rng(4)
    for _ in range(20):
        y = rng.random(3) * [100.0, 20.0, 5.0]
        J = np.zeros((3, 3))
        irm.jac(0.0, y, p, J)
        Jfd = fd_jacobian(irm, y, p)
        np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-6)


def test_jacobian_is_finite_where_a_hill_term_starts_at_zero(irm):
    """d(C**gam)/dC at C = 0 (before the first dose) is 0, not NaN (RealPow derivative)."""
    p = np.array([q.value for q in irm.parameters])
    J = np.zeros((3, 3))
    irm.jac(0.0, np.array([0.0, 0.0, 4.0]), p, J)
    assert np.all(np.isfinite(J))
    assert J[2, 1] == 0.0


def test_render_and_parse_round_trip(irm):
    text = render_model(irm.model)
    again = parse_model(text, "rendered.model")
    assert again.digest() == irm.model.digest()


def test_model_file_is_loaded_from_disk(tmp_path):
    path = tmp_path / "irm.model"
    path.write_text(IRM)
    m = load_model_file(path)
    assert m.name == "irm_test" and str(path) in m.source


# ------------------------------------------------------------------------------------ errors
def _error(text: str) -> str:
    with pytest.raises(ModelError) as err:
        parse_model(text, "bad.model")
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_symbol_names_file_line_and_suggests():
    bad = IRM.replace("- kout*R", "- kot*R")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'kot*R')}:")
    assert "'kot'" in msg and "kout" in msg


def test_state_without_ode_is_an_error():
    bad = IRM.replace("d/dt(CENT) = KA*DEPOT - CL/V*CENT\n", "")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'CENT  [mg]')}:") and "CENT" in msg and "ODE" in msg


def test_derived_quantity_that_refers_to_itself():
    bad = IRM.replace("C [mg/L] = CENT/V", "C [mg/L] = C/V")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'C [mg/L] = C/V')}:") and "C" in msg


def test_circular_derived_quantities():
    bad = IRM.replace("C [mg/L] = CENT/V", "C [mg/L] = INH*V")
    msg = _error(bad)
    assert "bad.model:" in msg and "INH" in msg and "C" in msg


def test_ode_for_an_unknown_state():
    bad = IRM.replace("dxdt_R =", "dxdt_Q =")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'dxdt_Q')}:") and "Q" in msg


def test_initial_value_may_not_use_a_state():
    bad = IRM.replace("R     [1]  = kin/kout", "R     [1]  = CENT/kout")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'CENT/kout')}:") and "CENT" in msg


@pytest.mark.parametrize("expr", ["__import__('os').system('x')", "C.__class__", "[C]", "lambda: 1", "C if R else V",
                                  "open('f')"])
def test_expressions_are_data_never_code(expr):
    bad = IRM.replace("C [mg/L] = CENT/V", f"C [mg/L] = {expr}")
    msg = _error(bad)
    assert msg.startswith(f"bad.model:{_line_of(bad, 'C [mg/L] =')}:")


def test_duplicate_parameter():
    bad = IRM.replace("V    [L]    = 50", "CL   [L]    = 50")
    msg = _error(bad)
    assert "CL" in msg and msg.startswith("bad.model:")


# ------------------------------------------------------------------------------------ composition
def _pk_block():
    return Model(
        name="pk", parameters=(Parameter("CL", 5.0, "L/h", "clearance", "assumed"),
                               Parameter("V", 50.0, "L", "volume", "assumed")),
        states=(StateDef("CENT", "mg", "central"),), odes={"CENT": "-CL/V*CENT"},
        derived=(Derived("C", "CENT/V", "mg/L", "concentration"),),
        outputs=(OutputDef("conc", "CENT/V", "mg/L", "concentration"),))


def _effect_block():
    return Model(
        name="effect", parameters=(Parameter("kin", 2.0, "1/h", "production", "assumed"),
                                   Parameter("kout", 0.5, "1/h", "loss", "assumed"),
                                   Parameter("IC50", 0.02, "mg/L", "potency", "assumed")),
        inputs=(Input("C", "mg/L", "drug concentration", 0.0),),
        states=(StateDef("R", "1", "response", "kin/kout"),),
        odes={"R": "kin*(1 - C/(IC50 + C)) - kout*R"})


def test_composition_connects_blocks_and_prefixes_names():
    m = compose("pkpd", {"pk": _pk_block(), "effect": _effect_block()}, {"effect.C": "pk.C"})
    assert m.state_names == ("pk.CENT", "effect.R")
    assert "pk.CL" in m.parameter_names and "effect.kin" in m.parameter_names
    assert m.input_names == ()
    assert block_graph(m) == {"pk": {"effect"}, "effect": set()}
    cm = compile_model(m)
    p = np.array([q.value for q in cm.parameters])
    y = np.array([1.0, 3.0])
    out = np.zeros(2)
    cm.rhs(0.0, y, p, out)
    C = 1.0 / 50.0
    np.testing.assert_allclose(out, [-5.0 / 50.0, 2.0 * (1 - C / (0.02 + C)) - 0.5 * 3.0], rtol=1e-15)
    np.testing.assert_allclose(cm.initial_states(p), [0.0, 4.0])
    J = np.zeros((2, 2))
    cm.jac(0.0, y, p, J)
    np.testing.assert_allclose(J, fd_jacobian(cm, y, p), rtol=1e-6, atol=1e-8)
    assert J[1, 0] != 0.0          # the effect depends on the PK state through the connection


def test_unconnected_input_is_a_parameter_with_its_default():
    cm = compile_model(_effect_block())
    assert cm.parameter_names[-1] == "C" and cm.parameters[-1].value == 0.0


@pytest.mark.parametrize("connections, needle", [
    ({"effect.C": "pk.nothing"}, "has no output, derived quantity or state 'nothing'"),
    ({"effect.X": "pk.C"}, "has no input 'X'"),
    ({"nope.C": "pk.C"}, "must be block.name"),
    ({"effect.C": "pk.CL"}, "has no output, derived quantity or state 'CL'"),
])
def test_composition_errors_name_the_connection(connections, needle):
    with pytest.raises(ModelError) as err:
        compose("pkpd", {"pk": _pk_block(), "effect": _effect_block()}, connections)
    assert needle in str(err.value) and "composition pkpd" in str(err.value)


def test_composition_refuses_units_that_cannot_match():
    eff = _effect_block()
    from dataclasses import replace

    eff = replace(eff, inputs=(Input("C", "nM", "drug concentration", 0.0),))
    with pytest.raises(ModelError, match="units cannot match"):
        compose("pkpd", {"pk": _pk_block(), "effect": eff}, {"effect.C": "pk.C"})


# ------------------------------------------------------------------------------------ cache
def test_generated_kernels_load_from_the_cache_in_a_new_process_without_sympy(tmp_path):
    """A second process imports the generated file and loads Numba's machine code: no sympy, no compile."""
    path = tmp_path / "irm.model"
    path.write_text(IRM)
    code = textwrap.dedent(f"""
        import sys, numpy as np
        from pkpd.model import load_model_file, compile_model
        cm = compile_model(load_model_file({str(path)!r}))
        p = np.array([q.value for q in cm.parameters]); out = np.zeros(3)
        cm.rhs(0.0, np.array([1.0, 2.0, 3.0]), p, out)
        J = np.zeros((3, 3)); cm.jac(0.0, np.array([1.0, 2.0, 3.0]), p, J)
        hits = sum(len(d.stats.cache_hits) for d in (cm.rhs, cm.jac))
        misses = sum(len(d.stats.cache_misses) for d in (cm.rhs, cm.jac))
        print("sympy" in sys.modules, hits, misses, cm.module.__file__)
    """)
    env = dict(os.environ, PKPD_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NUMBA_CACHE_DIR", None)
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    s1, s2 = first.stdout.split(), second.stdout.split()
    assert s1[0] == "True"                       # the first process generated the kernels with sympy
    assert s2[0] == "False"                      # the second did not need it
    assert int(s2[1]) >= 2 and int(s2[2]) == 0   # rhs and jac loaded from Numba's cache
    assert s1[3] == s2[3] and s2[3].startswith(str(tmp_path / "cache"))  # one real file in the cache folder


# ------------------------------------------------------------------------------------ steady_state
def test_steady_state_initial_value_is_solved_per_patient():
    m = compile_model(parse_model(IRM.replace("R     [1]  = kin/kout", "R     [1]  = steady_state")
                                  .replace("name = irm_test", "name = irm_steady"), "irm_ss.model"))
    assert m.model.steady_states == ("R",)
    p = np.array([q.value for q in m.parameters])
    P = np.stack([p, p])
    P[1, m.parameter_names.index("kin")] = 3.0
    Y0 = m.initial_states(P)
    # drug-free (DEPOT = CENT = 0): R = kin/kout; Newton on a linear equation is exact to round-off
    np.testing.assert_allclose(Y0[:, 2], [4.0, 6.0], rtol=1e-14)
    np.testing.assert_array_equal(Y0[:, :2], 0.0)


def test_steady_state_of_the_network_equals_its_closed_form_baseline():
    """All 13 species solved from a start with total EGFR, STAT3, IL-6 and SOCS3 of 1.

    Tolerance 1e-9 relative: the network conserves total STAT3 (S + pSc + pSn), so its
    Jacobian is singular; the continuation's last steps move that total by round-off
    times the longest pseudo-time step (measured <= 2e-10 over 200 varied patients).
    """
    from dataclasses import replace

    from pkpd.model.library.network import SIGNALING
    from pkpd.signaling import egfr_jak_stat3 as net

    start = {"R": "1", "IL6": "1", "S": "1", "mS3": "1", "SOCS3": "1"}
    m = replace(SIGNALING, name="network_steady",
                states=tuple(replace(s, initial=f"steady_state({start.get(s.name, '0')})") for s in SIGNALING.states))
    cm = compile_model(m)
    p = np.array([q.value for q in cm.parameters])
    rng = np.random.default_rng(11)
    P = np.repeat(p[None], 20, axis=0)
    P[:, :net.N_PARAMS] *= np.exp(0.2 * rng.standard_normal((20, net.N_PARAMS)))
    Y0 = cm.initial_states(P)
    ref = net.baseline_state(P[:, :net.N_PARAMS])
    np.testing.assert_allclose(Y0, ref, rtol=1e-9, atol=1e-12)


def test_a_state_without_a_drug_free_steady_state_is_refused():
    text = textwrap.dedent("""\
        [model]
        name = grows
        [parameters]
        k [1/h] = 0.1 ; growth ; assumed
        [states]
        X [mm^3] = steady_state(1) ; grows without bound
        [odes]
        d/dt(X) = k*X + 1
        """)
    from pkpd.errors import InputError

    with pytest.raises(InputError, match="initial value of X.*no drug-free steady state"):
        compile_model(parse_model(text, "grows.model"))
