//! Reading what the code under test writes: YAML documents (action.yml, the GitLab component,
//! the packed orb) as JSON, GitHub runner files in their heredoc form, base64.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::servers::python;

pub fn b64decode(s: &str) -> String {
    // A tiny standard-alphabet decoder, so the tests need no base64 crate of their own.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A YAML file as JSON (through the test venv's ruamel.yaml, which check-jsonschema brings).
/// `after_separator`: parse only what follows the first `---` line (a GitLab component's job
/// part, after its `spec:` header).
pub fn yaml_to_json(path: &Path, after_separator: bool) -> serde_json::Value {
    let code = r#"
import json, sys
from ruamel.yaml import YAML
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2] == "1":
    head, sep, tail = text.partition("\n---\n")
    text = tail if sep else text
print(json.dumps(YAML(typ="safe").load(text)))
"#;
    let out = Command::new(python())
        .args([
            "-c",
            code,
            path.to_str().unwrap(),
            if after_separator { "1" } else { "0" },
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cannot parse {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A GitHub runner file ($GITHUB_OUTPUT, $GITHUB_STATE...) in its `name<<DELIM` heredoc form.
pub fn runner_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line.split_once("<<").unwrap();
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

/// What a run printed, with what changes from run to run taken out: the sandbox's path, the
/// local servers' addresses, and numbers of milliseconds and seconds (timings, clock skew,
/// token lifetimes), so that the words users read are reviewed as a whole when they change.
pub fn scrubbed(text: &str, places: &[(&str, &str)]) -> String {
    // The runner's mask commands carry the secrets themselves: new ones every run.
    let mut out: String = text
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .map(|l| format!("{l}\n"))
        .collect();
    for (from, to) in places {
        out = out.replace(from, to);
    }
    // RFC 3339 times (2026-12-05T09:41:49.770999Z) become [TIME].
    let mut timed = String::new();
    let mut rest = out.as_str();
    while let Some(t) = rest.find('T') {
        let date = &rest[t.saturating_sub(10)..t];
        let is_date = date.len() == 10
            && date.chars().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            });
        let end = rest[t + 1..]
            .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
            .map(|e| t + 1 + e);
        match end {
            Some(e) if is_date && rest[e..].starts_with('Z') => {
                timed.push_str(&rest[..t - 10]);
                timed.push_str("[TIME]");
                rest = &rest[e + 1..];
            }
            _ => {
                timed.push_str(&rest[..=t]);
                rest = &rest[t + 1..];
            }
        }
    }
    timed.push_str(rest);
    let out = timed;
    // Digits followed by a unit of time become N.
    let mut scrubbed = String::new();
    let chars: Vec<char> = out.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
            let timed = [" ms", "ms", " s ", " s)", " s,", " s.", " s;", "s "]
                .iter()
                .any(|u| rest.starts_with(u))
                || rest == " s"
                || rest.starts_with(" s\n");
            if timed {
                scrubbed.push('N');
            } else {
                scrubbed.extend(&chars[start..i]);
            }
        } else {
            scrubbed.push(chars[i]);
            i += 1;
        }
    }
    scrubbed
}
