"""Helpers shared by every layer of pkpd (no public API; nothing here imports the rest of the package)."""
