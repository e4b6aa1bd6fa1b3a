"""``siox-xanes``: the command line of the workflow's package.

    siox-xanes predict FILE... (--shift EV | --reference FILE) [--composition X] [--model predictor.pt]
                       [--format json|csv] [--output OUT] [--plots DIR]
    siox-xanes spectrum STRUCTURE... [--model forward.joblib] [--format csv|netcdf] [--output DIR] [--plots]
    siox-xanes release pack|restore BATCHES [--workdir DIR] [--only PATTERN...]

FILE: XDI, Athena project (every group in it) or two-column text/CSV, Si K
edge, energies in eV, mu(E) in any units (each spectrum is normalised with
the model's recipe). The energy scale must be put on the workflow's
(alpha-quartz main peak at its experimental energy): ``--shift`` adds a
known shift in eV (``--shift 0`` if the data are already on it);
``--reference`` fits it from your own measured alpha-quartz or crystalline Si
spectrum (its kind recognised, or stated with ``--reference-kind``; a fitted
shift beyond ``--max-shift``, 3 eV by default, is refused). Every spectrum
must show a Si K edge and cover the normalisation's ranges; an answer the
models cannot vouch for carries named flags in its ``quality`` block. With
``--composition`` (the samples' x of SiOx, if known) the valence interval is
calibrated on that composition, whose coverage holds per composition; without
it, the one interval over all compositions (90 % overall, 85-100 % by
composition, docs/predictor.md). Without
``--model`` the shipped predictor is used (``data/models/predictor.pt``),
else the workflow's own (``results/predictor/predictor.pt``).

STRUCTURE (``spectrum``): any structure ASE reads, Si and O, periodic. Every Si site's
spectrum is predicted by the forward model (``data/models/forward.joblib``, or
``results/forward/model.joblib``), and their average with a band from the model's by-cell
errors; sites whose first shell was never seen in training or whose descriptor lies beyond the
training sites' are flagged, and the average too when more than 5 % of its sites are.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from . import layout

REPO_ROOT = Path(__file__).resolve().parents[2]


def _model_file(shipped: str, built: str, what: str) -> Path:
    """The shipped model, else the workflow's own (here or in the repository)."""
    for candidate in (REPO_ROOT / shipped, Path.cwd() / built, REPO_ROOT / built):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {what} given and none found ({shipped} or {built}): "
                            f"build one with 'snakemake {built}' or pass --model")


def default_predictor() -> Path:
    return _model_file(layout.SHIPPED_PREDICTOR, layout.PREDICTOR, "predictor")


CSV_COLUMNS = ["file", "spectrum", "status", "shift_eV", "valence_e", "valence_low_e", "valence_high_e", "confidence",
               "valence_ensemble_std_e", "edge_gap_filled_eV", "quality_flags", "error"]


def _csv(results: list[dict], failed: list[dict]) -> str:
    """One row per spectrum and one per failed file (status 'error'); units in the column names."""
    classes = list(results[0]["fractions"]) if results else []
    gap = bool(results) and "local_gap" in results[0]  # a predictor with the PDOS (seed 004)
    gap_columns = ["local_gap_eV", "local_gap_low_eV", "local_gap_high_eV"] if gap else []
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*CSV_COLUMNS, *[f"fraction_{c}" for c in classes], *gap_columns])
    number = lambda v: f"{v:.4f}" if v is not None else ""  # noqa: E731  (None: unbounded or no gap)
    for r in results:
        w.writerow([r["file"], r["spectrum"], r["status"], f"{r['shift_eV']:.4f}", f"{r['valence']:.4f}",
                    *(number(v) for v in r["valence_interval"]), r["confidence"],
                    f"{r['valence_ensemble_std']:.4f}", f"{r['edge_gap_filled_eV']:.3f}",
                    ";".join(r["quality"]["flags"]), "", *[f"{r['fractions'][c]:.4f}" for c in classes],
                    *([number(r["local_gap"]), *(number(v) for v in r["local_gap_interval"])] if gap else [])])
    for f in failed:
        w.writerow([f["file"], "", "error", *[""] * (len(CSV_COLUMNS) - 4), f["error"], *[""] * len(classes),
                    *[""] * len(gap_columns)])
    return buf.getvalue()


def _plot_name(result: dict, index: int) -> str:
    stem = Path(result["file"]).stem
    label = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in result["spectrum"])
    return f"{index:03d}_{stem}" + ("" if label == stem else f"_{label}") + ".png"


