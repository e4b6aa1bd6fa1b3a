"""ld1.x: PAW dataset generation, transferability tests, GIPAW core data for xspectra.x."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np



def parse_ld1_energies(text: str) -> dict:
    """All-electron and pseudo total energies (Ry) of the reference configuration."""
    ae = re.findall(r"^\s*Etot\s*=\s*(-?\d+\.\d+)\s*Ry", text, re.M)
    ps = re.findall(r"^\s*Etotps\s*=\s*(-?\d+\.\d+)\s*Ry", text, re.M)
    if not ae or not ps:
        raise ValueError("ld1.x output: no 'Etot' and 'Etotps' lines found")
    return {"etot_ae_Ry": float(ae[-1]), "etot_ps_Ry": float(ps[-1])}


def with_test_configuration(generation_input: str, config: str) -> str:
    """The generation input with one ``&test`` configuration appended.

    ld1.x 6.7 accepts a single test configuration when generating PAW data
    ('too many test configurations'), and its test-only mode gives wrong
    energies for PAW, so each test configuration is one more generation run.
    """
    if re.search(r"&test", generation_input, re.I):
        raise ValueError("ld1.x generation input already has a &test namelist")
    return generation_input.rstrip() + f"\n &test\n   nconf=1,\n   configts(1)='{config}'\n /\n"


def ultrasoft_input(paw_input: str, upf_name: str) -> str:
    """The ld1.x input of a PAW dataset turned into an ultrasoft pseudopotential written to
    ``upf_name``: same configuration, radii, local potential and core correction; the
    augmentation charges stay pseudised as in the dataset ('PSQ')."""
    text, n_paw = re.subn(r"lpaw\s*=\s*\.true\.", "lpaw=.false.", paw_input, flags=re.I)
    text, n_file = re.subn(r"file_pseudopw\s*=\s*'[^']*'", f"file_pseudopw='{upf_name}'", text)
    if n_paw != 1 or n_file != 1:
        raise ValueError("ld1.x input: expected one lpaw=.true. and one file_pseudopw (a PAW generation input)")
    return text


def transferability(reference: dict, tests: dict[str, dict]) -> list[dict]:
    """Error (mRy) of the dataset on each test configuration: change of the
    pseudo total energy minus change of the all-electron total energy."""
    rows = []
    for config, e in tests.items():
        d_ae = e["etot_ae_Ry"] - reference["etot_ae_Ry"]
        d_ps = e["etot_ps_Ry"] - reference["etot_ps_Ry"]
        rows.append({"config": config, "dEtot_ae_Ry": d_ae, "dEtot_ps_Ry": d_ps, "error_mRy": 1000 * (d_ps - d_ae)})
    return rows


def without_generation_date(upf_text: str) -> str:
    """The UPF text with ld1.x's generation date blanked (the header's ``date`` attribute and
    the 'Generation date:' line of PP_INFO), so that the dataset's bytes, and the SHA-256 the
    provenance records, depend on the ld1.x input and version only, not on the day it ran."""
    text = re.sub(r'(<PP_HEADER\b[^>]*?\sdate=")[^"]*(")', r"\1\2", upf_text, flags=re.S)
    return re.sub(r"^(\s*Generation date:).*$", r"\1", text, flags=re.M)


def rewrap_long_lines(upf_text: str, width: int = 4) -> str:
    """Break numeric data lines longer than 1000 characters into rows of ``width`` numbers.

    ld1.x 6.7 writes some PAW blocks (PP_MULTIPOLES) on one line of several
    thousand characters; QE's XML reader stops at 1024 ('line too long').
    """
    out = []
    for line in upf_text.splitlines():
        if len(line) > 1000 and "<" not in line:
            nums = line.split()
            out += ["  " + "  ".join(nums[i:i + width]) for i in range(0, len(nums), width)]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def read_ld1_wfc(path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Radial grid and all-electron orbitals u(r) = r R(r) by label from an ld1.x ``*.wfc`` file."""
    lines = Path(path).read_text().splitlines()
    labels = lines[0].lstrip("#").split()[1:]
    data = np.loadtxt(lines[1:], ndmin=2)
    if data.shape[1] != len(labels) + 1:
        raise ValueError(f"{path}: {data.shape[1]} columns for labels {labels}")
    return data[:, 0], {lab: data[:, i + 1] for i, lab in enumerate(labels)}


def add_gipaw_core_orbitals(upf_text: str, orbitals: list[tuple[str, int, int, np.ndarray]]) -> str:
    """Mark a PAW dataset 'PAW used as GIPAW' and add its core orbitals (label, n, l, u(r)).

    This is what ``lgipaw_reconstruction`` would write; ld1.x 6.7 crashes when
    asked for it together with PAW, so the data are added afterwards.
    """
    mesh = int(re.search(r'mesh_size="(\d+)"', upf_text).group(1))
    header = re.search(r"<PP_HEADER[^>]*>", upf_text, re.S).group(0)
    new_header = re.sub(r'has_gipaw="[^"]*"', 'has_gipaw="true"', header)
    new_header = re.sub(r'paw_as_gipaw="[^"]*"', 'paw_as_gipaw="true"', new_header)
    if "paw_as_gipaw" not in new_header:
        raise ValueError("UPF header has no paw_as_gipaw attribute (not a UPF v2 PAW dataset?)")
    blocks = ['  <PP_GIPAW gipaw_data_format="2">', f'    <PP_GIPAW_CORE_ORBITALS number_of_core_orbitals="{len(orbitals)}">']
    for i, (label, n, l, u) in enumerate(orbitals, start=1):
        if len(u) != mesh:
            raise ValueError(f"core orbital {label}: {len(u)} points, the dataset's mesh has {mesh}")
        values = "\n".join("  ".join(f"{v:.17E}" for v in u[k:k + 4]) for k in range(0, mesh, 4))
        blocks += [
            f'      <PP_GIPAW_CORE_ORBITAL.{i} type="real" size="{mesh}" columns="4" index="{i}" label="{label}" n="{n}" l="{l}">',
            values,
            f"      </PP_GIPAW_CORE_ORBITAL.{i}>",
        ]
    blocks += ["    </PP_GIPAW_CORE_ORBITALS>", "  </PP_GIPAW>"]
    text = upf_text.replace(header, new_header)
    if "<PP_GIPAW" in text:
        raise ValueError("dataset already has a PP_GIPAW section")
    return text.replace("</UPF>", "\n".join(blocks) + "\n</UPF>")


def core_wavefunction_text(r: np.ndarray, orbitals: list[tuple[str, np.ndarray]]) -> str:
    """Core-orbital file in the layout xspectra.x reads (``filecore``): one header line,
    then for each orbital (1s first) one 'r u(r)' line per mesh point and a blank line."""
    out = [f"# number of core states {len(orbitals)} = " + " ".join(lab for lab, _ in orbitals)]
    for _, u in orbitals:
        out += [f"{a:.12E} {b:.12E}" for a, b in zip(r, u)]
        out.append("")
    return "\n".join(out) + "\n"


def core_orbitals_of(wfc_path, core_labels=("1S", "2S", "2P")):
    """(label, n, l, u) of the core orbitals in an ld1.x ``*.wfc`` file."""
    r, orb = read_ld1_wfc(wfc_path)
    out = []
    for lab in core_labels:
        if lab not in orb:
            raise ValueError(f"{wfc_path}: no {lab} orbital (columns: {list(orb)})")
        out.append((lab, int(lab[0]), "SPDF".index(lab[1]), orb[lab]))
    return r, out
