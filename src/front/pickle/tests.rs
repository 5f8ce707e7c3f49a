//! Unit tests over byte strings (produced by the Python shown above each constant, with
//! Python 3.11, numpy 2.4, joblib 1.5) and, when present, the fixtures under
//! tests/fixtures/sklearn.

use super::*;
use std::io::Write as _;

fn ld(b: &[u8]) -> Result<Value, PickleError> {
    load(b, &default_policy, &Limits::default())
}

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

fn arr(shape: &[usize], data: ArrayData) -> Value {
    Value::Array(NdArray {
        shape: shape.to_vec(),
        data,
    })
}

fn err(b: &[u8]) -> String {
    ld(b).expect_err("should fail").to_string()
}

fn replace(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn scaler_object_and_helpers() {
    // numpy 1.x spells the module numpy.core; protocol 2 has it in text GLOBAL lines.
    let old = replace(SCALER_P2, b"numpy._core.", b"numpy.core.");
    for b in [SCALER_P2, SCALER_P5, &old] {
        let v = ld(b).unwrap();
        let path = v.class_path();
        assert_eq!(
            path.as_deref(),
            Some("sklearn.preprocessing._data.StandardScaler")
        );
        assert_eq!(v.attr("with_mean").and_then(Value::as_bool), Some(true));
        assert_eq!(v.attr("n_features_in_").and_then(Value::as_i64), Some(2));
        let mean = v.attr("mean_").unwrap();
        assert_eq!(mean, &arr(&[2], ArrayData::F64(vec![1.0, 2.5])));
        assert_eq!(mean.as_f64_vec(), Some(vec![1.0, 2.5]));
        assert_eq!(v.attr("n_samples_seen_"), Some(&Value::Int(10)));
        let names = v
            .attr("feature_names_in_")
            .and_then(Value::as_array)
            .unwrap();
        assert_eq!(names.strings(), Some(vec!["a", "b"]));
        assert!(v.attr("nope").is_none() && v.as_f64().is_none());
    }
}

#[test]
fn numpy_scalars_and_arrays() {
    let v = ld(SCALAR_P3).unwrap();
    let want = [
        Value::Float(1.5),
        Value::Float(2.0),
        Value::Int(-3),
        Value::Bool(true),
    ];
    assert_eq!(v, Value::List(want.to_vec()));

    let v = ld(ARRAYS_P3).unwrap();
    let want = vec![
        arr(&[2, 3], ArrayData::I32(vec![0, 1, 2, 3, 4, 5])), // Fortran i1 -> C order
        arr(&[3], ArrayData::I32(vec![0, 1, 2])),             // big-endian i4
        arr(&[1, 2], ArrayData::Object(vec![s("ab"), s("c")])), // U2
        arr(&[], ArrayData::F64(vec![5.0])),                  // 0-d
        arr(&[0, 2], ArrayData::F32(vec![])),
    ];
    assert_eq!(v, Value::List(want));
    assert_eq!(v.as_seq().unwrap()[3].as_f64(), Some(5.0));

    let v = ld(ARRAYS_P5).unwrap();
    let want = vec![
        arr(&[2, 3], ArrayData::F64(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])),
        arr(&[2], ArrayData::Bool(vec![true, false])),
        arr(&[2], ArrayData::U8(vec![1, 255])),
        arr(&[2], ArrayData::Object(vec![s("x"), Value::None])),
    ];
    assert_eq!(v, Value::List(want));
}

#[test]
fn bad_arrays_are_errors() {
    // Data length does not match shape x itemsize (3 f8 elements claimed, 2 given).
    let short = replace(
        SCALER_P5,
        b"K\x02\x85\x94\x8c\x01C",
        b"K\x03\x85\x94\x8c\x01C",
    );
    assert!(
        err(&short).contains("needs 24 bytes, found 16"),
        "{}",
        err(&short)
    );
    // Shape whose element count overflows.
    let huge = replace(
        SCALER_P5,
        b"K\x02\x85\x94\x8c\x01C",
        b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x87\x94\x8c\x01C",
    );
    assert!(err(&huge).contains("overflows"), "{}", err(&huge));
    // A structured dtype (fields in the dtype state).
    let fields = replace(SCALER_P5, b"\x8c\x01<\x94NNN", b"\x8c\x01<\x94N}N");
    assert!(err(&fields).contains("structured"), "{}", err(&fields));
}

