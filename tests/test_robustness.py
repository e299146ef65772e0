"""Reliability: interruption, resume, failed integrations, memory limits, reproducibility."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from pkpd.cli import main
from pkpd.errors import ScenarioError
from pkpd.io import read_dataset
from pkpd.runner import check_memory, plan, run
from pkpd.scenario import load_scenario

POP = """
name: pop
duration: 14 d
output_every: 4 h
population: {{size: {size}, seed: 11, variability: true}}
arms:
  - name: control
  - name: combination
    regimen:
      - {{drug: neratinib, dose: 240 mg, every: 24 h}}
      - {{drug: ruxolitinib, dose: 15 mg, every: 12 h}}
sweep:
  ruxolitinib.dose: [5 mg, 15 mg, 25 mg]
"""


def test_results_do_not_depend_on_the_number_of_threads():
    sc = load_scenario(POP.format(size=6))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(sc)
        numba.set_num_threads(max(2, before))
        two = run(sc)
    finally:
        numba.set_num_threads(before)
    xr.testing.assert_identical(one.drop_attrs(), two.drop_attrs())


def test_memory_is_estimated_and_refused_before_any_work():
    p = plan(load_scenario(POP.format(size=6)))
    assert p.memory_bytes > 0
    with pytest.raises(ScenarioError, match="store: scans"):
        check_memory(p, limit=1000)


FAILING = """
name: failing
duration: 7 d
output_every: 6 h
solver: {max_steps: 40}
arms:
  - name: neratinib
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
"""


def test_failed_integration_is_reported_with_arm_patient_and_time(tmp_path):
    sc = tmp_path / "f.yaml"
    sc.write_text(FAILING)
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(tmp_path / "o.nc")])
    assert r.exit_code == 2
    assert "solver failed (arm neratinib, patient 0) at t=" in r.stderr and "max_steps" in r.stderr
    assert not (tmp_path / "o.nc").exists()


def test_on_failure_skip_marks_patients_and_keeps_nan_out_of_metrics(tmp_path):
    sc = tmp_path / "f.yaml"
    sc.write_text(FAILING)
    out = tmp_path / "o.nc"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "--on-failure", "skip", "-q"])
    assert r.exit_code == 0, r.output
    assert "failed and were left out of the metrics" in r.stderr
    ds = read_dataset(out)
    assert ds.attrs["n_failed"] == int((ds["status"] != 0).sum()) > 0
    assert int(ds["n_evaluable"].sel(arm="neratinib")) == 0
    assert np.isnan(ds["pEGFR_inhibition"].sel(arm="neratinib", stat="median"))  # not a silent number


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "pkpd", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_progress(proc, timeout=600):
    """Block until the run prints its progress bar (compilation and set-up are over)."""
    t0 = time.time()
    buf = ""
    while time.time() - t0 < timeout:
        ch = proc.stderr.read(1)
        if not ch:
            break
        buf += ch
        if buf.endswith("groups,"):
            return buf
    raise AssertionError(f"no progress seen: {buf!r}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_exits_promptly_and_leaves_nothing(tmp_path, sig):
    sc = tmp_path / "long.yaml"
    sc.write_text(POP.format(size=400).replace("14 d", "120 d"))
    proc = _cli("run", str(sc), "-o", str(tmp_path / "out.nc"), cwd=tmp_path)
    _wait_for_progress(proc)
    proc.send_signal(sig)
    t0 = time.time()
    # Python sees the signal between compiled patient chunks (~1 s each here, several seconds on a
    # loaded 2-vCPU machine); 60 s leaves room for that and is still far below the uninterrupted run.
    _, err = proc.communicate(timeout=120)
    assert time.time() - t0 < 60
    assert proc.returncode == 130 and "interrupted: no output written" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]


def test_resume_after_a_crash_gives_the_uninterrupted_result(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(POP.format(size=48).replace("14 d", "40 d").replace(
        "[5 mg, 15 mg, 25 mg]", "[5 mg, 10 mg, 15 mg, 20 mg, 25 mg, 30 mg]"))  # 12 groups
    ref = tmp_path / "ref.nc"
    assert CliRunner().invoke(main, ["run", str(sc), "-o", str(ref), "-q"]).exit_code == 0
    out = tmp_path / "out.nc"
    proc = _cli("run", str(sc), "-o", str(out), "--resume", "-q", cwd=tmp_path)
    folder = tmp_path / "out.nc.checkpoint"
    t0 = time.time()
    while len(list(folder.glob("group_*.npz"))) < 2 and time.time() - t0 < 600:
        time.sleep(0.05)
    proc.kill()  # a crash: no chance to clean up
    proc.wait()
    done = len(list(folder.glob("group_*.npz")))
    assert 2 <= done < 12 and not out.exists()
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "--resume", "-q"])
    assert r.exit_code == 0, r.output
    assert not folder.exists()
    xr.testing.assert_identical(read_dataset(ref).drop_attrs(), read_dataset(out).drop_attrs())


def test_rerun_from_a_result_reproduces_it(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(POP.format(size=3))
    first, again = tmp_path / "a.nc", tmp_path / "b.nc"
    assert CliRunner().invoke(main, ["run", str(sc), "-o", str(first), "-q"]).exit_code == 0
    assert CliRunner().invoke(main, ["run", "--from", str(first), "-o", str(again), "-q"]).exit_code == 0
    a, b = read_dataset(first), read_dataset(again)
    assert a.attrs["scenario"] == b.attrs["scenario"] and a.attrs["seed"] == b.attrs["seed"] == 11
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_dask_local_cluster_gives_bitwise_the_threaded_result(tmp_path):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    from pkpd.executors import executor

    sc = load_scenario(POP.format(size=4))
    threaded = run(sc)
    with executor("dask", "local", n_workers=2) as map_groups:
        distributed = run(sc, map_groups=map_groups)
    xr.testing.assert_identical(threaded.drop_attrs(), distributed.drop_attrs())
