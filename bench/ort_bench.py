"""ONNX Runtime timings of the four tracking networks (network only, no scikit-learn steps).

Session: intra_op_num_threads=1, inter_op_num_threads=1, ORT_SEQUENTIAL, all graph
optimisations, CPUExecutionProvider; the process is pinned to one CPU when --cpu is given.

Measured (median over --reps repetitions; the rows of dnn_input.npy [+ noise.npy] cycle):
  b1_incl_py_ns   one session.run per row, batch 1, as seen from Python (feeds prebuilt)
  noop_ns         one session.run of a one-node Identity model on a (1, 12) input: the fixed
                  cost of a call (Python binding + ORT's per-run bookkeeping)
  b1_excl_py_ns   b1_incl_py_ns - noop_ns: an estimate of the network's own cost inside ORT.
                  It also removes ORT's fixed per-run cost, so it is a lower bound of what a
                  C++ caller of ORT would see.
  b256_ns         one session.run on 256 rows, per row
Also records the max |ORT - dnn_expected.npy| (recorded, never judged). No assertions.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

MODELS = ["acceptance", "efficiency", "resolution", "covariance"]


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def time_calls(sess, feeds, calls):
    """ns per session.run over `calls` calls cycling through `feeds` (list of dicts)."""
    run = sess.run
    n = len(feeds)
    t0 = time.perf_counter_ns()
    for k in range(calls):
        run(None, feeds[k % n])
    return (time.perf_counter_ns() - t0) / calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx-dir", required=True)
    ap.add_argument("--check-root", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--cpu", type=int, default=-1)
    args = ap.parse_args()
    if args.cpu >= 0:
        try:
            os.sched_setaffinity(0, {args.cpu})
        except OSError:
            pass
    reps = max(5, args.reps)
    res = {"config": {"reps": reps, "calls": args.calls, "onnxruntime": ort.__version__,
                      "threads": 1, "execution_mode": "ORT_SEQUENTIAL"}}

    # fixed per-call cost: Identity on (1, 12)
    ident = session(os.path.join(args.onnx_dir, "identity.onnx"))
    x1 = np.zeros((1, 12), np.float32)
    ifeeds = [{"x": x1}]
    time_calls(ident, ifeeds, args.calls // 10)
    noop = []

    for name in MODELS:
        chk = os.path.join(args.check_root, name, "check")
        x = np.load(os.path.join(chk, "dnn_input.npy")).astype(np.float32)
        z = np.load(os.path.join(chk, "noise.npy")).astype(np.float32) if os.path.exists(
            os.path.join(chk, "noise.npy")) else None
        ref = np.load(os.path.join(chk, "dnn_expected.npy"))
        sess = session(os.path.join(args.onnx_dir, name + ".onnx"))
        names = [i.name for i in sess.get_inputs()]
        arrays = [x] if z is None else [x, z]
        if len(names) != len(arrays):
            raise SystemExit("%s.onnx has %d inputs, expected %d" % (name, len(names), len(arrays)))
        rows = x.shape[0]
        row_feeds = [{n: np.ascontiguousarray(a[r:r + 1]) for n, a in zip(names, arrays)} for r in range(rows)]
        full_feed = {n: np.ascontiguousarray(a) for n, a in zip(names, arrays)}

        y = sess.run(None, full_feed)[0]
        max_abs = float(np.max(np.abs(y - ref)))

        time_calls(sess, row_feeds, args.calls // 10)  # warm-up
        n256 = max(1, -(-args.calls // rows))  # >= calls rows per repetition
        b1, b256, nz = [], [], []
        for _ in range(reps):  # alternate: no-op, batch 1, batch 256
            nz.append(time_calls(ident, ifeeds, args.calls))
            b1.append(time_calls(sess, row_feeds, args.calls))
            b256.append(time_calls(sess, [full_feed], n256) / rows)
        noop += nz
        m_b1, m_nz = statistics.median(b1), statistics.median(nz)
        res[name] = {
            "b1_incl_py_ns": m_b1,
            "noop_ns": m_nz,
            "b1_excl_py_ns": m_b1 - m_nz,
            "b256_ns": statistics.median(b256),
            "b1_min_max_ns": [min(b1), max(b1)],
            "b256_min_max_ns": [min(b256), max(b256)],
            "max_abs_vs_dnn_expected": max_abs,
            "inputs": names,
        }
        print("  %-11s ORT batch 1: %8.1f ns/row (incl. Python), %8.1f (minus no-op %.0f); "
              "batch 256: %8.1f ns/row; max|diff| %.2g" % (
                  name, m_b1, m_b1 - m_nz, m_nz, res[name]["b256_ns"], max_abs), flush=True)
    res["noop_ns"] = statistics.median(noop)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
