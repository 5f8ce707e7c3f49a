"""Fits the float64 erfc of src/codegen/math64.rs and prints its coefficients as Rust constants.

erfc(z), z >= 0, is computed in two regions:
- z < 0.5: 1 - erf(z), erf(z) = z P(z^2) with P the Taylor series of erf (exact coefficients
  2/sqrt(pi) (-1)^n / (n! (2n + 1)), rounded once);
- 0.5 <= z <= 27.3: t G(v) exp(-z^2) with t = K / (K + z), v = A t + B mapping t to [0, 2], and
  G(v) = erfcx(z) / t, a smooth function of t (erfcx(z) = exp(z^2) erfc(z)); G is the Chebyshev
  interpolant of degree D computed in 60-digit arithmetic (mpmath), converted to powers of v.
  In powers of v (rather than of v - 1, the Chebyshev variable) the partial sums of Horner's
  rule never exceed the result by more than 2 %, so its rounding errors are not amplified.
Beyond 27.3, erfc underflows to 0 in float64. The script prints the truncation error of both
approximations in exact arithmetic; the error of the emitted float64 code is measured by the
tests in src/codegen/math64.rs against the C library's erfc.

Run with the fixture venv (tests/fixtures/requirements.txt, which pins mpmath):
python scripts/fit_erfc.py
"""
import mpmath as mp
from math import comb
from numpy.polynomial import chebyshev as C

mp.mp.dps = 60
K, ZLO, ZHI, D, TAYLOR = 4, mp.mpf("0.5"), mp.mpf("27.3"), 19, 13


def erfcx(z):
    return mp.exp(z * z) * mp.erfc(z)


tlo, thi = K / (K + ZHI), K / (K + ZLO)
A = 2 / (thi - tlo)
B = -tlo * A
# Round A and B first: the code computes v from them, so G is fitted against that v.
A, B = mp.mpf(float(A)), mp.mpf(float(B))


def g_of_u(u):
    t = (u + 1 - B) / A
    return erfcx(K / t - K) / t


N = D + 1
nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / N) for k in range(N)]
vals = [g_of_u(u) for u in nodes]
cheb = [
    mp.fsum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / N) for k in range(N)) * (2 if j else 1) / N
    for j in range(N)
]
in_u = [mp.mpf(0)] * N
for j, cj in enumerate(cheb):
    for k, tk in enumerate(C.cheb2poly([0] * j + [1])):
        in_u[k] += cj * int(tk)
# u^k = (v - 1)^k
power = [
    mp.fsum(in_u[k] * comb(k, j) * (-1) ** (k - j) for k in range(j, N)) for j in range(N)
]
power = [mp.mpf(float(a)) for a in power]  # as stored


def g_approx(u):
    return mp.polyval(power[::-1], u + 1)


# u = v - 1 over [-1, 1]: z in [0.5, 27.3].
worst = max(abs(g_approx(u) / g_of_u(u) - 1) for u in mp.linspace(-1, 1, 3001))
print(f"# G: degree {D}, max relative error in exact arithmetic {float(worst):.2e}")
taylor = [
    mp.mpf(float(2 / mp.sqrt(mp.pi) * (-1) ** n / (mp.factorial(n) * (2 * n + 1))))
    for n in range(TAYLOR)
]
worst_t = max(
    abs(z * mp.polyval(taylor[::-1], z * z) / mp.erf(z) - 1) for z in mp.linspace(1e-6, 0.5, 2001)
)
print(f"# erf Taylor: {TAYLOR} terms, max relative error on (0, 0.5] {float(worst_t):.2e}")
print(f"const ERFC_K: f64 = {float(K)!r};")
print(f"const ERFC_A: f64 = {float(A)!r};")
print(f"const ERFC_B: f64 = {float(B)!r};")
print(f"const ERFC_G: [f64; {N}] = [")
for a in power:
    print(f"    {float(a)!r},")
print("];")
print(f"const ERF_TAYLOR: [f64; {TAYLOR}] = [")
for a in taylor:
    print(f"    {float(a)!r},")
print("];")
