//! The broken-input corpus (tests/fixtures/broken/, written by its make.py with real Python):
//! every case must be refused by `lamarrc compile` with exit code 1, a message starting with
//! `error: ` that names the file and what was expected, no panic, nothing left in the output
//! directory, within the hang guard and the 4 GiB address-space limit of
//! `reliability_support::lamarrc_limited`. Code-execution pickles carry a live payload (make.py
//! proves it runs under Python): the tests assert that its marker file never appears.

#[path = "reliability_support.rs"]
mod support;

use std::collections::BTreeSet;
use support::{broken, refuses};

/// `(path below tests/fixtures/broken, file the error must name, words it must contain)`.
type Case = (&'static str, &'static str, &'static [&'static str]);

const ARCHIVE: &str = "not a Keras 3 `.keras` archive";

const KERAS: &[Case] = &[
    (
        "keras_not_a_zip.keras",
        "keras_not_a_zip.keras",
        &[ARCHIVE, "Zip"],
    ),
    (
        "keras_truncated.keras",
        "keras_truncated.keras",
        &[ARCHIVE, "Zip"],
    ),
    (
        "keras_no_weights.keras",
        "keras_no_weights.keras",
        &[ARCHIVE, "no `model.weights.h5` member"],
    ),
    (
        "keras_no_config.keras",
        "keras_no_config.keras",
        &[ARCHIVE, "no `config.json` member"],
    ),
    (
        "keras_bad_json.keras",
        "keras_bad_json.keras",
        &["config.json", "not valid JSON"],
    ),
    (
        "keras_unknown_layer.keras",
        "keras_unknown_layer.keras",
        &["layer #1", "Conv2D", "supported: InputLayer, Dense"],
    ),
    (
        "keras_unknown_activation.keras",
        "keras_unknown_activation.keras",
        &["Dense", "my_custom_activation", "supported: linear"],
    ),
    (
        "keras_subclassed_model.keras",
        "keras_subclassed_model.keras",
        &[
            "config.json",
            "MyModelSubclass",
            "supported: Sequential, Functional",
        ],
    ),
    (
        "keras_units_mismatch.keras",
        "keras_units_mismatch.keras",
        &[
            "Dense",
            "layers/dense/vars/0",
            "shape [5, 8], expected [5, 9]",
        ],
    ),
    (
        "keras_truncated_h5.keras",
        "keras_truncated_h5.keras",
        &["model.weights.h5", "truncated"],
    ),
    (
        "keras_garbage_h5.keras",
        "keras_garbage_h5.keras",
        &["model.weights.h5", "not an HDF5 file"],
    ),
    (
        "keras_signature_garbage_h5.keras",
        "keras_signature_garbage_h5.keras",
        &["model.weights.h5", "cannot open"],
    ),
    (
        "dir_keras_not_a_zip",
        "dir_keras_not_a_zip/model.keras",
        &[ARCHIVE],
    ),
];

const REFUSED: &str = "only scikit-learn estimators and numpy arrays may appear";

/// Code-execution pickles: `(case, file, refused global)`. The marker is
/// `/tmp/lamarrc-reliability-<case>.marker` (see make.py).
const EVIL: &[(&str, &str, &str)] = &[
    ("evil_os_system", "evil_os_system.pkl", "os.system"),
    ("evil_posix_system", "evil_posix_system.pkl", "posix.system"),
    ("evil_eval", "evil_eval.pkl", "builtins.eval"),
    ("evil_exec", "evil_exec.pkl", "builtins.exec"),
    (
        "evil_subprocess_popen",
        "evil_subprocess_popen.pkl",
        "subprocess.Popen",
    ),
    ("evil_import", "evil_import.pkl", "builtins.__import__"),
    (
        "evil_getattr_chain",
        "evil_getattr_chain.pkl",
        "builtins.getattr",
    ),
    ("evil_in_scaler", "evil_in_scaler.pkl", "posix.system"),
    (
        "evil_joblib_zlib",
        "evil_joblib_zlib.joblib",
        "posix.system",
    ),
    ("dir_evil_tx", "dir_evil_tx/tX.pkl", "posix.system"),
];

