//! The architecture as the README states it: only `cli.rs` and `config.rs` (and `lib.rs`,
//! `main.rs`, which call them) know clap; the README's layout lists exactly the files in
//! `src/`.

use std::path::{Path, PathBuf};

/// The repository: where Cargo.toml is.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn only_the_top_layer_sees_clap_types() {
    const TOP: &[&str] = &["src/cli.rs", "src/config.rs", "src/lib.rs", "src/main.rs"];
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| !TOP.contains(&path.as_str()))
        .filter(|(_, text)| {
            text.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//") && (l.contains("clap::") || l.contains("crate::cli"))
            })
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "below the commands, these import clap types: {offenders:?}"
    );
}

#[test]
fn every_source_file_says_why_it_exists() {
    for (path, text) in sources() {
        assert!(
            text.starts_with("//!"),
            "{path} does not start with a module doc (//!)"
        );
    }
}

#[test]
fn the_readmes_layout_lists_exactly_the_source_files() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("## Layout")
        .expect("README has no Layout section");
    let block = &readme[start..];
    let block = &block[block.find("```").unwrap() + 3..];
    let block = &block[..block.find("```").unwrap()];
    let listed: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("src/"))
        .collect();
    let actual: Vec<String> = sources().into_iter().map(|(p, _)| p).collect();
    for path in &actual {
        assert!(
            listed.contains(&path.as_str()),
            "the README's layout misses {path}"
        );
    }
    for path in &listed {
        assert!(
            actual.iter().any(|a| a == path),
            "the README's layout lists {path}, which does not exist"
        );
    }
}
