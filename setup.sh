#!/usr/bin/env bash
# One-shot, idempotent setup on a Debian machine with Python >= 3.11:
#   - Debian packages: Quantum ESPRESSO and OpenBLAS (QE links the reference
#     BLAS otherwise, ~3x slower), when run as root;
#   - a virtual environment .venv with the pinned Python stack (requirements.lock)
#     and this repository's package (src/siox_xanes) installed editable.
# Re-running it does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")"

# libblas3/liblapack3 (reference BLAS) only for bench/qe_site.py's side-by-side run.
DEBIAN_PACKAGES=(quantum-espresso libopenblas0-pthread libblas3 liblapack3)

if command -v dpkg >/dev/null 2>&1; then
    missing=()
    for p in "${DEBIAN_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if ((${#missing[@]})); then
        if [ "$(id -u)" -eq 0 ]; then
            echo "setup: installing Debian packages: ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
        else
            echo "setup: not root; install these Debian packages yourself: ${missing[*]}" >&2
        fi
    fi
    # QE finds BLAS/LAPACK through Debian's alternatives: make sure they are OpenBLAS's.
    if [ "$(id -u)" -eq 0 ] && command -v update-alternatives >/dev/null 2>&1; then
        arch_dir=/usr/lib/$(uname -m)-linux-gnu
        for lib in libblas.so.3 liblapack.so.3; do
            target="$arch_dir/openblas-pthread/$lib"
            [ -e "$target" ] && update-alternatives --quiet --set "$lib-$(uname -m)-linux-gnu" "$target" || true
        done
    fi
fi

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "setup: Python >= 3.11 required ($PYTHON)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
# pip -q still warns about every absent local index folder on some machines: drop that noise.
pip_install() {
    .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 |
        { grep -v "is neither a file nor a directory" || true; }
}
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.lock requirements-nodeps.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing pinned Python packages (first time: a few minutes)"
    pip_install -r requirements.lock
    pip_install --no-deps -r requirements-nodeps.lock
    pip_install --no-deps -e .
    echo "$want" > "$stamp"
fi
# numba compiles baderkit's kernels on first use (about 5 min on one core) and caches them on disk:
# pay that here, once per environment, not in the first Bader job of every fresh install.
compiled=.venv/.baderkit-compiled
if [ "$(cat "$compiled" 2>/dev/null)" != "$want" ]; then
    echo "setup: compiling baderkit's numba kernels (first time: a few minutes)"
    .venv/bin/python -m siox_xanes.spectra.bader 2>/dev/null | tail -1
    echo "$want" > "$compiled"
fi
echo "setup: done (.venv ready)"