def _interval_meaning(predictor, composition: str | None = None) -> dict:
    conf = predictor.bundle["conformal"]["confidence"]
    normalised = "valence_scale" in predictor.bundle["conformal"]
    scaled_on = (f"the held-out cells of composition x = {composition} (the stated one; cross-validation)"
                 if composition else "held-out calibration cells of every composition")
    return {"confidence": conf,
            "valence": (f"{100 * conf:.0f} % normalised split-conformal interval: the ensemble mean +- a half-width "
                        "that grows with the ensemble's spread and the input's distance from the training inputs, "
                        f"scaled so that it covered the true valences of {scaled_on} that often"
                        if normalised else
                        f"{100 * conf:.0f} % split-conformal interval: the ensemble mean +- the one half-width that "
                        "held-out calibration cells' site spectra needed to cover their true valence that often"),
            "rdf_band": f"{100 * conf:.0f} % split-conformal band per R, clipped at g = 0",
            "fractions": (f"{100 * conf:.0f} % split-conformal interval per class, calibrated on mixtures of "
                          "calibration cells' sites; clipped to [0, 1]" if normalised else "no interval"),
            **({"pdos_band": f"{100 * conf:.0f} % split-conformal band per energy and orbital, clipped at 0",
                "local_gap": f"{100 * conf:.0f} % normalised split-conformal interval of the mean computed gap of the "
                             f"{predictor.bundle['pdos']['gap']['neighbours']} nearest training spectra, wider where "
                             "their gaps disagree or the spectrum lies far from the training spectra; calibrated on "
                             "held-out cells' sites, clipped at 0"} if "pdos" in predictor.bundle else {})}


def predict_command(args) -> int:
    import math

    from .learning.predictor import UNITS, load_predictor, predict_measured, reference_alignment
    from .measured.readers import read_spectra

    if args.shift is not None and not math.isfinite(args.shift):
        raise ValueError(f"--shift {args.shift}: expected a finite number of eV")
    if args.plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise ValueError(f"--plots {args.plots}: exists and is not a folder")
    model = Path(args.model) if args.model else default_predictor()
    predictor = load_predictor(model)
    try:
        calibrated = None if args.composition is None else predictor.calibrated_composition(args.composition)
    except ValueError as exc:
        raise ValueError(f"--composition: {exc}") from exc
    alignment = None
    if args.reference:
        try:
            reference = read_spectra(args.reference)[0]
        except ValueError as exc:
            raise ValueError(f"--reference: {exc}") from exc
        alignment = reference_alignment(predictor, reference, args.reference_kind, args.max_shift)
        shift = alignment["shift_eV"]
        print(f"shift from {args.reference} ({alignment['kind']}, {'given' if alignment['kind_given'] else 'recognised'}, "
              f"match rms {alignment['match_rms']:.3f}): {shift:+.3f} eV", file=sys.stderr)
    else:
        shift = args.shift
    results, failed = [], []
    for path in args.files:
        try:
            results += predict_measured(predictor, read_spectra(path), shift, args.composition)
        except ValueError as exc:  # SpectrumFileError and SpectrumQualityError included: the message names the file
            failed.append({"file": str(path), "error": str(exc)})
            print(f"error: {exc}", file=sys.stderr)
    if args.plots:
        from .report.plots import prediction_figure

        Path(args.plots).mkdir(parents=True, exist_ok=True)
        for i, r in enumerate(results):
            prediction_figure(r, predictor.energy, Path(args.plots) / _plot_name(r, i))
    for r in results:
        r["normalised"] = r["normalised"].tolist() if args.format == "json" else None
        r["model"] = str(model)
    if args.format == "json":
        text = json.dumps({"model": str(model), "shift_eV": shift, "alignment": alignment, "units": UNITS,
                           "interval": _interval_meaning(predictor, calibrated), "results": results,
                           "errors": [f["error"] for f in failed]}, indent=1) + "\n"
    else:
        text = _csv(results, failed)
    if args.output and args.output != "-":
        from .io import atomic_path

        with atomic_path(args.output) as tmp:
            tmp.write_text(text)
    else:
        sys.stdout.write(text)
    return 2 if failed else 0


def default_forward_model() -> Path:
    return _model_file(layout.SHIPPED_FORWARD_MODEL, layout.FORWARD_MODEL, "forward model")


