"""SYNTHETIC TEST FIXTURES shared by the test modules (never a result): spectra whose white line
moves and grows with a known valence, RDFs with known first shells, XDI files written from them."""

import numpy as np

GRID = np.linspace(1830, 1880, 256)
R = (np.arange(64) + 0.5) * 5.0 / 64


def synthetic_fixture(n=800, seed=0):
    """Valence = 0.8 x (first-shell O count) + a per-site part; the white line
    position shows the O count (with jitter unrelated to the valence), its height
    is a nuisance, and the per-site part sits in a weak feature 15 eV higher that
    none of the baseline's three descriptors sees."""
    rng = np.random.default_rng(seed)
    n_o = rng.integers(0, 5, n)
    delta = rng.normal(0, 0.15, n)
    q = 0.8 * n_o + delta
    e0 = 1840 + 1.5 * n_o + rng.uniform(-0.4, 0.4, n)
    height = rng.uniform(0.5, 1.5, n)
    mu = height[:, None] * 0.8 / ((GRID[None] - e0[:, None]) ** 2 + 0.8**2)
    mu += (0.3 + delta)[:, None].clip(0.0) * np.exp(-((GRID[None] - e0[:, None] - 15) ** 2) / 4.0)
    mu += 0.1 / (1 + np.exp(-(GRID[None] - e0[:, None] - 6) / 2))
    mu += rng.normal(0, 0.002, mu.shape)
    rdf = n_o[:, None] * np.exp(-((R - 1.62) ** 2) / 0.005) + (4 - n_o)[:, None] * np.exp(-((R - 2.35) ** 2) / 0.01)
    return np.clip(mu, 0, None), q, rdf, n_o


def write_xdi(path, energy, mu, element="Si", edge="K", unit="eV"):
    lines = ["# XDI/1.0 siox-xanes-test/1", f"# Column.1: energy {unit}", "# Column.2: mutrans",
             f"# Element.symbol: {element}", f"# Element.edge: {edge}", "#----", "# energy mutrans"]
    lines += [f"{e:.4f} {m:.7g}" for e, m in zip(energy, mu)]
    path.write_text("\n".join(lines) + "\n")
    return path


def synthetic_forward_problem(n_cells=18, per_cell=8, seed=0):
    """SYNTHETIC TEST FIXTURE: descriptor rows (the site's class one-hot, then five other columns),
    spectra made of a white line placed by the class and a second peak whose height follows one
    of the other columns (what no class mean can know), cells and their compositions."""
    rng = np.random.default_rng(seed)
    n = n_cells * per_cell
    cells = np.repeat([f"x{(k % 9) * 0.25:.2f}_seed{k // 9 + 1}" for k in range(n_cells)], per_cell)
    x = np.array([float(c[1:5]) for c in cells])
    classes = np.clip(np.round(2 * x + rng.normal(0, 0.6, n)), 0, 4).astype(int)
    rows = np.column_stack([np.eye(5)[classes], rng.normal(0, 1, (n, 5))])
    centre = 1840 + 1.5 * classes
    spectra = (np.exp(-((GRID[None] - centre[:, None]) ** 2) / 4.0)
               + (0.5 + 0.2 * rows[:, 5])[:, None] * np.exp(-((GRID[None] - 1860) ** 2) / 9.0))
    return rows, spectra, classes, cells, x, GRID


PDOS_GRID = np.linspace(-15, 15, 301)


def synthetic_pdos(n_o, seed=0):
    """SYNTHETIC TEST FIXTURE: s and p PDOS (states/eV) whose band gap opens with the first-shell O
    count (1 eV at Si0 to 7 eV at Si4+, as from a-Si to silica), the conduction band edge moving up."""
    rng = np.random.default_rng(seed)
    n_o = np.asarray(n_o)
    vb, cb = -0.2 - 0.1 * n_o, 0.8 + 1.5 * n_o + rng.normal(0, 0.1, len(n_o))
    edge = 0.15

    def band(centre_shift):
        below = 1.0 / (1 + np.exp((PDOS_GRID[None] - vb[:, None] - centre_shift) / edge))
        above = 1.0 / (1 + np.exp(-(PDOS_GRID[None] - cb[:, None]) / edge))
        return below + above

    return 0.3 * band(-2.0), band(0.0), cb - vb
