"""Renamed :mod:`pkpd.effects`: ``pkpd.pd`` shadowed pandas' ``pd`` after ``from pkpd import *``."""

raise ImportError("pkpd.pd was renamed pkpd.effects (so that `from pkpd import *` cannot shadow pandas' `pd`); "
                  "use `from pkpd import effects` or `from pkpd.effects import ...`")
