"""Reusable logic of the SiOx Si K-edge XANES machine-learning workflow.

Rule scripts in ``scripts/`` only wire files to the functions defined here;
everything that can be unit-tested lives in this package.
"""

__version__ = "0.1.0"

SPECIES = ("Si", "O")
ATOMIC_MASS = {"Si": 28.0855, "O": 15.9994}  # g/mol, the masses LAMMPS and ASE use
RY_TO_EV = 13.605693122994  # CODATA, as QE uses