#[test]
fn builtins_strings_and_protocol_0() {
    let v = ld(MISC_P2).unwrap();
    let big = vec![0, 0, 0, 0, 0, 0, 0, 0, 0x40];
    let want = vec![
        Value::Bytes(vec![]),
        Value::Bytes(vec![b'a', 0xff]),
        Value::Set(vec![Value::Int(1)]),
        Value::Set(vec![]),
        Value::Slice(Some(1), None, Some(2)),
        Value::Dict(vec![(s("a"), Value::Int(1))]),
        Value::Bytes(vec![b'z']),
        Value::BigInt(big),
        Value::Int(i64::MIN),
        Value::Tuple(vec![Value::Int(1)]),
        Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
        Value::Tuple(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        Value::Float(1.5),
        s("hé"),
    ];
    assert_eq!(v, Value::List(want));

    let v = ld(MISC_P0).unwrap();
    let tuple = Value::Tuple(vec![Value::Int(1), Value::Int(2)]);
    let want = vec![
        Value::Int(1),
        s("a\n\\€"),
        Value::Float(1.5),
        Value::None,
        Value::Bool(true),
        Value::Int(1 << 40),
        Value::Int(-(1 << 40)),
        Value::Dict(vec![(s("k"), tuple)]),
    ];
    assert_eq!(v, Value::List(want));

    // Hand-made: BINUNICODE8, BINBYTES, BINBYTES8, BYTEARRAY8, SHORT_BINSTRING, BINSTRING,
    // EMPTY_SET + ADDITEMS, FROZENSET, LIST, POP, POP_MARK, DUP, BININT2, BINFLOAT, NEWFALSE.
    let b = b"\x80\x05(\x8d\x02\0\0\0\0\0\0\0hiB\x01\0\0\0b\x8e\x01\0\0\0\0\0\0\0c\
        \x96\x01\0\0\0\0\0\0\0dU\x01eT\x01\0\0\0\xff\x8f(K\x01K\x02\x90(K\x03\x91(N1N0\
        M\x00\x01\x32\x30G?\xf0\0\0\0\0\0\0\x89l.";
    let want = vec![
        s("hi"),
        Value::Bytes(b"b".to_vec()),
        Value::Bytes(b"c".to_vec()),
        Value::Bytes(b"d".to_vec()),
        s("e"),
        Value::Bytes(vec![0xff]),
        Value::Set(vec![Value::Int(1), Value::Int(2)]),
        Value::Set(vec![Value::Int(3)]),
        Value::Int(256),
        Value::Float(1.0),
        Value::Bool(false),
    ];
    assert_eq!(ld(b).unwrap(), Value::List(want));
}

#[test]
fn globals_ufuncs_and_dtypes() {
    let v = ld(UFUNCS_P4).unwrap();
    let g = |n: &str| Value::Global {
        module: "numpy".into(),
        name: n.into(),
    };
    let dtype = Value::Object {
        module: "numpy".into(),
        name: "dtype".into(),
        args: vec![s(">f4")],
        state: None,
    };
    // numpy 2 pickles a ufunc as the global `numpy.<__name__>` (np.abs -> absolute).
    let want = vec![g("log1p"), g("absolute"), g("float64"), dtype];
    assert_eq!(v, Value::List(want));
    // numpy 1.x: numpy.core._ufunc_reconstruct('numpy', 'log1p'); the target is checked too.
    let old = b"cnumpy.core\n_ufunc_reconstruct\n(Vnumpy\nVlog1p\ntR.";
    assert_eq!(ld(old).unwrap(), g("log1p"));
    let evil = b"cnumpy.core\n_ufunc_reconstruct\n(Vos\nVsystem\ntR.";
    assert!(err(evil).contains("refused global `os.system`"));
    // copyreg._reconstructor (protocols 0/1) and INST / OBJ.
    let want = Value::Object {
        module: "sklearn.a".into(),
        name: "B".into(),
        args: vec![],
        state: Some(Box::new(Value::Dict(vec![(s("k"), Value::Int(1))]))),
    };
    let p1 = b"ccopy_reg\n_reconstructor\n(csklearn.a\nB\nc__builtin__\nobject\nNtR}(Vk\nK\x01ub.";
    assert_eq!(ld(p1).unwrap(), want);
    assert_eq!(want.attr("k").and_then(Value::as_i64), Some(1));
    assert_eq!(ld(b"(isklearn.a\nB\n}(Vk\nK\x01ub.").unwrap(), want);
    assert_eq!(ld(b"(csklearn.a\nB\no}(Vk\nK\x01ub.").unwrap(), want);
    // NEWOBJ_EX with empty kwargs, and any DecorrTransformer.
    let b = b"\x80\x04\x8c\x02my\x8c\x11DecorrTransformer\x93)}\x92.";
    assert_eq!(ld(b).unwrap().class_path().unwrap(), "my.DecorrTransformer");
}

#[test]
fn refused_globals() {
    let e = err(b"cos\nsystem\n(S'ls'\ntR.");
    let want = "pickle: at byte 0 (opcode GLOBAL): refused global `os.system`: only \
        scikit-learn estimators and numpy arrays may appear in a preprocessing pickle";
    assert_eq!(e, want);
    let e = err(b"\x80\x04\x8c\x05posix\x8c\x06system\x93.");
    assert!(
        e.starts_with("pickle: at byte 17 (opcode STACK_GLOBAL): refused global `posix.system`")
    );
    for (m, n) in [
        ("__builtin__", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("subprocess", "Popen"),
        ("numpy.random", "RandomState"),
        ("numpy", "load"),
        ("sklearn.base", "os.system"), // dotted names resolve attribute by attribute in Python
    ] {
        let b = format!("c{m}\n{n}\n.");
        assert!(err(b.as_bytes()).contains("refused global"), "{m}.{n}");
    }
    // A permissive policy only turns the call into a value: nothing is ever executed.
    let v = load(b"cos\nsystem\n(Vls\ntR.", &|_, _| true, &Limits::default()).unwrap();
    assert_eq!(v.class_path().as_deref(), Some("os.system"));
    assert!(default_policy(
        "sklearn.preprocessing._data",
        "StandardScaler"
    ));
    assert!(default_policy("lhcb_preprocessing", "DecorrTransformer"));
    assert!(default_policy("numpy._core.numeric", "_frombuffer"));
    assert!(default_policy("joblib.numpy_pickle", "NumpyArrayWrapper"));
    assert!(!default_policy(
        "numpy.random._pickle",
        "__randomstate_ctor"
    ));
}

#[test]
fn unsupported_opcodes() {
    for (b, what) in [
        (&b"P1\n."[..], "persistent ids"),
        (b"\x80\x02N\x51.", "persistent ids"),
        (b"\x80\x05\x97.", "out-of-band"),
        (b"\x80\x05C\x01a\x98.", "out-of-band"),
        (b"\x80\x02\x82\x01.", "extension"),
        (b"\x80\x06.", "protocol 6"),
        (b"\xff", "unknown opcode 0xff"),
        (b"S'x'\n.", "STRING"),
        (b"N0.", "stack underflow"),
        (b"1.", "no MARK"),
        (b"h\x05.", "memo key 5 not found"),
        (b"NK\x01K\x02s.", "not a dict"),
    ] {
        assert!(err(b).contains(what), "{what}: {}", err(b));
    }
}

#[test]
fn memo_sees_later_mutation() {
    // d = {} is memoized, appended to a list, then fetched again and filled by SETITEM:
    // EMPTY_DICT MEMOIZE EMPTY_LIST BINGET0 APPEND BINGET0 1 2 SETITEM POP STOP
    let b = b"\x80\x04}\x94]h\x00ah\x00K\x01K\x02s0.";
    let d = Value::Dict(vec![(Value::Int(1), Value::Int(2))]);
    assert_eq!(ld(b).unwrap(), Value::List(vec![d.clone()]));
    // Same with text PUT/GET and LONG_BINPUT/LONG_BINGET.
    let b = b"}p7\n]r\x05\0\0\0g7\naj\x05\0\0\0g7\nK\x01K\x02s0.";
    assert_eq!(ld(b).unwrap(), Value::List(vec![d.clone()]));
    // Shared values appear at each place they are referenced.
    let b = b"\x80\x04]\x94(K\x01e\x94h\x00h\x00\x86.";
    let l = Value::List(vec![Value::Int(1)]);
    assert_eq!(ld(b).unwrap(), Value::Tuple(vec![l.clone(), l]));
}

#[test]
fn truncated_inputs_fail_cleanly() {
    for full in [
        SCALER_P2,
        SCALER_P5,
        ARRAYS_P3,
        ARRAYS_P5,
        MISC_P2,
        MISC_P0,
        JOBLIB_PLAIN,
    ] {
        assert!(ld(full).is_ok());
        for n in 0..full.len() {
            assert!(ld(&full[..n]).is_err(), "prefix {n} of {}", full.len());
        }
    }
}

#[test]
fn absurd_lengths_do_not_allocate() {
    let big = (1u64 << 63).to_le_bytes();
    for op in [0x8d, 0x8e, 0x96, 0x95] {
        let mut b = vec![0x80, 0x05, op];
        b.extend_from_slice(&big);
        assert!(err(&b).contains("unexpected end of data"), "{op:#x}");
    }
    assert!(err(b"\x80\x04B\xff\xff\xff\xff").contains("unexpected end"));
    assert!(err(b"\x80\x04X\xff\xff\xff\xffab").contains("unexpected end"));
    assert!(err(b"\x80\x04\x8b\xff\xff\xff\x7f").contains("unexpected end"));
    assert!(err(b"\x80\x04\x8b\xff\xff\xff\xff").contains("negative LONG4"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let n = 100_000;
    let mut b = vec![b']'; n];
    b.extend(std::iter::repeat_n(b'a', n - 1));
    b.push(b'.');
    assert!(err(&b).contains("nested deeper than 256"), "{}", err(&b));
    let mut b = vec![b'('; n];
    b.push(b'.');
    assert!(err(&b).contains("MARKs nested deeper"));
    let mut b = vec![b'N'];
    b.extend(std::iter::repeat_n(0x85, n));
    b.push(b'.');
    assert!(err(&b).contains("nested deeper"));
    // copyreg.__newobj__(copyreg.__newobj__, copyreg.__newobj__, ...) must not recurse.
    let mut b = b"\x80\x02ccopy_reg\n__newobj__\nq\x00(".to_vec();
    b.extend(std::iter::repeat_n(*b"h\x00", n).flatten());
    b.extend_from_slice(b"tR.");
    assert!(err(&b).contains("copyreg helper applied to a copyreg helper"));
    // A list containing itself.
    assert!(err(b"\x80\x04]\x94h\x00a.").contains("reference cycle"));
}

#[test]
fn billion_laughs_hits_the_node_budget() {
    // l0 = []; l(i+1) = (l(i), l(i)) for 60 levels: 2^60 nodes once expanded.
    let mut b = b"\x80\x04]\x94".to_vec();
    for i in 0..60u8 {
        b.extend_from_slice(&[b'h', i, b'h', i, 0x86, 0x94]);
    }
    b.push(b'.');
    let small = Limits {
        max_nodes: 100_000,
        ..Limits::default()
    };
    let e = load(&b, &default_policy, &small).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    // The VM itself is bounded too: many allocations under a small budget.
    let mut b = b"\x80\x04(".to_vec();
    b.extend(std::iter::repeat_n(b'N', 200_000));
    b.extend_from_slice(b"l.");
    assert!(matches!(
        load(&b, &default_policy, &small).unwrap_err().kind,
        ErrorKind::Limit(_)
    ));
}

fn joblib_value() -> Value {
    let i = arr(&[2, 2], ArrayData::I32(vec![0, 1, 2, 3]));
    Value::Dict(vec![
        (s("x"), arr(&[3], ArrayData::F64(vec![0.0, 1.0, 2.0]))),
        (s("o"), arr(&[2], ArrayData::Object(vec![s("p"), s("q")]))),
        (s("i"), i),
    ])
}

#[test]
fn joblib_plain_and_compressed() {
    assert_eq!(ld(JOBLIB_PLAIN).unwrap(), joblib_value());
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
    z.write_all(JOBLIB_PLAIN).unwrap();
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(3));
    g.write_all(JOBLIB_PLAIN).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(3));
    bz.write_all(JOBLIB_PLAIN).unwrap();
    let (mut xz, mut lz) = (Vec::new(), Vec::new());
    lzma_rs::xz_compress(&mut { JOBLIB_PLAIN }, &mut xz).unwrap();
    lzma_rs::lzma_compress(&mut { JOBLIB_PLAIN }, &mut lz).unwrap();
    for c in [
        z.finish().unwrap(),
        g.finish().unwrap(),
        bz.finish().unwrap(),
        xz,
        lz,
    ] {
        assert_eq!(ld(&c).unwrap(), joblib_value());
    }
    assert_eq!(ld(LZMA_ALONE).unwrap(), Value::Int(7));
    // joblib <= 1.1: no numpy_array_alignment_bytes, so no padding byte before the data.
    let b = b"\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shape\
        K\x02\x85\x8c\x05order\x8c\x01C\x8c\x05dtype\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02u1\x85Rub\x07\x09.";
    assert_eq!(ld(b).unwrap(), arr(&[2], ArrayData::U8(vec![7, 9])));
    assert!(err(b"ZF0x10\n").contains("joblib < 0.9.3"));
    assert!(err(b"\x78\x9cgarbage").contains("corrupt zlib"));
    assert!(err(b"\x04\x22\x4d\x18").contains("lz4"));
}

#[test]
fn decompression_is_capped() {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(&vec![0u8; 4 << 20]).unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut &vec![0u8; 4 << 20][..], &mut xz).unwrap();
    let lim = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    for c in [z.finish().unwrap(), xz] {
        let e = load(&c, &default_policy, &lim).unwrap_err();
        assert!(e.to_string().contains("inflates past 1048576 bytes"), "{e}");
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let bases = [
        SCALER_P2,
        SCALER_P5,
        ARRAYS_P3,
        ARRAYS_P5,
        MISC_P2,
        MISC_P0,
        JOBLIB_PLAIN,
    ];
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut rnd = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    let small = Limits {
        max_nodes: 10_000,
        ..Limits::default()
    };
    for _ in 0..20_000 {
        let mut b = bases[rnd(bases.len())].to_vec();
        for _ in 0..1 + rnd(4) {
            let i = rnd(b.len());
            match rnd(3) {
                0 => b[i] = rnd(256) as u8,
                1 => b.insert(i, rnd(256) as u8),
                _ => drop(b.remove(i)),
            }
        }
        let _ = load(&b, &default_policy, &small);
    }
}

// ---- fixtures written by tests/fixtures/generate.py ------------------------------------

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sklearn");

fn pickles_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            pickles_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "pkl" || x == "joblib") {
            out.push(p);
        }
    }
}

