"""Small compiled helpers shared by the model kernels (Numba, inlined into them)."""

from __future__ import annotations

from numba import njit

__all__ = ["real_pow"]


@njit(cache=True, inline="always")
def real_pow(x, n):
    """``x**n`` for ``x >= 0``, by multiplication when ``n`` is 1, 2, 3 or 4.

    Hill coefficients and similar exponents are parameters (so the compiler cannot
    see them), and are almost always small integers.  ``pow`` costs about 10 ns;
    one to three multiplications cost under 1 ns, and agree with it to the last
    bit or two (the correctly rounded product(s) against libm's ``pow``).
    """
    if n == 1.0:
        return x
    if n == 2.0:
        return x * x
    if n == 3.0:
        return x * x * x
    if n == 4.0:
        xx = x * x
        return xx * xx
    return x ** n
