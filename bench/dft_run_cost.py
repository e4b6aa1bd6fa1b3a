"""What a DFT run has cost so far, from the QE programs' own clocks.

Reads the QE output every ground_state and core_hole_xanes job keeps
(`siox_xanes.layout.GROUND_STATE_QE_LOG`, `SITE_QE_LOG`, and `PDOS_QE_LOG` of
cell_pdos) and prints, per composition, the CPU seconds per site (pw.x core-hole
SCF + xspectra.x, summed over ranks), per ground state (pw.x + pp.x) and per
cell's PDOS (SCF, NSCF, projwfc.x), then the core-hours in all.
QE's clocks cover ≈ 98 % of a job's wall time here; Snakemake's benchmark
files sample the process tree every few seconds and miss the short xspectra.x
and pp.x runs, so their cpu_time undercounts. CPU/wall below 1 per rank means
the jobs shared cores (or were paused).

    .venv/bin/python bench/dft_run_cost.py [--root .]

A site retried after a failed SCF counts its last attempt only.
"""

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from siox_xanes import layout
from siox_xanes.spectra.qe_files import program_clocks

ROOT = Path(__file__).resolve().parent.parent


def template_regex(template: str) -> re.Pattern:
    """A layout path template as a regex whose groups are its wildcards."""
    pattern = re.escape(template)
    pattern = pattern.replace(r"\{cell\}", f"(?P<cell>{layout.CELL_PATTERN})").replace(r"\{site\}", r"(?P<site>\d+)")
    return re.compile(pattern + "$")


def job_clocks(root: Path, template: str) -> dict[str, list[dict]]:
    """Cell -> one {cpu_s, wall_s} per job whose QE log matches the template."""
    regex = template_regex(template)
    jobs = defaultdict(list)
    for path in sorted((root / Path(template).parent).glob("*.qe.txt")):
        match = regex.match(path.relative_to(root).as_posix())
        clocks = program_clocks(path.read_text(errors="replace")) if match else []
        if clocks:
            jobs[match.group("cell")].append({"cpu_s": sum(c["cpu_s"] for c in clocks),
                                              "wall_s": sum(c["wall_s"] for c in clocks)})
    return jobs


def group_of(cell: str) -> str:
    return cell if layout.is_reference(cell) else f"x = {layout.parse_glass_cell(cell)[0]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the run's working directory (holds logs/)")
    args = parser.parse_args()
    by_group = defaultdict(lambda: {"sites": [], "ground_states": [], "pdos": []})
    for kind, template in (("sites", layout.SITE_QE_LOG), ("ground_states", layout.GROUND_STATE_QE_LOG),
                           ("pdos", layout.PDOS_QE_LOG)):
        for cell, clocks in job_clocks(args.root, template).items():
            by_group[group_of(cell)][kind] += clocks
    print(f"{'':>18s} {'sites':>5s} {'CPU s per site: min':>19s} {'median':>6s} {'max':>5s} "
          f"{'ground states':>13s} {'CPU s each':>10s} {'PDOS cells':>10s} {'CPU s each':>10s} {'core-h':>6s} {'CPU/wall':>8s}")
    for group in sorted(by_group, key=lambda g: (layout.is_reference(g), g)):
        site_cpu = [c["cpu_s"] for c in by_group[group]["sites"]]
        gs_cpu = [c["cpu_s"] for c in by_group[group]["ground_states"]]
        pdos_cpu = [c["cpu_s"] for c in by_group[group]["pdos"]]
        jobs = by_group[group]["sites"] + by_group[group]["ground_states"] + by_group[group]["pdos"]
        cpu, wall = sum(c["cpu_s"] for c in jobs), sum(c["wall_s"] for c in jobs)
        spread = (f"{min(site_cpu):19.0f} {statistics.median(site_cpu):6.0f} {max(site_cpu):5.0f}" if site_cpu
                  else f"{'—':>19s} {'—':>6s} {'—':>5s}")
        gs, pdos = (f"{statistics.mean(v):10.0f}" if v else f"{'—':>10s}" for v in (gs_cpu, pdos_cpu))
        print(f"{group:>18s} {len(site_cpu):5d} {spread} {len(gs_cpu):13d} {gs} {len(pdos_cpu):10d} {pdos} "
              f"{cpu / 3600:6.2f} {cpu / wall:8.2f}")
    n_sites = sum(len(jobs["sites"]) for jobs in by_group.values())
    if not n_sites:
        raise SystemExit(f"no QE logs of finished sites under {args.root / Path(layout.SITE_QE_LOG).parent}")
    every_job = [c for jobs in by_group.values() for c in jobs["sites"] + jobs["ground_states"]]
    cpu, wall = sum(c["cpu_s"] for c in every_job), sum(c["wall_s"] for c in every_job)
    pdos = [c for jobs in by_group.values() for c in jobs["pdos"]]
    pdos_cpu = sum(c["cpu_s"] for c in pdos)
    print(f"{'all':>18s} {n_sites:5d} sites, {cpu / 3600:.2f} core-hours of DFT "
          f"({cpu / n_sites:.0f} CPU s per site, its ground state's share included), CPU/wall {cpu / wall:.2f}; "
          f"PDOS of {len(pdos)} cells {pdos_cpu / 3600:.2f} core-hours; in all {(cpu + pdos_cpu) / 3600:.2f}")


if __name__ == "__main__":
    main()
