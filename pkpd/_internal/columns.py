"""The column vocabulary of NONMEM-style event tables, shared by the reader (pkpd.io) and the engine.

Examples
--------
>>> CANONICAL_COLUMNS[len(EVENT_COLUMNS):]
('MDV', 'DV')
"""

__all__ = ["EVENT_COLUMNS", "CANONICAL_COLUMNS"]

#: The columns that say what happens when: dose events, resets and the records' order (what the engine compiles).
EVENT_COLUMNS = ("ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS")
#: Columns of the canonical event table, in order (covariates and other columns follow): the events and what is observed.
CANONICAL_COLUMNS = EVENT_COLUMNS + ("MDV", "DV")
