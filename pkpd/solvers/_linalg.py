"""Small dense LU factorisation with partial pivoting, for the implicit solvers.

Numba cannot call ``scipy.linalg.lu_factor`` from compiled code, and the systems
an implicit step solves are small (n <= ~40 states), so plain loops are enough.
Both functions are generic: Numba compiles one version for float64 and one for
complex128 arrays (Radau IIA needs a real and a complex system per step).

The algorithm is Doolittle's elimination with row pivoting on the largest entry
(``|Re| + |Im|`` for complex entries, as LAPACK's ``zgetrf`` does), the one LAPACK's ``getrf``/``getrs`` implement (Golub & Van Loan, Matrix
Computations, 4th ed., Algorithms 3.4.1 and 3.4.2).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def _cabs1(z):
    """|Re z| + |Im z| (|z| for a real z): the pivot size LAPACK's getrf uses for complex
    matrices (BLAS ``icamax``/``dcabs1``), free of the square root of ``abs``."""
    return abs(z.real) + abs(z.imag)


@njit(cache=True)
def lu_factor(a, piv):
    """Factor ``P a = L U`` in place.

    Parameters
    ----------
    a : ndarray, shape (n, n), float64 or complex128
        Matrix to factor; overwritten with ``L`` (unit diagonal, not stored) below
        the diagonal and ``U`` on and above it.
    piv : ndarray, shape (n,), int64
        Output: row ``k`` was swapped with row ``piv[k]`` at elimination step ``k``
        (LAPACK convention, 0-based).

    Returns
    -------
    info : int
        0 on success; ``k + 1`` if the pivot of column ``k`` was exactly zero (the
        matrix is singular and :func:`lu_solve` would divide by zero).
    """
    n = a.shape[0]
    info = 0
    for k in range(n):
        p = k
        amax = _cabs1(a[k, k])
        for i in range(k + 1, n):
            v = _cabs1(a[i, k])
            if v > amax:
                amax = v
                p = i
        piv[k] = p
        if amax == 0.0:
            if info == 0:
                info = k + 1
            continue
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            lik = a[i, k] * inv
            a[i, k] = lik
            if lik != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= lik * a[k, j]
    return info


@njit(cache=True)
def lu_solve(lu, piv, b):
    """Solve ``a x = b`` in place from the factors :func:`lu_factor` returned.

    Parameters
    ----------
    lu : ndarray, shape (n, n), float64 or complex128
        Factors from :func:`lu_factor`.
    piv : ndarray, shape (n,), int64
        Pivot indices from :func:`lu_factor`.
    b : ndarray, shape (n,), same dtype as ``lu``
        Right-hand side; overwritten with the solution ``x``.
    """
    n = lu.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(1, n):           # forward substitution, L has a unit diagonal
        s = b[i]
        for j in range(i):
            s -= lu[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):  # back substitution with U
        s = b[i]
        for j in range(i + 1, n):
            s -= lu[i, j] * b[j]
        b[i] = s / lu[i, i]
