"""Figures: every kind renders to a labelled PNG; bad requests raise one-line InputErrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pkpd.errors import InputError
from pkpd.plots import KINDS, arm_colors, label, plot, save, standard_set
from pkpd.runner import run
from pkpd.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ARMS = """
arms:
  - name: control
  - name: neratinib
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
  - name: ruxolitinib
    regimen:
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h}
  - name: combination
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h}
"""

SWEEP = """
name: plot-sweep
duration: 2 weeks
output_every: 2 h
population: {size: 1, seed: 2026, variability: false}
sweep: {neratinib.dose: [120 mg, 240 mg], ruxolitinib.dose: [5 mg, 15 mg, 25 mg]}
""" + ARMS

POPULATION = """
name: plot-population
duration: 3 weeks
output_every: 2 h
population: {size: 6, seed: 7, variability: true}
""" + ARMS

#: Units text each kind must show on at least one axis.
UNITS = {"pk": "[nM]", "signaling": "[–]", "tumor": "[mm³]", "heatmap": "[mg]", "schedules": "[%]"}


@pytest.fixture(scope="module")
def trial() -> xr.Dataset:
    return run(load_scenario(str(ROOT / "scenarios" / "trial_regimen.yaml")))


@pytest.fixture(scope="module")
def sweep() -> xr.Dataset:
    return run(load_scenario(SWEEP))


@pytest.fixture(scope="module")
def population() -> xr.Dataset:
    return run(load_scenario(POPULATION))


def _labels(fig) -> list[str]:
    return [t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel()) if t]


def _check_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == PNG_MAGIC


def _check_labelled(fig, kind: str) -> None:
    drawn = [ax for ax in fig.axes if ax.axison]
    assert drawn, "no visible axes"
    for ax in drawn:          # every visible panel says what its value axis is, in units
        value_axis = ax.get_xlabel() if kind == "schedules" else ax.get_ylabel()
        assert value_axis.strip().endswith("]"), (kind, value_axis)
    assert any(UNITS[kind] in t for t in _labels(fig)), (kind, _labels(fig))
    assert any(ax.get_xlabel().strip().endswith("]") for ax in drawn)
    assert fig.get_suptitle()


# --------------------------------------------------------------------------- every kind renders


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_renders_a_labelled_png(sweep, kind, tmp_path):
    fig = plot(sweep, kind)
    _check_labelled(fig, kind)
    out = save(fig, tmp_path / f"{kind}.png")
    _check_png(out)
    assert [p.name for p in tmp_path.iterdir()] == [f"{kind}.png"]   # no temporary file left over


@pytest.mark.parametrize("kind", ["pk", "signaling", "tumor", "schedules"])
def test_population_kinds_draw_percentile_bands(population, kind, tmp_path):
    fig = plot(population, kind)
    _check_labelled(fig, kind)
    assert "6 virtual patients" in fig.get_suptitle()
    if kind == "schedules":     # p05-p95 error bars
        assert any(c.__class__.__name__ == "LineCollection" for ax in fig.axes for c in ax.collections)
    else:                       # filled 5th-95th percentile bands
        assert any(c.__class__.__name__ in ("PolyCollection", "FillBetweenPolyCollection")
                   for ax in fig.axes for c in ax.collections)
    _check_png(save(fig, tmp_path / "f.png"))


def test_pk_options(trial, tmp_path):
    fig = plot(trial, "pk", log=True)
    assert {ax.get_yscale() for ax in fig.axes if ax.axison} == {"log"}
    assert any("evaluation window" in ax.get_title() for ax in fig.axes)      # 8 weeks: zoom row
    free = plot(trial, "pk", free=True)
    assert any("unbound" in ax.get_ylabel() for ax in free.axes)
    window = plot(trial, "pk", days=(49, 56))
    assert len(window.axes) == 2                                              # one row, per drug
    _check_png(save(fig, tmp_path / "pk_log.png"))


def test_pk_leaves_out_arms_that_do_not_dose_the_drug(trial):
    fig = plot(trial, "pk", zoom=False)
    for ax in fig.axes:
        drug = ax.get_title()
        labels = {line.get_label() for line in ax.get_lines()}
        assert "control" not in labels
        assert ("ruxolitinib" in labels) == (drug == "ruxolitinib")


def test_pk_draws_dose_marks_only_when_the_dataset_has_them(trial):
    assert not any(t.get_text() == "doses" for leg in plot(trial, "pk").legends for t in leg.get_texts())
    times = np.full((trial.sizes["arm"], trial.sizes["drug"], 3), np.nan)
    times[1, 0] = [0.0, 24.0, 48.0]
    ds = trial.assign(dose_time=(("arm", "drug", "dose"), times, {"units": "h"}))
    fig = plot(ds, "pk", days=(0, 3))
    assert any(t.get_text() == "doses" for leg in fig.legends for t in leg.get_texts())


def test_signaling_panels_and_averaging(trial, sweep):
    fig = plot(trial, "signaling")
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert titles == ["pEGFR", "pERK", "pAKT", "pSTAT3", "IL6", "JAK", "SOCS3", "P"]
    assert "24-h running mean" in fig.get_suptitle()          # 8 weeks: daily swing averaged out
    assert "24-h running mean" not in plot(trial, "signaling", average="none").get_suptitle()
    assert "24-h running mean" not in plot(sweep, "signaling").get_suptitle()   # 2 weeks: raw


def test_tumor_diameter_and_arm_colours(trial):
    fig = plot(trial, "tumor", variable="diameter")
    ax = fig.axes[0]
    assert ax.get_ylabel() == label(trial["tumor_diameter"]) and "[mm]" in ax.get_ylabel()
    colors = arm_colors(trial)
    lines = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert set(lines) == set(colors)
    assert all(lines[a] == colors[a] for a in colors)
    pk_lines = {line.get_label(): line.get_color() for a in plot(trial, "pk", zoom=False).axes
                for line in a.get_lines()}
    assert pk_lines["combination"] == lines["combination"]       # one colour per arm, every figure
    assert colors["control"] != colors["combination"]


def test_heatmap_annotates_every_cell(sweep):
    fig = plot(sweep, "heatmap")
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 2                                       # metric and Bliss excess
    assert "Bliss" in panels[1].get_title()
    for ax in panels:
        assert len(ax.texts) == 2 * 3
        assert [t.get_text() for t in ax.get_yticklabels()] == ["120 mg", "240 mg"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["5 mg", "15 mg", "25 mg"]
    values = sweep["proliferation_inhibition"].sel(arm="combination", stat="median")
    shown = [float(t.get_text()) for t in panels[0].texts]
    np.testing.assert_allclose(sorted(shown), sorted(np.round(values.values.ravel(), 2)), atol=0.006)


def test_heatmap_other_metric_drug_and_arm(sweep):
    fig = plot(sweep, "heatmap", metric="CMAX", drug="ruxolitinib", excess=False)
    assert len([ax for ax in fig.axes if ax.get_images()]) == 1
    assert "ruxolitinib" in fig.axes[0].get_title()
    pstat3 = plot(sweep, "heatmap", metric="pSTAT3_inhibition")
    assert any("bliss excess pSTAT3" in ax.get_title().replace("Bliss", "bliss") for ax in pstat3.axes)


def test_sweep_point_selection_is_said_in_the_title(sweep):
    assert "neratinib.dose = 120 mg" in plot(sweep, "tumor").get_suptitle()
    title = plot(sweep, "tumor", point={"neratinib.dose": "240 mg", "ruxolitinib_dose": 25}).get_suptitle()
    assert "neratinib.dose = 240 mg" in title and "ruxolitinib.dose = 25 mg" in title


def test_schedules_bars_one_per_arm(trial):
    fig = plot(trial, "schedules", metric="tgi,pSTAT3_inhibition")
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(trial["arm"].values)
    assert len(fig.axes[0].patches) == trial.sizes["arm"]


# --------------------------------------------------------------------------- errors


def _one_line_error(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def test_unknown_kind_lists_the_valid_ones(trial):
    with pytest.raises(InputError) as e:
        plot(trial, "waterfall")
    text = _one_line_error(e)
    assert "waterfall" in text and all(k in text for k in KINDS)


def test_heatmap_needs_a_two_key_sweep(trial):
    with pytest.raises(InputError) as e:
        plot(trial, "heatmap")
    assert "two keys" in _one_line_error(e)


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "schedules", "metric": "nonsense"}, ["nonsense", "tgi"]),
    ({"kind": "heatmap", "metric": "nonsense"}, ["nonsense", "bliss_excess"]),
    ({"kind": "pk", "arm": "placebo"}, ["placebo", "combination"]),
    ({"kind": "pk", "metric": "tgi"}, ["metric"]),
    ({"kind": "heatmap", "log": True}, ["log"]),
    ({"kind": "tumor", "colour": "red"}, ["colour", "variable"]),
    ({"kind": "tumor", "variable": "mass"}, ["mass", "volume", "diameter"]),
    ({"kind": "tumor", "point": {"neratinib.dose": "999 mg"}}, ["999 mg", "120 mg"]),
    ({"kind": "tumor", "point": {"signaling.KI": 1}}, ["signaling.KI", "neratinib.dose"]),
    ({"kind": "heatmap", "stat": "mean"}, ["mean", "median"]),
    ({"kind": "heatmap", "metric": "CMAX", "drug": "aspirin"}, ["aspirin", "neratinib"]),
    ({"kind": "signaling", "days": (10, 5)}, ["days"]),
])
def test_bad_requests_raise_input_errors(sweep, kwargs, words):
    kwargs = dict(kwargs)
    kind = kwargs.pop("kind")
    with pytest.raises(InputError) as e:
        plot(sweep, kind, **kwargs)
    text = _one_line_error(e)
    for w in words:
        assert w in text, (w, text)


def test_save_into_a_missing_folder_is_an_input_error(trial, tmp_path):
    with pytest.raises(InputError):
        save(plot(trial, "tumor"), tmp_path / "missing" / "tumor.png")
    assert not (tmp_path / "missing").exists()


# --------------------------------------------------------------------------- standard set


def test_standard_set_without_sweep(trial, tmp_path):
    paths = standard_set(trial, tmp_path / "figs")
    assert [p.name for p in paths] == ["pk.png", "signaling.png", "tumor.png", "schedules.png"]
    for p in paths:
        _check_png(p)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(p.name for p in paths)


def test_standard_set_with_two_key_sweep_adds_heatmap(sweep, tmp_path):
    names = [p.name for p in standard_set(sweep, tmp_path)]
    assert names == ["pk.png", "signaling.png", "tumor.png", "heatmap.png", "schedules.png"]


def test_standard_set_two_arms_has_no_schedules(trial, tmp_path):
    two = trial.sel(arm=["control", "neratinib"])
    assert [p.name for p in standard_set(two, tmp_path)] == ["pk.png", "signaling.png", "tumor.png"]


def test_plots_read_back_from_netcdf(sweep, tmp_path):
    from pkpd.io import read_dataset, write_dataset

    write_dataset(sweep, tmp_path / "r.nc")
    back = read_dataset(tmp_path / "r.nc")
    assert arm_colors(back) == arm_colors(sweep)
    _check_png(save(plot(back, "heatmap"), tmp_path / "h.png"))