#[test]
fn fixtures_all_load() {
    let mut files = Vec::new();
    pickles_under(Path::new(FIXTURES), &mut files);
    for f in &files {
        if let Err(e) = load_file(f) {
            panic!("{}: {e}", f.display());
        }
    }
    eprintln!("loaded {} fixture pickles", files.len());
}

#[test]
fn fixtures_protocols_agree() {
    let dir = Path::new(FIXTURES).join("protocols");
    let Ok(reference) = load_file(dir.join("p4.pkl")) else {
        return eprintln!("no protocols fixtures yet");
    };
    let names = [
        "p2.pkl",
        "p3.pkl",
        "p5.pkl",
        "plain.joblib",
        "zlib.joblib",
        "gzip.joblib",
    ];
    for f in names
        .iter()
        .chain(&["bz2.joblib", "lzma.joblib", "xz.joblib"])
    {
        assert_eq!(load_file(dir.join(f)).unwrap(), reference, "{f}");
    }
    assert!(reference.class_path().unwrap().starts_with("sklearn."));
}

#[test]
fn fixtures_fortran() {
    let dir = Path::new(FIXTURES).join("protocols");
    let Ok(json) = std::fs::read_to_string(dir.join("fortran.json")) else {
        return eprintln!("no fortran fixtures yet");
    };
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    fn flat(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
        match v.as_array() {
            Some(a) => a.iter().for_each(|x| flat(x, out)),
            None => out.push(v.clone()),
        }
    }
    for f in ["fortran_p2.pkl", "fortran_p5.pkl"] {
        let v = load_file(dir.join(f)).unwrap();
        for (k, a) in json["arrays"].as_object().unwrap() {
            let got = v.get(k).and_then(Value::as_array).unwrap();
            let shape: Vec<usize> = serde_json::from_value(a["shape"].clone()).unwrap();
            assert_eq!(got.shape, shape, "{f} {k}");
            let mut want = Vec::new();
            flat(&a["values"], &mut want);
            if let Some(strs) = got.strings() {
                let want: Vec<&str> = want.iter().map(|w| w.as_str().unwrap()).collect();
                assert_eq!(strs, want, "{f} {k}");
            } else {
                let want: Vec<f64> = want
                    .iter()
                    .map(|w| w.as_f64().or(w.as_bool().map(f64::from)).unwrap())
                    .collect();
                assert_eq!(got.to_f64().unwrap(), want, "{f} {k}");
            }
        }
    }
}

