"""Data releases: finished results kept as compressed batches, and the shipped dataset."""
