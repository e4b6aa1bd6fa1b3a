"""Stage 3: per-site RDFs, PDOS rows and the self-describing NetCDF cubes."""


class DatasetError(ValueError):
    """Inconsistent inputs of the cube assembly; the message names the file or site."""
