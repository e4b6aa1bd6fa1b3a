"""Quantum ESPRESSO: input writers, output parsers and runners (ld1.x, pw.x, xspectra.x, pp.x)."""
