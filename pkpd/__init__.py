"""pkpd: pharmacokinetic/pharmacodynamic modelling in Python."""

from .errors import DatasetError, ModelError, ParameterError, PkpdError, SimulationError

__version__ = "0.1.0.dev0"
