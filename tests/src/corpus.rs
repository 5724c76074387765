//! The shared scanner-report corpus (`../shared/corpus` beside the repo) and its MANIFEST.
//! Without it the corpus tests skip locally but fail under CI (`CI` set).

use std::path::PathBuf;

pub struct ManifestRow {
    pub path: String,
    pub format: String,
    pub producer: String,
    pub expected_findings: usize,
}

/// The corpus folder: `BOSUN_CORPUS_DIR`, else `../shared/corpus` beside the repo.
/// `None` (and a note) when absent locally; a panic when absent under CI.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BOSUN_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            crate::workspace_root()
                .join("..")
                .join("shared")
                .join("corpus")
        });
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    let shown = dir.display();
    crate::skip_unless_ci(
        &format!("the scanner corpus is missing at {shown} and CI is set: corpus tests must run"),
        &format!("note: no corpus at {shown}; corpus test skipped (it fails under CI)"),
    )
}

pub fn manifest(dir: &std::path::Path) -> Vec<ManifestRow> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv is readable");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            ManifestRow {
                path: cols[0].to_string(),
                format: cols[1].to_string(),
                producer: cols[2].to_string(),
                expected_findings: cols[3]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad count in row: {line}")),
            }
        })
        .collect()
}
