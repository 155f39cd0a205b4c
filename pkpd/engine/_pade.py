"""Pade(13) coefficients and the 1-norm bound below which the [13/13] approximant of ``exp`` is accurate to double
precision (Higham 2005, SIAM J. Matrix Anal. Appl. 26:1179, Table 2.3 and Algorithm 2.3): shared by the numpy and
the compiled matrix exponentials (:mod:`pkpd.engine._closed_form`, :mod:`pkpd.engine._expm_kernel`)."""

PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
          129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
          40840800.0, 960960.0, 16380.0, 182.0, 1.0)
THETA13 = 5.371920351148152

#: the lower-degree approximants of the same algorithm, each used while the 1-norm is below its bound (Higham 2005,
#: Table 2.3): a short interval (a small ``A h``) needs two matrix products instead of six
PADE_LOW = {3: (120.0, 60.0, 12.0, 1.0),
            5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
            7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
            9: (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0, 3960.0,
                90.0, 1.0)}
THETA_LOW = {3: 1.495585217958292e-2, 5: 2.539398330063230e-1, 7: 9.504178996162932e-1, 9: 2.097847961257068}
