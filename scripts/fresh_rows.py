"""The tracking library as a user checks it: build/libLamarr.so (scripts/example.sh) loaded with
ctypes, against Keras predict + scikit-learn run live on 4000 fresh rows per model (each check
input column resampled, fresh noise). Prints, per model, the largest difference, how many values
miss the chain tolerance 1e-4 + 1e-3 |ref|, and of those how many agree before the tY inverse
within the network's 1e-5 + 1e-4 |z| (lamarrc validate's criterion).

    python scripts/fresh_rows.py [build/libLamarr.so]     # in the fixture venv
"""
import ctypes
import os
import sys

import joblib
import keras
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))  # DecorrTransformer (covariance tY)
import lhcb_preprocessing  # noqa: E402,F401

so = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "libLamarr.so")
lib = ctypes.CDLL(so)
P = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
rng = np.random.default_rng(2026)
for m in ["acceptance", "efficiency", "resolution", "covariance"]:
    d = os.path.join(ROOT, "examples", "tracking", m)
    X0 = np.load(d + "/check/input.npy")[:200]
    # fresh rows: check rows resampled column by column (new combinations, same marginals)
    X = np.stack([rng.choice(X0[:, j], 4000) for j in range(X0.shape[1])], 1).astype(np.float32)
    tX = joblib.load(d + "/tX.pkl"); net = keras.models.load_model(d + "/model.keras")
    xin = tX.transform(X.astype(np.float64)).astype(np.float32)
    gen = len(net.inputs) == 2
    if gen:
        R = rng.normal(size=(len(X), net.inputs[1].shape[1])).astype(np.float32)
        z = net.predict([xin, R], verbose=0, batch_size=4000)
    else:
        z = net.predict(xin, verbose=0, batch_size=4000)
    ref = z.astype(np.float64)
    tY = joblib.load(d + "/tY.pkl") if os.path.exists(d + "/tY.pkl") else None
    if tY is not None:
        ref = tY.inverse_transform(ref)
    f = getattr(lib, m + "_batch")
    y = np.empty(ref.shape, np.float32)
    if gen:
        f.argtypes = [P, P, P, ctypes.c_size_t]; f(y, X, R, len(X))
    else:
        f.argtypes = [P, P, ctypes.c_size_t]; f(y, X, len(X))
    row = getattr(lib, m); row.restype = ctypes.c_void_p
    y1 = np.empty(ref.shape[1], np.float32)
    if gen:
        row.argtypes = [P, P, P]; row(y1, X[7].copy(), R[7].copy())
    else:
        row.argtypes = [P, P]; row(y1, X[7].copy())
    bad = np.abs(y - ref) > 1e-4 + 1e-3 * np.abs(ref)
    print(f"{m}: {len(X)} fresh rows, max |y-ref| {np.abs(y-ref).max():.2e}, beyond 1e-4+1e-3|ref|: {bad.sum()} of {bad.size}; row call == batch row: {np.array_equal(y1, y[7])}")
    if tY is not None and bad.any():
        zy = tY.transform(y.astype(np.float64)); zr = tY.transform(ref)
        ok = np.abs(zy - zr) <= 1e-5 + 1e-4 * np.abs(zr)
        print(f"  {m}: of the {bad.sum()} beyond, {(bad & ok).sum()} agree before the tY inverse within 1e-5+1e-4|z|")
