"""``python -m siox_xanes.dataset CUBE``: summarise a site or system cube."""

import argparse

import xarray as xr

from .cubes import summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m siox_xanes.dataset", description="Summarise a site or system cube.")
    ap.add_argument("cube", help="spectra_sites.nc or spectra_systems.nc")
    args = ap.parse_args(argv)
    with xr.open_dataset(args.cube) as ds:
        print(summary(ds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
