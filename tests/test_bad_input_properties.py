"""Property-based bad input: junk never crashes, it is reported as one line naming a field.

Scenarios through the CLI (exit code 2, one line on stderr, no traceback, no output file)
and NONMEM-style data sets (only DataError, one line).
"""

from __future__ import annotations

import io
import string

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkpd.cli import main
from pkpd.data import read_nonmem
from pkpd.errors import DataError

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["240 mg", "12 h", "-5 mg", "240 h", "12 mg", "nan", "1e400", "8 weeks"]))
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)
KEYS = st.sampled_from(["name", "duration", "output_every", "population", "parameters", "arms", "sweep",
                        "solver", "evaluation", "biopsies", "store", "scan_every", "extra"])

VALID = {"name": "x", "duration": "2 d", "output_every": "6 h",
         "arms": [{"name": "a", "regimen": [{"drug": "neratinib", "dose": "240 mg", "every": "24 h"}]}]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS, JUNK, max_size=6), st.booleans())
def test_junk_scenarios_exit_2_with_one_line(tmp_path, junk, on_top_of_valid):
    doc = {**VALID, **junk} if on_top_of_valid else junk
    path = tmp_path / "s.yaml"
    try:
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    except (yaml.YAMLError, ValueError):
        return
    out = tmp_path / "o.nc"
    r = CliRunner().invoke(main, ["validate", str(path)])
    assert r.exit_code in (0, 2), r.output
    if r.exit_code == 2:
        err = r.stderr.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in r.output
    assert not out.exists()


def test_non_utf8_scenario_is_a_one_line_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: \xff\xfe\x00junk\n")
    r = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "o.nc")])
    assert r.exit_code == 2 and "\n" not in r.stderr.strip() and not (tmp_path / "o.nc").exists()


CELLS = st.one_of(st.sampled_from(["", ".", "0", "1", "-1", "-2", "1e9", "nan", "inf", "x", "3.5", "24"]),
                  st.text(alphabet=string.printable.replace("\n", "").replace("\r", ""), max_size=6))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=8, max_size=8), min_size=1, max_size=6),
       st.permutations(["ID", "TIME", "AMT", "CMT", "EVID", "RATE", "II", "SS"]))
def test_junk_data_sets_raise_only_one_line_data_errors(rows, header):
    text = ",".join(header) + "\n" + "\n".join(",".join(c.replace(",", ";") for c in r) for r in rows) + "\n"
    try:
        read_nonmem(io.StringIO(text))
    except DataError as err:
        assert "\n" not in str(err)
