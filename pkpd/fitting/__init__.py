"""Fitting: individual and pooled fits, residual error models (issue 5)."""