// ---- byte strings -----------------------------------------------------------------------

// A stand-in StandardScaler (a class with __module__ = "sklearn.preprocessing._data") with
// sc.__dict__ = dict(with_mean=True, n_features_in_=2, mean_=np.array([1.0, 2.5]),
//     feature_names_in_=np.array(["a", "b"], dtype=object), n_samples_seen_=np.int64(10))
// pickle.dumps(sc, protocol=2)
const SCALER_P2: &[u8] =
    b"\x80\x02csklearn.preprocessing._data\x0aStandardScaler\x0aq\x00)\x81q\x01}q\x02(X\x09\
      \x00\x00\x00with_meanq\x03\x88X\x0e\x00\x00\x00n_features_in_q\x04K\x02X\x05\x00\x00\
      \x00mean_q\x05cnumpy._core.multiarray\x0a_reconstruct\x0aq\x06cnumpy\x0andarray\x0aq\
      \x07K\x00\x85q\x08c_codecs\x0aencode\x0aq\x09X\x01\x00\x00\x00bq\x0aX\x06\x00\x00\x00\
      latin1q\x0b\x86q\x0cRq\x0d\x87q\x0eRq\x0f(K\x01K\x02\x85q\x10cnumpy\x0adtype\x0aq\x11\
      X\x02\x00\x00\x00f8q\x12\x89\x88\x87q\x13Rq\x14(K\x03X\x01\x00\x00\x00<q\x15NNNJ\xff\
      \xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x16b\x89h\x09X\x11\x00\x00\x00\x00\x00\x00\x00\x00\
      \x00\xc3\xb0?\x00\x00\x00\x00\x00\x00\x04@q\x17h\x0b\x86q\x18Rq\x19tq\x1abX\x11\x00\x00\
      \x00feature_names_in_q\x1bh\x06h\x07K\x00\x85q\x1ch\x0d\x87q\x1dRq\x1e(K\x01K\x02\x85\
      q\x1fh\x11X\x02\x00\x00\x00O8q\x20\x89\x88\x87q!Rq\"(K\x03X\x01\x00\x00\x00|q#NNNJ\xff\
      \xff\xff\xffJ\xff\xff\xff\xffK?tq$b\x89]q%(X\x01\x00\x00\x00aq&X\x01\x00\x00\x00bq'e\
      tq(bX\x0f\x00\x00\x00n_samples_seen_q)cnumpy._core.multiarray\x0ascalar\x0aq*h\x11X\x02\
      \x00\x00\x00i8q+\x89\x88\x87q,Rq-(K\x03h\x15NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00\
      tq.bh\x09X\x08\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00q/h\x0b\x86q0Rq1\x86q2Rq3u\
      b.";

