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


TRIAL_KINDS = ["waterfall", "swimmer", "spider", "km", "orr"]


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in TRIAL_KINDS])
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
        plot(trial, "volcano")
    text = _one_line_error(e)
    assert "volcano" in text and all(k in text for k in KINDS)


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
    # one typical patient: no trial figures (waterfall, swimmer, KM and ORR need a population)
    assert [p.name for p in paths] == ["pk.png", "signaling.png", "tumor.png", "schedules.png"]
    for p in paths:
        _check_png(p)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(p.name for p in paths)


def test_standard_set_with_two_key_sweep_adds_heatmap(sweep, tmp_path):
    names = [p.name for p in standard_set(sweep, tmp_path)]
    assert names == ["pk.png", "signaling.png", "tumor.png", "heatmap.png", "schedules.png"]


def test_standard_set_two_arms_has_no_schedules(trial, tmp_path):
    two = _without_endpoints(trial.sel(arm=["control", "neratinib"]))
    assert [p.name for p in standard_set(two, tmp_path)] == ["pk.png", "signaling.png", "tumor.png"]


def test_plots_read_back_from_netcdf(sweep, tmp_path):
    from pkpd.io import read_dataset, write_dataset

    write_dataset(sweep, tmp_path / "r.nc")
    back = read_dataset(tmp_path / "r.nc")
    assert arm_colors(back) == arm_colors(sweep)
    _check_png(save(plot(back, "heatmap"), tmp_path / "h.png"))


# --------------------------------------------------------------------------- virtual-trial kinds

#: The virtual trial (scenarios/virtual_trial.yaml), small: 16 patients, 6 months, a scan every 8 weeks.
VIRTUAL_TRIAL = """
name: plot-virtual-trial
duration: 6 months
output_every: 2 h
store: daily
scan_every: 8 weeks
population: {size: 16, seed: 1, variability: true}
solver: {method: radau5, rtol: 1e-4, atol: 1e-4}
""" + ARMS

DAYS_PER_MONTH = 30.4375


@pytest.fixture(scope="module")
def vtrial() -> xr.Dataset:
    return run(load_scenario(VIRTUAL_TRIAL))


def _response(ds: xr.Dataset, arm: str) -> np.ndarray:
    codes = ds["best_response"].sel(arm=arm).values
    return np.array(ds["best_response"].attrs["flag_meanings"].split())[codes]


@pytest.mark.parametrize("kind", TRIAL_KINDS)
def test_trial_kinds_render_labelled_pngs(vtrial, kind, tmp_path):
    fig = plot(vtrial, kind)
    drawn = [ax for ax in fig.axes if ax.axison and ax.get_ylabel() and ax.get_lines() + ax.patches]
    assert drawn
    for ax in drawn:          # the value axis says what it is, in units
        value_axis = ax.get_xlabel() if kind == "swimmer" else ax.get_ylabel()
        assert value_axis.strip().endswith("]"), value_axis
    assert any(ax.get_xlabel() for ax in drawn)
    assert fig.get_suptitle()
    if kind in ("waterfall", "swimmer", "spider"):
        assert "arm combination, N = 16" in fig.get_suptitle()          # default: the combination arm
    _check_png(save(fig, tmp_path / f"{kind}.png"))


def _without_endpoints(ds: xr.Dataset) -> xr.Dataset:
    from pkpd.trial import ENDPOINTS, PER_PATIENT, PER_SCAN

    return ds.drop_vars([v for v in (*ENDPOINTS, *PER_PATIENT, *PER_SCAN) if v in ds])


def test_trial_kinds_need_trial_endpoints(trial):
    bare = _without_endpoints(trial)
    for kind in TRIAL_KINDS:
        with pytest.raises(InputError) as e:
            plot(bare, kind)
        text = _one_line_error(e)
        assert text.startswith(f"{kind}: needs trial endpoints (run a scenario with scans"), text


