//! The architecture as the README and `lib.rs` state it: every module sits in a layer, and
//! imports only from its own layer or those below, with no circle between modules; only
//! `cli.rs` and `config.rs` (and `lib.rs`, `main.rs`, which call them) know clap; the README's
//! layout lists exactly the files in `src/`.

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

/// The layers, bottom up, as `lib.rs` lists them: each top-level module of `src/` is in one.
const LAYERS: &[&[&str]] = &[
    &[
        "secret",
        "claims",
        "error",
        "env",
        "env_vars",
        "retry",
        "output",
        "logging",
        "id_token",
        "runtime",
        "tls",
        "tempfiles",
        "fs",
        "telemetry",
    ],
    &["platform", "aws", "docker", "config_file"],
    &["identity"],
    &["cache"],
    &["commands"],
    &["cli", "config"],
];

/// The top-level module of a source path (`src/cache/redis.rs` -> `cache`).
fn module_of(path: &str) -> String {
    let rel = path.trim_start_matches("src/").trim_end_matches(".rs");
    rel.split('/').next().unwrap().to_string()
}

/// The top-level modules a file's code names (`crate::x`), comments and unit tests left out.
fn imports(text: &str) -> std::collections::BTreeSet<String> {
    let code = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut out = std::collections::BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_import_runs_down_the_layers_and_no_modules_import_each_other_in_a_circle() {
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        let module = module_of(&path);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!(
                "{path}: module {module} is in no layer of LAYERS (and lib.rs)"
            ));
            continue;
        };
        for dep in imports(&text) {
            if dep == module {
                continue;
            }
            match layer(&dep) {
                Some(l) if l <= own => {}
                Some(_) => wrong.push(format!("{path} ({module}) imports {dep}, a layer above")),
                None => wrong.push(format!("{path} imports {dep}, which is in no layer")),
            }
            graph.entry(module.clone()).or_default().insert(dep);
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // No circle: a depth-first walk never meets a module still on its path.
    fn walk(
        m: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for dep in graph.get(m).into_iter().flatten() {
            if let Some(c) = walk(dep, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = Default::default();
    for m in graph.keys() {
        if let Some(circle) = walk(m, &graph, &mut Vec::new(), &mut done) {
            panic!(
                "modules import each other in a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn lib_rs_names_every_layer_as_the_test_does() {
    let lib = std::fs::read_to_string(repo_root().join("src/lib.rs")).unwrap();
    for layer in LAYERS {
        for m in *layer {
            assert!(
                lib.contains(&format!("`{m}`")),
                "lib.rs's layer list leaves out `{m}`"
            );
        }
    }
}