// pickle.dumps(sc, protocol=5)
const SCALER_P5: &[u8] =
    b"\x80\x05\x95\xcc\x01\x00\x00\x00\x00\x00\x00\x8c\x1bsklearn.preprocessing._data\x94\x8c\
      \x0eStandardScaler\x94\x93\x94)\x81\x94}\x94(\x8c\x09with_mean\x94\x88\x8c\x0en_feat\
      ures_in_\x94K\x02\x8c\x05mean_\x94\x8c\x13numpy._core.numeric\x94\x8c\x0b_frombuffer\
      \x94\x93\x94(\x96\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0?\x00\x00\
      \x00\x00\x00\x00\x04@\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\
      \x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\
      K\x02\x85\x94\x8c\x01C\x94t\x94R\x94\x8c\x11feature_names_in_\x94\x8c\x16numpy._core\
      .multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94h\x0c\x8c\x07ndarray\x94\x93\x94K\x00\
      \x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02\x85\x94h\x0e\x8c\x02O8\x94\x89\x88\x87\x94\
      R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(\x8c\x01\
      a\x94\x8c\x01b\x94et\x94b\x8c\x0fn_samples_seen_\x94h\x19\x8c\x06scalar\x94\x93\x94h\
      \x0e\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff\
      K\x00t\x94bC\x08\x0a\x00\x00\x00\x00\x00\x00\x00\x94\x86\x94R\x94ub.";