def test_waterfall_bars_sorted_and_coloured_by_response(vtrial):
    from pkpd.plots import RESPONSE_COLORS

    fig = plot(vtrial, "waterfall", arm="neratinib", cap=None)
    ax = fig.axes[0]
    pct = vtrial["best_pct_change"].sel(arm="neratinib").values
    heights = np.array([p.get_height() for p in ax.patches])
    assert heights.size == np.isfinite(pct).sum()
    assert np.all(np.diff(heights) <= 0)                                  # largest growth first
    np.testing.assert_allclose(np.sort(heights), np.sort(pct[np.isfinite(pct)]))
    labels = _response(vtrial, "neratinib")
    order = np.argsort(-pct, kind="stable")
    from matplotlib.colors import to_rgba
    assert [p.get_facecolor() for p in ax.patches] == [to_rgba(RESPONSE_COLORS[r]) for r in labels[order]]
    dashed = {round(line.get_ydata()[0]) for line in ax.get_lines() if line.get_linestyle() == "--"}
    assert dashed == {-30, 20}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for r in set(labels):
        assert any(t.startswith(f"{r}:") and f"n = {(labels == r).sum()}" in t for t in legend)


def test_waterfall_caps_tall_bars(vtrial):
    pct = vtrial["best_pct_change"].sel(arm="control").values
    cap = float(np.nanmedian(pct))
    if not cap > 20:
        pytest.skip("control arm does not grow enough in this small trial")
    fig = plot(vtrial, "waterfall", arm="control", cap=cap)
    assert max(p.get_height() for p in fig.axes[0].patches) == pytest.approx(cap)
    assert f"bars cut at +{cap:g}%" in fig.get_suptitle()


def test_swimmer_bars_and_markers(vtrial):
    fig = plot(vtrial, "swimmer")
    ax = fig.axes[0]
    one = vtrial.sel(arm="combination")
    months = one["pfs_days"].values / DAYS_PER_MONTH
    widths = np.array([p.get_width() for p in ax.patches])
    np.testing.assert_allclose(widths, np.sort(months)[::-1])              # longest on study at the top
    lines = {line.get_marker(): line for line in ax.get_lines() if line.get_linestyle() == "None"}
    assert len(lines["^"].get_xdata()) == np.isfinite(one["response_start_days"].values).sum()
    assert len(lines["X"].get_xdata()) == int(one["pfs_event"].values.sum())
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == int((~one["pfs_event"].values).sum())             # on study, no progression
    assert ax.get_xlabel().endswith("[month]")
    responders = plot(vtrial, "swimmer", responders=True).axes[0]
    assert len(responders.patches) == int(np.isin(_response(vtrial, "combination"), ["CR", "PR"]).sum())


def test_spider_lines_stop_at_progression(vtrial):
    fig = plot(vtrial, "spider", arm="control")
    ax = fig.axes[0]
    per_patient = [line for line in ax.get_lines() if line.get_linestyle() == "-" and line.get_marker() == "o"]
    assert len(per_patient) == vtrial.sizes["patient"]
    resp = vtrial["scan_response"].sel(arm="control").values
    stops = sorted(len(line.get_xdata()) for line in per_patient)
    first_pd = [int(np.argmax(r == 4)) + 1 if (r == 4).any() else r.size for r in resp]
    assert stops == sorted(first_pd)
    assert ax.get_xlabel().endswith("[month]")


