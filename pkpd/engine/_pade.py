"""Pade(13) coefficients and the 1-norm bound below which the [13/13] approximant of ``exp`` is accurate to double
precision (Higham 2005, SIAM J. Matrix Anal. Appl. 26:1179, Table 2.3 and Algorithm 2.3): shared by the numpy and
the compiled matrix exponentials (:mod:`pkpd.engine._closed_form`, :mod:`pkpd.engine._expm_kernel`)."""

PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
          129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
          40840800.0, 960960.0, 16380.0, 182.0, 1.0)
THETA13 = 5.371920351148152