// pickle.dumps([np.float64(1.5), np.float32(2.0), np.int64(-3), np.bool_(True)], protocol=3)
const SCALAR_P3: &[u8] =
    b"\x80\x03]q\x00(cnumpy._core.multiarray\x0ascalar\x0aq\x01cnumpy\x0adtype\x0aq\x02X\x02\
      \x00\x00\x00f8q\x03\x89\x88\x87q\x04Rq\x05(K\x03X\x01\x00\x00\x00<q\x06NNNJ\xff\xff\xff\
      \xffJ\xff\xff\xff\xffK\x00tq\x07bC\x08\x00\x00\x00\x00\x00\x00\xf8?q\x08\x86q\x09Rq\x0a\
      h\x01h\x02X\x02\x00\x00\x00f4q\x0b\x89\x88\x87q\x0cRq\x0d(K\x03h\x06NNNJ\xff\xff\xff\
      \xffJ\xff\xff\xff\xffK\x00tq\x0ebC\x04\x00\x00\x00@q\x0f\x86q\x10Rq\x11h\x01h\x02X\x02\
      \x00\x00\x00i8q\x12\x89\x88\x87q\x13Rq\x14(K\x03h\x06NNNJ\xff\xff\xff\xffJ\xff\xff\xff\
      \xffK\x00tq\x15bC\x08\xfd\xff\xff\xff\xff\xff\xff\xffq\x16\x86q\x17Rq\x18h\x01h\x02X\
      \x02\x00\x00\x00b1q\x19\x89\x88\x87q\x1aRq\x1b(K\x03X\x01\x00\x00\x00|q\x1cNNNJ\xff\xff\
      \xff\xffJ\xff\xff\xff\xffK\x00tq\x1dbC\x01\x01q\x1e\x86q\x1fRq\x20e.";

