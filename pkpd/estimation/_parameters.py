"""The estimated quantities of a population model as one vector, and back.

Fixed effects are estimated on their transform's scale (log, logit or as given, see
:meth:`PopulationModel.to_internal`); each block of Omega through its Cholesky factor (log of the diagonal,
off-diagonal entries as they are; a 1 x 1 block is ``log omega^2``; between-occasion variability is one more
block, ``IOV_<parameter>``, shared by every occasion); residual error parameters on the log
scale. ``reported`` maps the vector to the quantities a user reads (typical values, variances and
covariances, error parameters), whose covariance follows by the delta method.
"""

from __future__ import annotations

import numpy as np

from ..population.model import omega_blocks

__all__ = ["Parameterisation"]


class Parameterisation:
    def __init__(self, popmodel):
        pm = self.pm = popmodel
        self.free = list(pm.estimated)
        self._backward = [pm.backward_transform(k) for k in self.free]    # (internal -> natural scale, per entry)
        self.fixed = {k: v for k, v in pm.theta_values.items() if k not in self.free}
        self.eta = list(pm.random_effect_names)
        matrix = pm.random_effect_matrix
        self.blocks = omega_blocks(matrix)
        error = pm.bound_error(np.zeros(0, dtype=int))
        all_errors = error.parameters
        self.err_names = list(getattr(error, "free_parameters", [] if error.fixed else list(all_errors)))
        self.err_fixed = {k: float(v) for k, v in all_errors.items() if k not in self.err_names}
        names, x0 = [f"{pm.transform_of(k)}_{k}" if pm.transform_of(k) != "identity" else k for k in self.free], \
            [pm.to_internal(k, pm.theta_values[k]) for k in self.free]
        for block in self.blocks:
            sub = matrix[np.ix_(block, block)]
            if len(block) == 1:
                names.append(f"log_omega2_{self.eta[block[0]]}")
                x0.append(float(np.log(sub[0, 0])))
                continue
            chol = np.linalg.cholesky(sub)
            for a in range(len(block)):
                for b in range(a + 1):
                    ea, eb = self.eta[block[a]], self.eta[block[b]]
                    names.append(f"log_chol_{ea}" if a == b else f"chol_{ea}_{eb}")
                    x0.append(float(np.log(chol[a, a]) if a == b else chol[a, b]))
        names += [f"log_{k}" for k in self.err_names]
        x0 += [float(np.log(max(float(all_errors[k]), 1e-12))) for k in self.err_names]
        self.names, self.x0 = names, np.array(x0, dtype=float)

    def unpack(self, x):
        """``(theta, omega matrix, sigma)`` from the vector."""
        x = np.asarray(x, dtype=float)
        k = len(self.free)
        theta = {**self.fixed, **{n: float(back(v)) for n, back, v in zip(self.free, self._backward, x[:k])}}
        q = len(self.eta)
        omega = np.zeros((q, q))
        for block in self.blocks:
            m = len(block)
            if m == 1:
                omega[block[0], block[0]] = np.exp(x[k])
                k += 1
                continue
            chol = np.zeros((m, m))
            for a in range(m):
                for b in range(a + 1):
                    chol[a, b] = np.exp(x[k]) if a == b else x[k]
                    k += 1
            omega[np.ix_(block, block)] = chol @ chol.T
        sigma = {**self.err_fixed, **dict(zip(self.err_names, np.exp(x[k:])))}
        return theta, omega, sigma

    # -- the quantities reported ---------------------------------------------------------------------
    def reported_names(self):
        names = list(self.free)
        for block in self.blocks:
            for a in range(len(block)):
                for b in range(a + 1):
                    ea, eb = self.eta[block[a]], self.eta[block[b]]
                    names.append(f"omega2_{ea}" if a == b else f"omega_{ea}_{eb}")
        return names + [f"sigma_{k}" for k in self.err_names]

    def reported(self, x):
        theta, omega, sigma = self.unpack(x)
        values = [theta[n] for n in self.free]
        for block in self.blocks:
            for a in range(len(block)):
                for b in range(a + 1):
                    values.append(omega[block[a], block[b]])
        return np.array(values + [sigma[k] for k in self.err_names], dtype=float)

    def reported_covariance(self, x, cov):
        """Covariance of :meth:`reported` by the delta method (central-difference Jacobian)."""
        x = np.asarray(x, dtype=float)
        jac = np.empty((len(self.reported_names()), len(x)))
        for j in range(len(x)):
            h = 1e-6 * max(abs(x[j]), 1.0)
            step = np.zeros_like(x)
            step[j] = h
            jac[:, j] = (self.reported(x + step) - self.reported(x - step)) / (2 * h)
        return jac @ cov @ jac.T