const PICKLES: &[Case] = &[
    (
        "pickle_truncated.pkl",
        "pickle_truncated.pkl",
        &["pickle:", "unexpected end of data"],
    ),
    (
        "pickle_garbage.pkl",
        "pickle_garbage.pkl",
        &["pickle:", "unknown opcode 0xff"],
    ),
    (
        "pickle_empty.pkl",
        "pickle_empty.pkl",
        &["pickle:", "unexpected end of data"],
    ),
    (
        "pickle_binbytes8_huge.pkl",
        "pickle_binbytes8_huge.pkl",
        &["BINBYTES8", "unexpected end of data"],
    ),
    (
        "pickle_binunicode8_huge.pkl",
        "pickle_binunicode8_huge.pkl",
        &["BINUNICODE8", "unexpected end of data"],
    ),
    (
        "pickle_frame_huge.pkl",
        "pickle_frame_huge.pkl",
        &["FRAME", "unexpected end of data"],
    ),
    (
        "pickle_deep_lists.pkl",
        "pickle_deep_lists.pkl",
        &["limit exceeded", "nested deeper than 256"],
    ),
    (
        "pickle_deep_marks.pkl",
        "pickle_deep_marks.pkl",
        &["MARK", "limit exceeded", "deeper than 256"],
    ),
    (
        "pickle_array_shape_lie.pkl",
        "pickle_array_shape_lie.pkl",
        &["BUILD", "needs 8796093022208 bytes, found 16"],
    ),
    (
        "pickle_array_shape_overflow.pkl",
        "pickle_array_shape_overflow.pkl",
        &["BUILD", "array shape overflows"],
    ),
    (
        "dir_garbage_ty",
        "dir_garbage_ty/tY.pkl",
        &["pickle:", "unexpected end of data"],
    ),
];

const SUPPORTED: &str = "supported: StandardScaler, MinMaxScaler";

const ESTIMATORS: &[Case] = &[
    (
        "sklearn_normalizer.pkl",
        "sklearn_normalizer.pkl",
        &[
            "sklearn.preprocessing._data.Normalizer",
            "is not supported",
            SUPPORTED,
        ],
    ),
    (
        "sklearn_onehot.pkl",
        "sklearn_onehot.pkl",
        &["OneHotEncoder", "is not supported", SUPPORTED],
    ),
    (
        "sklearn_not_an_estimator.pkl",
        "sklearn_not_an_estimator.pkl",
        &["expected a fitted estimator, found a dict"],
    ),
    (
        "sklearn_unfitted.pkl",
        "sklearn_unfitted.pkl",
        &["StandardScaler", "not fitted", "mean_"],
    ),
    (
        "dir_unsupported_tx",
        "dir_unsupported_tx/tX.pkl",
        &["Normalizer", "is not supported"],
    ),
    (
        "dir_tx_mismatch",
        "dir_tx_mismatch/tX.pkl",
        &[
            "preprocessing produces 4 features",
            "dir_tx_mismatch/model.keras",
            "takes 5",
        ],
    ),
    (
        "dir_ty_mismatch",
        "dir_ty_mismatch/tY.pkl",
        &[
            "postprocessing was fitted on 4 features",
            "dir_ty_mismatch/model.keras",
            "outputs 3",
        ],
    ),
];

/// Files that reproduced findings of this corpus (named `open_*` by make.py), fixed since:
/// each is now refused quickly, within the memory limit.
const FORMERLY_OPEN: &[Case] = &[
    (
        "open_pickle_billion_laughs.pkl",
        "open_pickle_billion_laughs.pkl",
        &["limit exceeded", "max_nodes"],
    ),
    (
        "open_keras_nested_calls.keras",
        "open_keras_nested_calls.keras",
        &["more than 1000000 operations once nested models are expanded"],
    ),
    (
        "open_keras_huge_width.keras",
        "open_keras_huge_width.keras",
        &[
            "InputLayer",
            "input width 1099511627776",
            "16777216 features per row",
        ],
    ),
    (
        "open_keras_h5_huge_dataset.keras",
        "open_keras_h5_huge_dataset.keras",
        &["layers/dense/vars/0", "shape [1048576, 1048576]"],
    ),
    (
        "open_sklearn_columns_huge_width.pkl",
        "open_sklearn_columns_huge_width.pkl",
        &["ColumnTransformer", "n_features_in_", "at most 16777216"],
    ),
];

