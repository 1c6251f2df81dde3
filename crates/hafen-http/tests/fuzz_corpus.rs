//! Replays the fuzz corpus (`fuzz/corpus/<target>/*`) and the inputs that once crashed a
//! target (`fuzz/regressions/<target>/*`) through the checks of the fuzz targets, so that
//! `cargo test` fails when a parser regresses on any of them. The fuzzing itself needs
//! `cargo fuzz` (see `fuzz/README.md`).

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("path_decoding", checks::path_decoding),
    ("dav_xml", checks::dav_xml),
    ("if_header", checks::if_header),
    ("range", checks::range),
    ("chunk_names", checks::chunk_names),
    ("ocs_params", checks::ocs_params),
];

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).filter(|path| path.is_file()).collect();
    files.sort();
    files
}

#[test]
fn corpus_and_regressions_pass_the_fuzz_checks() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (target, check) in TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "the corpus of {target} is missing");
        for file in corpus.iter().chain(inputs(&fuzz.join("regressions").join(target)).iter()) {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails the fuzz checks", file.display());
        }
    }
}