def test_km_curves_medians_and_numbers_at_risk(vtrial):
    fig = plot(vtrial, "km")
    km_axes = [ax for ax in fig.axes if ax.get_title() in ("Duration of response (confirmed responders)",
                                                           "Progression-free survival")]
    assert len(km_axes) == 2
    pfs = km_axes[1]
    colors = arm_colors(vtrial)
    steps = [line for line in pfs.get_lines() if line.get_drawstyle() == "steps-post"]
    assert [line.get_color() for line in steps] == [colors[a] for a in vtrial["arm"].values]
    for a, line in zip(vtrial["arm"].values, steps):
        assert line.get_xdata()[0] == 0 and line.get_ydata()[0] == 100
        days = vtrial["pfs_days"].sel(arm=a).values
        assert line.get_xdata()[-1] == pytest.approx(days.max() / DAYS_PER_MONTH)
    legend_texts = [t.get_text() for ax in fig.axes for leg in ([ax.get_legend()] if ax.get_legend() else [])
                    for t in leg.get_texts()]
    for a in vtrial["arm"].values:
        med = float(vtrial["median_pfs_months"].sel(arm=a))
        want = f"median {med:.1f} mo" if np.isfinite(med) else "median NR"
        assert any(t.startswith(f"{a} (n = 16") and want in t for t in legend_texts), (a, want, legend_texts)
    table = [ax for ax in fig.axes if ax.get_title(loc="left") == "number at risk"]
    assert len(table) == 2
    assert "16" in [t.get_text() for t in table[1].texts]                 # everyone at risk at month 0


def test_orr_bars_with_exact_intervals(vtrial):
    fig = plot(vtrial, "orr")
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], 100 * vtrial["orr"].values)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(vtrial["arm"].values)
    assert ax.get_ylabel().endswith("[%]")
    assert "Clopper–Pearson" in fig.get_suptitle()
    dcr = plot(vtrial, "orr", metric="dcr").axes[0]
    np.testing.assert_allclose([p.get_height() for p in dcr.patches], 100 * vtrial["dcr"].values)


def test_orr_over_a_sweep(vtrial):
    rates = vtrial[["orr", "orr_low", "orr_high", "best_response"]]
    dose = xr.DataArray([120.0, 240.0], dims="neratinib_dose",
                        attrs={"sweep_key": "neratinib.dose", "units": "mg", "long_name": "neratinib.dose"})
    swept = xr.concat([rates, rates], dim="neratinib_dose").assign_coords(neratinib_dose=dose)
    fig = plot(swept, "orr")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["120 mg", "240 mg"]
    assert ax.get_xlabel() == "neratinib dose [mg]"
    assert "neratinib.dose" not in fig.get_suptitle()                       # the sweep is on the axis
    per_arm = plot(swept, "orr", over="arm", point={"neratinib.dose": 240}).axes[0]
    assert len(per_arm.patches) == vtrial.sizes["arm"]


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "waterfall", "arm": "control,neratinib"}, ["one arm", "control"]),
    ({"kind": "swimmer", "arm": "placebo"}, ["placebo", "combination"]),
    ({"kind": "waterfall", "cap": -5}, ["cap"]),
    ({"kind": "orr", "metric": "pfs"}, ["pfs", "orr", "dcr"]),
    ({"kind": "orr", "over": "signaling.KI"}, ["signaling.KI"]),
    ({"kind": "km", "metric": "orr"}, ["metric"]),
    ({"kind": "spider", "log": True}, ["log"]),
])
def test_bad_trial_requests_raise_input_errors(vtrial, kwargs, words):
    kwargs = dict(kwargs)
    kind = kwargs.pop("kind")
    with pytest.raises(InputError) as e:
        plot(vtrial, kind, **kwargs)
    text = _one_line_error(e)
    for w in words:
        assert w in text, (w, text)


def test_standard_set_adds_the_trial_figures(vtrial, tmp_path):
    from pkpd.io import read_dataset, write_dataset

    write_dataset(vtrial, tmp_path / "t.nc")
    back = read_dataset(tmp_path / "t.nc")
    names = [p.name for p in standard_set(back, tmp_path / "figs")]
    # the trial fixture keeps daily values only (store: daily): no pk/signaling time courses
    expected = ["tumor.png", "schedules.png", "waterfall.png", "swimmer.png", "spider.png", "km.png", "orr.png"]
    if back.attrs.get("store", "full") == "full":
        expected = ["pk.png", "signaling.png"] + expected
    assert names == expected
    for name in names:
        _check_png(tmp_path / "figs" / name)