def output_stem(path, taken: set) -> str:
    """The file's name without its format suffix (and a compression one), made unique among
    the structures of one call: two inputs never write the same output."""
    name = Path(path).name
    for suffix in (".xz", ".gz", ".bz2"):
        name = name.removesuffix(suffix)
    stem = Path(name).stem or "structure"
    unique, k = stem, 1
    while unique in taken:
        k += 1
        unique = f"{stem}_{k}"
    taken.add(unique)
    return unique


def spectrum_command(args) -> int:
    """Predicted Si K-edge spectra of structures: every Si site's and the averaged one with its band."""
    from .forward.descriptors import DescriptorError
    from .forward.spectrum import load_bundle, predict_structure, read_user_structure, write_spectrum

    model = Path(args.model) if args.model else default_forward_model()
    bundle = load_bundle(model)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    summaries, failed, taken = [], [], set()
    for path in args.files:
        try:
            atoms = read_user_structure(path)
            result = predict_structure(bundle, atoms, source=str(path))
        except (ValueError, DescriptorError) as exc:
            failed.append({"file": str(path), "error": str(exc)})
            print(f"error: {exc}", file=sys.stderr)
            continue
        stem = output_stem(path, taken)
        written = write_spectrum(result, bundle, out / stem, args.format)
        if args.plots:
            from .report.plots import structure_spectrum_figure

            structure_spectrum_figure(result, bundle, out / f"{stem}.png")
            written.append(str(out / f"{stem}.png"))
        summaries.append({"file": str(path), "n_atoms": result["n_atoms"], "n_si": result["n_si"],
                          "flags": result["flags"], "flagged_fraction": result["flagged_fraction"],
                          "unseen_first_shells_O_Si": result["unseen_shells"], "written": written})
    summary = {"model": str(model), "confidence": bundle.confidence, "trained_on": bundle.provenance,
               "model_errors_by_cell": bundle.metrics, "results": summaries, "errors": [f["error"] for f in failed]}
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    return 2 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="siox-xanes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="valence, RDF and valence-class fractions from measured spectra")
    p.add_argument("files", nargs="+", metavar="FILE")
    scale = p.add_mutually_exclusive_group(required=True)
    scale.add_argument("--shift", type=float, help="eV added to the files' energies (0: already on the workflow's scale)")
    scale.add_argument("--reference", help="your measured alpha-quartz (or Si) spectrum; the shift is fitted from it")
    p.add_argument("--reference-kind", choices=list(layout.REFERENCES), default=None,
                   help="what --reference is (default: recognised by which computed reference it matches)")
    p.add_argument("--max-shift", type=float, default=3.0, metavar="EV",
                   help="largest shift a --reference fit may give (default 3 eV)")
    p.add_argument("--composition", type=float, metavar="X",
                   help="the samples' x of SiOx, if known: valence intervals calibrated on that composition")
    p.add_argument("--model", help="predictor bundle (rule train_predictor); default: the shipped one")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", "-o", help="write here instead of standard output")
    p.add_argument("--plots", help="folder for one PNG per spectrum")
    f = sub.add_parser("spectrum", help="predicted Si K-edge spectra of structures (every Si site and the average)")
    f.add_argument("files", nargs="+", metavar="FILE", help="structures ASE reads (extxyz, CIF, POSCAR, LAMMPS data)")
    f.add_argument("--model", help="forward-model bundle (rule forward_model); default: the shipped one")
    f.add_argument("--format", choices=["csv", "netcdf"], default="csv")
    f.add_argument("--output", "-o", default=".", help="folder for the spectra (default: here)")
    f.add_argument("--plots", action="store_true", help="also a PNG per structure")
    r = sub.add_parser("release", help="keep finished MD/DFT results as compressed batches, or restore them")
    r.add_argument("action", choices=["pack", "restore"])
    r.add_argument("batches", help="the release's batch folder, e.g. data/siox-medium-v2/batches")
    r.add_argument("--workdir", default=".", help="the workflow's working directory (default: here)")
    r.add_argument("--only", nargs="+", metavar="PATTERN", help="pack: only files matching these fnmatch patterns")
    args = ap.parse_args(argv)
    try:
        commands = {"predict": predict_command, "spectrum": spectrum_command, "release": release_command}
        return commands[args.command](args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def release_command(args) -> int:
    from .release import batches

    if args.action == "pack":
        name = batches.pack(Path(args.workdir), Path(args.batches), args.only)
        print(f"{args.batches}/{name}" if name else "nothing new to pack")
    else:
        counts = batches.restore(Path(args.batches), Path(args.workdir))
        print(", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