/// Open findings: none at present.
const OPEN: &[&str] = &[];

#[test]
fn formerly_open_findings_are_refused() {
    run_all(FORMERLY_OPEN);
}

/// Entries of the corpus directory that are not cases.
const NOT_CASES: &[&str] = &["make.py", "good", "fuzz"];

fn run_all(cases: &[Case]) {
    for (path, file, words) in cases {
        refuses(&broken(path), file, words);
    }
}

#[test]
fn keras_archives_are_refused() {
    run_all(KERAS);
}

#[test]
fn damaged_and_hostile_pickles_are_refused() {
    run_all(PICKLES);
}

#[test]
fn unsupported_and_mismatched_estimators_are_refused() {
    run_all(ESTIMATORS);
}

#[test]
fn missing_and_empty_model_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    refuses(
        &dir.path().join("no_such_model"),
        "no_such_model",
        &["cannot open"],
    );
    let empty = dir.path().join("empty_model");
    std::fs::create_dir(&empty).unwrap();
    refuses(
        &empty,
        "empty_model",
        &["not a model directory", "model.keras", "an empty directory"],
    );
}

#[test]
fn code_execution_pickles_are_refused_and_nothing_runs() {
    for (case, file, global) in EVIL {
        let marker = std::path::PathBuf::from(format!("/tmp/lamarrc-reliability-{case}.marker"));
        let _ = std::fs::remove_file(&marker);
        let refused = format!("refused global `{global}`");
        refuses(
            &broken(case_path(case, file)),
            file,
            &["pickle:", &refused, REFUSED],
        );
        // Give an asynchronous payload (Popen) time to show itself, were it started.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !marker.exists(),
            "{case}: the payload ran ({} exists)",
            marker.display()
        );
    }
}

/// A case's path: the file itself, or its model directory for `dir_*` cases.
fn case_path<'a>(case: &'a str, file: &'a str) -> &'a str {
    if case.starts_with("dir_") {
        case
    } else {
        file
    }
}

/// The bz2 stream inflates to 3 GiB; the reader must stop at `Limits::max_decompressed` (2 GiB)
/// within the address-space limit.
#[test]
fn decompression_bomb_is_refused() {
    let run = refuses(
        &broken("pickle_bz2_bomb.joblib"),
        "pickle_bz2_bomb.joblib",
        &[
            "limit exceeded",
            "bz2-compressed stream inflates past 2147483648 bytes",
        ],
    );
    eprintln!("bz2 bomb refused in {:?}", run.elapsed);
}

/// Every file make.py writes is either a case above or a listed open finding, so that a new
/// case cannot be generated and then forgotten.
#[test]
fn every_corpus_entry_is_classified() {
    let mut known: BTreeSet<String> = BTreeSet::new();
    for (path, ..) in KERAS
        .iter()
        .chain(PICKLES)
        .chain(ESTIMATORS)
        .chain(FORMERLY_OPEN)
    {
        known.insert(path.to_string());
    }
    for (case, file, _) in EVIL {
        known.insert(case_path(case, file).to_string());
    }
    known.insert("pickle_bz2_bomb.joblib".into());
    known.extend(OPEN.iter().map(|s| s.to_string()));
    known.extend(NOT_CASES.iter().map(|s| s.to_string()));
    let on_disk: BTreeSet<String> = std::fs::read_dir(broken(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let unclassified: Vec<_> = on_disk.difference(&known).collect();
    assert!(
        unclassified.is_empty(),
        "corpus entries no test covers: {unclassified:?}"
    );
    let missing: Vec<_> = known.difference(&on_disk).collect();
    assert!(
        missing.is_empty(),
        "cases missing from the corpus (run make.py): {missing:?}"
    );
}
