"""Builds the two baselines from their published packages, for the four tracking models.

  scikinC (PyPI `scikinc`): exactly the LHCb deployment notebook's recipe
      - classifiers (acceptance, efficiency): one sklearn Pipeline([tX, collapsed DNN])
        -> scikinC generates NAME (whole chain) and NAME_tX / NAME_dnn (steps);
      - GANs (resolution, covariance): NAME_tX, NAME_dnn, NAME_tY converted separately,
        glued by the notebook's hand-written gan_pipelines.c (NAME(out, in, noise));
      - all in one generated.C, compiled with the notebook's gcc command
        (gcc generated.C gan_pipelines.c -D... -O3 -lm --shared -fPIC).
  ONNX (PyPI `onnx`, `tf2onnx` through Keras' own exporter): each Keras network alone
      (no scikit-learn), `model.export(path, format="onnx")`, plus a one-node Identity
      model used by ort_bench.py to estimate the fixed per-call overhead.

Writes OUT/baselines.json with what it did (times, parameter counts, checks).
No timing assertions anywhere: this only builds and records.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

MODELS = ["acceptance", "efficiency", "resolution", "covariance"]
GENERATORS = {"resolution", "covariance"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    repo, out = os.path.abspath(args.repo), os.path.abspath(args.out)
    here = os.path.dirname(os.path.abspath(__file__))
    # DecorrTransformer (covariance tY) is pickled as lhcb_preprocessing.DecorrTransformer.
    sys.path.insert(0, os.path.join(repo, "tests", "fixtures"))
    sys.path.insert(0, here)

    import joblib
    import keras
    from sklearn.pipeline import Pipeline
    import scikinC
    import scikinc_adapter

    info = {"models": {}, "versions": {}}
    import sklearn, onnx, onnxruntime, tf2onnx, tensorflow as tf
    info["versions"] = {
        "scikinC": _dist_version("scikinc"), "keras": keras.__version__,
        "tensorflow": tf.__version__, "scikit-learn": sklearn.__version__,
        "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
        "tf2onnx": tf2onnx.__version__, "numpy": np.__version__,
    }

    scdir = os.path.join(out, "scikinc")
    oxdir = os.path.join(out, "onnx")
    for d in (scdir, oxdir):
        os.makedirs(d, exist_ok=True)

    scikinc_adapter.register_scikinc_layer()
    to_convert = {}
    loaded = {}
    for name in MODELS:
        mdir = os.path.join(repo, "examples", "tracking", name)
        chk = os.path.join(mdir, "check")
        model = keras.saving.load_model(os.path.join(mdir, "model.keras"), compile=False)
        tX = joblib.load(os.path.join(mdir, "tX.pkl"))
        tY = joblib.load(os.path.join(mdir, "tY.pkl")) if os.path.exists(os.path.join(mdir, "tY.pkl")) else None
        collapsed = scikinc_adapter.collapse_to_sequential(model)

        # Sanity check of the collapse (the notebook compares original vs collapsed too).
        x = np.load(os.path.join(chk, "dnn_input.npy"))
        if name in GENERATORS:
            z = np.load(os.path.join(chk, "noise.npy"))
            y_orig = model.predict([x, z], verbose=0)
            y_col = collapsed.predict(np.concatenate([x, z], axis=1), verbose=0)
        else:
            y_orig = model.predict(x, verbose=0)
            y_col = collapsed.predict(x, verbose=0)
        diff = float(np.max(np.abs(y_orig - y_col)))
        if not diff <= 1e-4:
            raise SystemExit("collapse of %s changed the network: max |diff| = %g" % (name, diff))
        loaded[name] = model
        info["models"][name] = {
            "params": int(model.count_params()),
            "collapsed_params": int(collapsed.count_params()),
            "collapse_max_abs_diff": diff,
            "n_inputs": int(tX.n_features_in_),
            "n_noise": int(model.inputs[1].shape[-1]) if name in GENERATORS else 0,
            "n_outputs": int(model.outputs[0].shape[-1]),
        }
        if name in GENERATORS:
            to_convert[name + "_tX"] = tX
            to_convert[name + "_dnn"] = collapsed
            to_convert[name + "_tY"] = tY
        else:
            # Same as the notebook's LamarrModel.pipeline: preprocessing + DNN in one Pipeline.
            to_convert[name] = Pipeline([("tX", tX), ("dnn", collapsed)])

    # ---- scikinC: generate C ------------------------------------------------------------
    t0 = time.perf_counter()
    code = scikinC.convert(to_convert)
    info["scikinc_convert_s"] = time.perf_counter() - t0
    gen_c = os.path.join(scdir, "generated.C")  # .C: gcc compiles it as C++ (scikinC emits extern "C")
    with open(gen_c, "w") as f:
        print(code, file=f)
    shutil.copy(os.path.join(here, "gan_pipelines.c"), os.path.join(scdir, "gan_pipelines.c"))
    info["scikinc_generated_c_bytes"] = os.path.getsize(gen_c)

    # ---- scikinC: compile exactly as the notebook -------------------------------------
    m = info["models"]
    lib = os.path.join(scdir, "libscikinc.so")
    cmd = [
        "gcc", gen_c, os.path.join(scdir, "gan_pipelines.c"),
        "-D", "RESOLUTION_NUM_FEATURES=%d" % m["resolution"]["n_inputs"],
        "-D", "RESOLUTION_NUM_OUTPUTS=%d" % m["resolution"]["n_outputs"],
        "-D", "RESOLUTION_NUM_RANDOM=%d" % m["covariance"]["n_noise"],  # sic: the notebook uses cov_rnd
        "-D", "COVARIANCE_NUM_FEATURES=%d" % m["covariance"]["n_inputs"],
        "-D", "COVARIANCE_NUM_OUTPUTS=%d" % m["covariance"]["n_outputs"],
        "-D", "COVARIANCE_NUM_RANDOM=%d" % m["covariance"]["n_noise"],
        "-o", lib, "-O3", "-lm", "--shared", "-fPIC",
    ]
    info["scikinc_gcc_cmd"] = " ".join(cmd)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    info["scikinc_gcc_s"] = time.perf_counter() - t0
    info["scikinc_so_bytes"] = os.path.getsize(lib)
    print("scikinC: generated %.1f MB of C in %.1fs, gcc -O3 took %.1fs -> %s" % (
        info["scikinc_generated_c_bytes"] / 1e6, info["scikinc_convert_s"], info["scikinc_gcc_s"], lib),
        flush=True)

    # ---- ONNX: network only, through Keras' exporter (tf2onnx under the hood) ------------
    t0 = time.perf_counter()
    for name in MODELS:
        path = os.path.join(oxdir, name + ".onnx")
        loaded[name].export(path, format="onnx", verbose=False)
        info["models"][name]["onnx_bytes"] = os.path.getsize(path)
    _write_identity_model(os.path.join(oxdir, "identity.onnx"))
    info["onnx_export_s"] = time.perf_counter() - t0
    print("ONNX: exported 4 networks in %.1fs -> %s" % (info["onnx_export_s"], oxdir), flush=True)

    with open(os.path.join(out, "baselines.json"), "w") as f:
        json.dump(info, f, indent=2)


def _write_identity_model(path):
    """One Identity node on a (N, 12) float input: the cheapest possible session.run."""
    import onnx
    from onnx import helper, TensorProto
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 12])
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    mdl = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    mdl.ir_version = 8
    onnx.checker.check_model(mdl)
    onnx.save(mdl, path)


def _dist_version(dist):
    from importlib.metadata import version
    return version(dist)


if __name__ == "__main__":
    main()
