"""Fits the float32 tanh of src/codegen/math.rs: tanh(x) ~= x P(x^2) / Q(x^2) on [0, 9].

Iteratively reweighted least squares on the relative error (scipy's Levenberg-Marquardt),
weights pushed towards the worst points so the fit approaches minimax; then the fit is
evaluated exactly as the generated code does (float32 Horner, clamp at +-9) over a dense grid.
Run with the fixture venv: python scripts/fit_tanh.py (prints the coefficients and errors).
"""
import numpy as np
from scipy.optimize import least_squares
C = 9.0
m, n = 6, 3   # P: coeffs of z^0..z^6 (x*P(z) is degree 13), Q: z^0..z^3 (degree 6), Q0 = 1
x = np.concatenate([np.linspace(1e-6, 1, 3000), np.linspace(1, C, 6000)])
y = np.tanh(x); z = x*x
def model(c):
    p = c[:m+1]; q = np.concatenate([[1.0], c[m+1:]])
    return x*np.polyval(p[::-1], z)/np.polyval(q[::-1], z)
# start: Pade-like via linear least squares on small range
best = None
rng = np.random.default_rng(1)
w = np.ones_like(x)
c0 = np.zeros(m+1+n); c0[0] = 1.0
for it in range(60):
    r = lambda c: w*(model(c)-y)/y
    res = least_squares(r, c0, method='lm', max_nfev=20000, xtol=1e-15, ftol=1e-15)
    c0 = res.x
    e = np.abs((model(c0)-y)/y)
    w = w*(1+e/e.max())**2; w /= w.max()
print("max rel (f64 eval)", np.abs((model(c0)-y)/y).max())
p = c0[:m+1]; q = np.concatenate([[1.0], c0[m+1:]])
def eval32(x):
    x = np.clip(x.astype(np.float32), np.float32(-C), np.float32(C)); zz = (x*x).astype(np.float32)
    P = np.float32(p[-1])
    for c in p[-2::-1]: P = (P*zz + np.float32(c)).astype(np.float32)
    Q = np.float32(q[-1])
    for c in q[-2::-1]: Q = (Q*zz + np.float32(c)).astype(np.float32)
    return ((x*P).astype(np.float32)/Q).astype(np.float32)
xs = np.concatenate([np.linspace(-12, 12, 4_000_001), np.logspace(-30, 1.1, 200000), -np.logspace(-30, 1.1, 200000)]).astype(np.float32)
ref = np.tanh(xs.astype(np.float64)); got = eval32(xs).astype(np.float64)
ae = np.abs(got-ref); re = ae/np.maximum(np.abs(ref), 1e-38)
print("f32 eval: max abs", ae.max(), "max rel", re.max(), "at", xs[re.argmax()], "max |y|", np.abs(got).max())
print("p =", [float(v) for v in p]); print("q =", [float(v) for v in q])
print("Q>0 on range:", (np.polyval(q[::-1], np.linspace(0, C*C, 100000)) > 0).all())
