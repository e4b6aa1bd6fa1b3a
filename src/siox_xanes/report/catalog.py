"""The paper's figures: which inputs each one reads (standard library only: the DAG
is built from this; the drawing code is in ``figures.py``).

Input keys: ``structures`` (one quenched cell per composition, or a release's
structures file), ``sites`` and ``systems`` (the cubes), ``averaged`` (averaged-spectra predictions of
the full window), ``baseline_full``, ``robustness`` (the predictor's robustness
curves), ``curve_{target}`` (learning curves), ``{target}_{window}`` (test
predictions) and the forward models' ``forward_evaluation``, ``forward_predictions``
and ``selection_curves``.
The window-ablation figures follow ``learning.ablation`` of the config: its
``sub_windows`` (Figs. 5, 6) and ``bands`` (Figs. S5, S6); a config without them
makes those figures not at all.
"""

from __future__ import annotations

from .. import layout

FULL = layout.FULL_WINDOW


def figure_inputs(ablation: dict, forward_evaluation: bool = False, pdos: bool = False) -> dict[str, list[str]]:
    """Figure name -> input keys, for the configured ablation groups (and the forward models'
    figures when the config evaluates them: ``forward.evaluation``; the PDOS networks' where the
    PDOS is learned)."""
    subs = list(ablation.get("sub_windows", []))
    bands = list(ablation.get("bands", []))
    figures = {
        "fig1_structures": ["structures"],
        "fig2_spectra": ["systems"],
        "fig3_valence_parity": [f"valence_{FULL}"],
        "fig4_rdf_rmse": [f"rdf_{FULL}"],
        "fig7_averaged_parity": [f"valence_{FULL}", "averaged"],
        "fig8_averaged_rdf": ["averaged"],
        "figS3_site_spectra": ["sites"],
        "figS4_baseline": [f"baseline_{FULL}"],
        "predictor_robustness": ["robustness"],  # beyond the paper: measured-spectrum predictor
        "learning_curves": ["curve_valence", "curve_rdf"],  # beyond the paper: test RMSE vs training-set size
    }
    if forward_evaluation:  # beyond the paper: seed 002's structure -> spectrum models
        figures["fig11_forward_spectra"] = ["forward_predictions"]
        figures["forward_models"] = ["forward_evaluation"]
        figures["selection_curves"] = ["selection_curves"]
    if pdos:  # beyond the paper: seed 004's PDOS, per window and region
        figures["pdos_windows"] = [f"pdos_{w}" for w in [*subs, FULL]]
    if subs:
        figures["fig5_window_parity"] = [f"valence_{w}" for w in [*subs, FULL]]
        figures["fig6_window_rdf_rmse"] = [f"rdf_{w}" for w in [*subs, FULL]]
    if bands:
        figures["figS5_bands_valence"] = [f"valence_{w}" for w in bands]
        figures["figS6_bands_rdf"] = [f"rdf_{w}" for w in [*bands, FULL]]
    return figures


def figure_windows(name: str, ablation: dict) -> list[str]:
    """The energy windows figure ``name`` shows (their bounds are its params, so that editing one
    window redraws only the figures that show it): those of its inputs, and the sub-windows that
    Fig. 2 shades."""
    keys = figure_inputs(ablation, forward_evaluation=True, pdos=True).get(name, [])
    shown = [key.split("_", 1)[1] for key in keys if key.split("_", 1)[0] in layout.TARGETS]
    if name == "fig2_spectra":
        shown += list(ablation.get("sub_windows", []))
    return list(dict.fromkeys(shown))


# Inputs a run from a release reads from the release (layout.RELEASE_FILES keys).
DATASET_KEYS = ("structures", "sites", "systems")


def input_path(key: str, structure_paths: list[str] | None = None) -> str | list[str]:
    """Workflow path(s) of a figure input key; ``structures`` are the quenched cells Fig. 1
    draws (given by the caller, who knows the config's cells)."""
    if key == "structures":
        return list(structure_paths or [])
    if key == "systems":
        return layout.SYSTEM_CUBE
    if key == "sites":
        return layout.SITE_CUBE
    if key.startswith("curve_"):
        return layout.SPLIT_LEARNING_CURVE.format(target=key.removeprefix("curve_"))
    if key == "robustness":
        return layout.PREDICTOR_ROBUSTNESS
    forward = {"forward_evaluation": layout.FORWARD_EVALUATION, "forward_predictions": layout.FORWARD_PREDICTIONS,
               "selection_curves": layout.SELECTION_CURVES}
    if key in forward:
        return forward[key]
    if key == "averaged":
        return layout.AVERAGED_PREDICTIONS.format(window=FULL)
    if key == f"baseline_{FULL}":
        return layout.BASELINE_METRICS.format(window=FULL)
    target, window = key.split("_", 1)
    if target not in layout.TARGETS:
        raise ValueError(f"figure input '{key}': expected structures, sites, systems, averaged, baseline_{FULL} "
                         "or <target>_<window>")
    return layout.PREDICTIONS.format(window=window, target=target)
