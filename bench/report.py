"""Merges harness.json, ort.json, baselines.json and lamarrc.json into one table.

Prints it and writes OUT/results.md. Only formats numbers: no thresholds, no assertions.
Ratios are "baseline time / lamarrc time": above 1 means lamarrc is faster.
"""

import argparse
import json
import os
import re
import subprocess

MODELS = ["acceptance", "efficiency", "resolution", "covariance"]


def load(path):
    with open(path) as f:
        return json.load(f)


def us(ns):
    return "—" if ns is None else ("%.2f" % (ns / 1e3) if ns < 1e4 else "%.1f" % (ns / 1e3))


def ratio(base, lam):
    if base is None or lam is None or lam <= 0:
        return "—"
    return "%.1f×" % (base / lam) if base / lam < 100 else "%.0f×" % (base / lam)


def mib(n):
    return "%.2f MiB" % (n / 2**20)


def sections(path):
    """ELF section sizes via binutils `size -A` (absent: {})."""
    try:
        out = subprocess.run(["size", "-A", path], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    sec = {}
    for line in out.splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+\d+", line)
        if m:
            sec[m.group(1)] = int(m.group(2))
    return sec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = a.out
    h = load(os.path.join(out, "harness.json"))
    o = load(os.path.join(out, "ort.json"))
    b = load(os.path.join(out, "baselines.json"))
    lam = load(os.path.join(out, "lamarrc.json"))
    g = h.get
    peak2 = g("peak.avx2_fma_gflops")
    peak5 = g("peak.avx512_fma_gflops")
    peak = max(p for p in (peak2, peak5) if p)
    notes = []
    L = []
    L.append("# lamarrc benchmark")
    L.append("")
    L.append("Machine: %s; avx2=%s avx512f=%s fma=%s; timings pinned to CPU %s, one thread." % (
        g("machine.cpu"), "yes" if g("machine.avx2") else "no", "yes" if g("machine.avx512f") else "no",
        "yes" if g("machine.fma") else "no", int(g("machine.pinned_cpu"))))
    L.append("Per-row figures: median over %d repetitions of %d calls (check rows cycled), µs per row. "
             "Ratio = baseline / lamarrc (>1: lamarrc faster)." % (int(g("config.reps")), int(g("config.calls"))))
    L.append("Load average at harness start / end: %s / %s (this machine is shared; see the spread note below)." % (
        g("machine.loadavg_start"), g("machine.loadavg_end")))
    L.append("")
    hdr = ["model", "params",
           "scikinC chain", "lamarrc chain", "ratio",
           "ORT net b1 (excl. Py)", "ORT net b1 (incl. Py)", "lamarrc net b1", "ratio",
           "ORT net b256", "lamarrc net b256", "ratio",
           "lamarrc b256 GFLOP/s", "% FMA peak"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * len(hdr)) + "|")
    for m in MODELS:
        params = lam["params"].get(m) or b["models"][m]["params"]
        has_dnn = g("%s.lamarrc.has_dnn" % m)
        sk_chain = g("%s.chain.A.ns" % m)
        lam_chain = g("%s.chain.B.ns" % m) if has_dnn else None
        lam_net = g("%s.net.B.ns" % m)
        om = o.get(m, {})
        ort_b1x, ort_b1i, ort_b256 = om.get("b1_excl_py_ns"), om.get("b1_incl_py_ns"), om.get("b256_ns")
        lam_b256 = g("%s.net_batch.b256.ns" % m)
        gflops = 2.0 * params / lam_b256 if lam_b256 else None
        L.append("| " + " | ".join([
            m, str(params),
            us(sk_chain), us(lam_chain) if has_dnn else "n/a¹", ratio(sk_chain, lam_chain),
            us(ort_b1x), us(ort_b1i), us(lam_net), ratio(ort_b1x, lam_net),
            us(ort_b256), us(lam_b256), ratio(ort_b256, lam_b256),
            "%.1f" % gflops if gflops else "—", "%.0f%%" % (100 * gflops / peak) if gflops else "—",
        ]) + " |")
        if not has_dnn:
            notes.append("¹ %s: the library has no `%s_dnn`, so `%s` is still the network alone; "
                         "whole-chain row skipped." % (m, m, m))
        if g("%s.lamarrc.net_batch_is_whole_chain" % m):
            notes.append("%s: no `%s_dnn_batch`; the batched column times `%s_batch` (whole chain)." % (m, m, m))
    L.append("")
    for n in notes:
        L.append(n)
    if notes:
        L.append("")
    syms = []
    for m in MODELS:
        syms.append("%s: net=`%s`, batched=`%s`" % (m, g("%s.net.B.sym" % m), g("%s.net_batch.sym" % m)))
    L.append("lamarrc symbols timed — " + "; ".join(syms) + ".")
    L.append("")

    # ---- library, compile, stack ---------------------------------------------------------
    so = lam["so_path"]
    so_bytes = os.path.getsize(so)
    raw = 4 * sum(lam["params"].get(m) or b["models"][m]["params"] for m in MODELS)
    sec = sections(so)
    sk_so = os.path.join(out, "scikinc", "libscikinc.so")
    sk_sec = sections(sk_so)
    ct = lam["compile_s"]
    L.append("## Library and compiler")
    L.append("")
    L.append("- lamarrc compile of the 4-model library (`%s`), wall clock: %s s (runs: %s)." % (
        lam["compile_cmd"], "%.2f" % sorted(ct)[len(ct) // 2], ", ".join("%.2f" % t for t in ct)))
    L.append("- lamarrc `.so`: %s (%d B) vs raw f32 network weights %s (%d B = 4 × %d params): %.2f×; "
             ".rodata %s, .text %s." % (
                 mib(so_bytes), so_bytes, mib(raw), raw, raw // 4, so_bytes / raw,
                 mib(sec[".rodata"]) if ".rodata" in sec else "?", mib(sec[".text"]) if ".text" in sec else "?"))
    L.append("- scikinC `.so`: %s (.rodata %s, .text %s) from %.1f MB of generated C; scikinC convert %.1f s, "
             "`gcc -O3` %.1f s." % (
                 mib(os.path.getsize(sk_so)), mib(sk_sec.get(".rodata", 0)), mib(sk_sec.get(".text", 0)),
                 b["scikinc_generated_c_bytes"] / 1e6, b["scikinc_convert_s"], b["scikinc_gcc_s"]))
    L.append("- ONNX export (keras `model.export(format=\"onnx\")`, tf2onnx %s) of the 4 networks: %.1f s." % (
        b["versions"]["tf2onnx"], b["onnx_export_s"]))
    L.append("- FMA peak, one core (harness microbenchmark, 12 independent FMA chains): 256-bit %.1f GFLOP/s%s. "
             "The %% column divides the batch-256 network FLOP rate (2 × params per row) by %.1f." % (
                 peak2, (", 512-bit %.1f GFLOP/s" % peak5) if peak5 else "", peak))
    L.append("")
    L.append("Stack bytes touched by one call (painted-stack thread; see README):")
    L.append("")
    L.append("| model | lamarrc row `NAME` | lamarrc `NAME_dnn` | lamarrc `NAME_batch` (256 rows) | scikinC `NAME` |")
    L.append("|---|---|---|---|---|")
    for m in MODELS:
        def st(k):
            v = g("%s.stack.%s.bytes" % (m, k))
            return "—" if v is None else "%d" % v
        L.append("| %s | %s | %s | %s | %s |" % (m, st("lamarrc_row"), st("lamarrc_net"),
                                             st("lamarrc_batch256"), st("scikinc_row")))
    L.append("")

    # ---- details --------------------------------------------------------------------------
    L.append("## Details (µs per row)")
    L.append("")
    hdr = ["model", "scikinC net", "lamarrc net", "ratio", "scikinC tX", "lamarrc tX",
           "scikinC tY⁻¹", "lamarrc tY⁻¹",
           "lamarrc net batch 1/16/256", "lamarrc chain batch 1/16/256"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * len(hdr)) + "|")
    for m in MODELS:
        def bt(k):
            v = [g("%s.%s.b%d.ns" % (m, k, s)) for s in (1, 16, 256)]
            return "—" if v[0] is None else " / ".join(us(x) for x in v)
        L.append("| " + " | ".join([
            m, us(g("%s.net.A.ns" % m)), us(g("%s.net.B.ns" % m)), ratio(g("%s.net.A.ns" % m), g("%s.net.B.ns" % m)),
            us(g("%s.tX.A.ns" % m)), us(g("%s.tX.B.ns" % m)),
            us(g("%s.tYinv.A.ns" % m)), us(g("%s.tYinv.B.ns" % m)),
            bt("net_batch"), bt("chain_batch"),
        ]) + " |")
    L.append("")
    L.append("Agreement with the Keras / scikit-learn references (max |y − ref| over the 256 check rows; "
             "recorded, not judged):")
    L.append("")
    L.append("| model | lamarrc chain vs expected | lamarrc net vs dnn_expected | scikinC chain vs expected | "
             "scikinC net vs dnn_expected | ORT net vs dnn_expected |")
    L.append("|---|---|---|---|---|---|")
    for m in MODELS:
        def ag(k):
            v = g("%s.agree.%s.max_abs" % (m, k))
            return "—" if v is None else "%.2g" % v
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            m, ag("lamarrc_chain"), ag("lamarrc_net"), ag("scikinc_chain"), ag("scikinc_net"),
            "%.2g" % o[m]["max_abs_vs_dnn_expected"] if m in o else "—"))
    L.append("")
    L.append("ORT fixed per-call cost (Identity model, batch 1, from Python): %.2f µs; ORT %s, scikinC %s, "
             "keras %s, tensorflow %s." % (o["noop_ns"] / 1e3, b["versions"]["onnxruntime"],
                                           b["versions"]["scikinC"], b["versions"]["keras"],
                                           b["versions"]["tensorflow"]))
    spreads = []
    for k, v in h.items():
        if k.endswith(".ns") and v:
            base = k[:-3]
            lo, hi = h.get(base + ".min"), h.get(base + ".max")
            if lo is not None and hi is not None:
                spreads.append(((hi - lo) / v, base))
    for m in MODELS:
        if m in o:
            for kk in ("b1", "b256"):
                lo, hi = o[m][kk + "_min_max_ns"]
                spreads.append(((hi - lo) / o[m][kk + ("_incl_py_ns" if kk == "b1" else "_ns")], "ort.%s.%s" % (m, kk)))
    if spreads:
        spreads.sort()
        med = spreads[len(spreads) // 2][0]
        L.append("Run-to-run spread of the repetitions, (max − min) / median: median %.0f%%, worst %.0f%% (%s)." % (
            100 * med, 100 * spreads[-1][0], spreads[-1][1]))
    text = "\n".join(L) + "\n"
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