// pickle.dumps([np.asfortranarray(np.arange(6, dtype='i1').reshape(2, 3)), np.arange(3, dtype='>i4'), np.array([['ab', 'c']]), np.array(5.0), np.zeros((0, 2), 'f4')], protocol=3)
const ARRAYS_P3: &[u8] =
    b"\x80\x03]q\x00(cnumpy._core.multiarray\x0a_reconstruct\x0aq\x01cnumpy\x0andarray\x0a\
      q\x02K\x00\x85q\x03C\x01bq\x04\x87q\x05Rq\x06(K\x01K\x02K\x03\x86q\x07cnumpy\x0adtyp\
      e\x0aq\x08X\x02\x00\x00\x00i1q\x09\x89\x88\x87q\x0aRq\x0b(K\x03X\x01\x00\x00\x00|q\x0c\
      NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0db\x88C\x06\x00\x03\x01\x04\x02\x05q\x0e\
      tq\x0fbh\x01h\x02K\x00\x85q\x10h\x04\x87q\x11Rq\x12(K\x01K\x03\x85q\x13h\x08X\x02\x00\
      \x00\x00i4q\x14\x89\x88\x87q\x15Rq\x16(K\x03X\x01\x00\x00\x00>q\x17NNNJ\xff\xff\xff\xff\
      J\xff\xff\xff\xffK\x00tq\x18b\x89C\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\
      q\x19tq\x1abh\x01h\x02K\x00\x85q\x1bh\x04\x87q\x1cRq\x1d(K\x01K\x01K\x02\x86q\x1eh\x08\
      X\x02\x00\x00\x00U2q\x1f\x89\x88\x87q\x20Rq!(K\x03X\x01\x00\x00\x00<q\"NNNK\x08K\x04\
      K\x08tq#b\x89C\x10a\x00\x00\x00b\x00\x00\x00c\x00\x00\x00\x00\x00\x00\x00q$tq%bh\x01\
      h\x02K\x00\x85q&h\x04\x87q'Rq((K\x01)h\x08X\x02\x00\x00\x00f8q)\x89\x88\x87q*Rq+(K\x03\
      h\"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq,b\x89C\x08\x00\x00\x00\x00\x00\x00\x14\
      @q-tq.bh\x01h\x02K\x00\x85q/h\x04\x87q0Rq1(K\x01K\x00K\x02\x86q2h\x08X\x02\x00\x00\x00\
      f4q3\x89\x88\x87q4Rq5(K\x03h\"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq6b\x89C\x00\
      q7tq8be.";

// pickle.dumps([np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array([True, False]), np.array([1, 255], 'u1'), np.array(['x', None], dtype=object)], protocol=5)
const ARRAYS_P5: &[u8] =
    b"\x80\x05\x95\xa4\x01\x00\x00\x00\x00\x00\x00]\x94(\x8c\x13numpy._core.numeric\x94\x8c\
      \x0b_frombuffer\x94\x93\x94(\x960\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
      \x00\x00\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\xf0?\x00\x00\x00\x00\x00\
      \x00\x10@\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x14@\x94\x8c\x05numpy\
      \x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94N\
      NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01F\x94t\x94R\
      \x94h\x03(\x96\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x94h\x07\x8c\x02b1\x94\x89\x88\
      \x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02\
      \x85\x94\x8c\x01C\x94t\x94R\x94h\x03(\x96\x02\x00\x00\x00\x00\x00\x00\x00\x01\xff\x94\
      h\x07\x8c\x02u1\x94\x89\x88\x87\x94R\x94(K\x03h\x15NNNJ\xff\xff\xff\xffJ\xff\xff\xff\
      \xffK\x00t\x94bK\x02\x85\x94h\x18t\x94R\x94\x8c\x16numpy._core.multiarray\x94\x8c\x0c\
      _reconstruct\x94\x93\x94h\x05\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94\
      R\x94(K\x01K\x02\x85\x94h\x07\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03h\x15NNNJ\xff\xff\
      \xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(\x8c\x01x\x94Net\x94be.";

// pickle.dumps([b'', b'a\xff', {1}, frozenset(), slice(1, None, 2), collections.OrderedDict(a=1), bytearray(b'z'), 2**70, -2**63, (1,), (1, 2), (1, 2, 3), 1.5, 'h\xe9'], protocol=2)
const MISC_P2: &[u8] =
    b"\x80\x02]q\x00(c__builtin__\x0abytes\x0aq\x01)Rq\x02c_codecs\x0aencode\x0aq\x03X\x03\
      \x00\x00\x00a\xc3\xbfq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07c__builtin__\x0a\
      set\x0aq\x08]q\x09K\x01a\x85q\x0aRq\x0bc__builtin__\x0afrozenset\x0aq\x0c]q\x0d\x85q\
      \x0eRq\x0fc__builtin__\x0aslice\x0aq\x10K\x01NK\x02\x87q\x11Rq\x12ccollections\x0aOr\
      deredDict\x0aq\x13)Rq\x14X\x01\x00\x00\x00aq\x15K\x01sc__builtin__\x0abytearray\x0aq\
      \x16h\x03X\x01\x00\x00\x00zq\x17h\x05\x86q\x18Rq\x19\x85q\x1aRq\x1b\x8a\x09\x00\x00\x00\
      \x00\x00\x00\x00\x00@\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80K\x01\x85q\x1cK\x01K\x02\
      \x86q\x1dK\x01K\x02K\x03\x87q\x1eG?\xf8\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00h\xc3\
      \xa9q\x1fe.";

// pickle.dumps([1, 'a\n\\\u20ac', 1.5, None, True, 2**40, -2**40, {'k': (1, 2)}], protocol=0)
const MISC_P0: &[u8] =
    b"(lp0\x0aI1\x0aaVa\\u000a\\u005c\\u20ac\x0ap1\x0aaF1.5\x0aaNaI01\x0aaL1099511627776L\x0a\
      aL-1099511627776L\x0aa(dp2\x0aVk\x0ap3\x0a(I1\x0aI2\x0atp4\x0asa.";

// pickle.dumps([np.log1p, np.abs, np.float64, np.dtype('>f4')], protocol=4)
const UFUNCS_P4: &[u8] =
    b"\x80\x04\x95d\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x05numpy\x94\x8c\x05log1p\x94\x93\
      \x94h\x01\x8c\x08absolute\x94\x93\x94h\x01\x8c\x07float64\x94\x93\x94h\x01\x8c\x05dt\
      ype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\
      \xffJ\xff\xff\xff\xffK\x00t\x94be.";

// buf = io.BytesIO(); joblib.dump({"x": np.arange(3.0), "o": np.array(["p", "q"], dtype=object),
//     "i": np.asfortranarray(np.arange(4, dtype="i4").reshape(2, 2))}, buf)  # joblib 1.5, numpy 2.4
const JOBLIB_PLAIN: &[u8] =
    b"\x80\x04\x95\xd8\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01x\x94\x8c\x13joblib.numpy_\
      pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93\x94)\x81\x94}\x94(\x8c\x08subclass\x94\x8c\
      \x05numpy\x94\x8c\x07ndarray\x94\x93\x94\x8c\x05shape\x94K\x03\x85\x94\x8c\x05order\x94\
      \x8c\x01C\x94\x8c\x05dtype\x94h\x08\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\
      \x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x8c\x0a\
      allow_mmap\x94\x88\x8c\x1bnumpy_array_alignment_bytes\x94K\x10ub\x0c\xff\xff\xff\xff\
      \xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
      \x00\xf0?\x00\x00\x00\x00\x00\x00\x00@\x95K\x00\x00\x00\x00\x00\x00\x00\x8c\x01o\x94\
      h\x04)\x81\x94}\x94(h\x07h\x0ah\x0bK\x02\x85\x94h\x0dh\x0eh\x0fh\x11\x8c\x02O8\x94\x89\
      \x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94bh\x17\
      \x89h\x18K\x10ub\x80\x05\x95\x92\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.mult\
      iarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94\
      K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02\x85\x94h\x03\x8c\x05dtype\x94\x93\x94\
      \x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\
      \xffK?t\x94b\x89]\x94(\x8c\x01p\x94\x8c\x01q\x94et\x94b.\x95M\x00\x00\x00\x00\x00\x00\
      \x00\x8c\x01i\x94h\x04)\x81\x94}\x94(h\x07h\x0ah\x0bK\x02K\x02\x86\x94h\x0d\x8c\x01F\
      \x94h\x0fh\x11\x8c\x02i4\x94\x89\x88\x87\x94R\x94(K\x03h\x15NNNJ\xff\xff\xff\xffJ\xff\
      \xff\xff\xffK\x00t\x94bh\x17\x88h\x18K\x10ub\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\
      \xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03\x00\
      \x00\x00u.";

// lzma.LZMAFile(buf, "wb", format=lzma.FORMAT_ALONE).write(b"\x80\x02K\x07.")  # joblib's .lzma
const LZMA_ALONE: &[u8] =
    b"]\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00@\x00\x85\x15m\xe8\x99\x13\xff\xff\
      \xfe\x1f\x80\x00";
