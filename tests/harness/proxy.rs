//! A proxy per test in front of the shared moto (tests/support/aws_proxy.py): it counts the AWS
//! calls, injects faults, checks web identity tokens like STS and a trust policy would, and
//! records every secret it hands out or is handed, so that tests can prove none was printed.

use std::path::PathBuf;

use super::files::b64decode;
use super::sandbox::Sandbox;
use super::servers::{http_get_json, python, shared_issuer_url, spawn, support, world, Server};

/// A per-test proxy in front of the shared moto (tests/support/aws_proxy.py): counts calls,
/// injects faults, records responses.
pub struct Proxy {
    pub server: Server,
    pub record: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    pub fn start() -> Proxy {
        Proxy::with_args(&[])
    }

    pub fn with_faults(faults: &str) -> Proxy {
        Proxy::with_args(&["--faults", faults])
    }

    pub fn with_args(extra: &[&str]) -> Proxy {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("record.jsonl");
        let script = support("aws_proxy.py");
        let upstream = format!("http://127.0.0.1:{}", w.moto.port);
        let py = python();
        let mut args = vec![
            py.to_str().unwrap(),
            script.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--record",
            record.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let server = spawn(&args, true, 0);
        Proxy {
            server,
            record,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// Every call so far: (service, region, operation, status).
    pub fn calls(&self) -> Vec<serde_json::Value> {
        http_get_json(&format!("{}/__calls", self.url()))
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn count(&self, service: &str, region: Option<&str>) -> usize {
        self.calls()
            .iter()
            .filter(|c| c["service"] == service && region.is_none_or(|r| c["region"] == r))
            .count()
    }

    /// Every secret value the proxy handed out or was handed (keys, tokens, passwords, JWTs).
    pub fn secrets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        let mut out = Vec::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(t) = v["web_identity_token"].as_str() {
                out.push(t.to_string());
            }
            let resp = v["response"].as_str().unwrap_or_default();
            for tag in ["SecretAccessKey", "SessionToken", "AccessKeyId"] {
                let open = format!("<{tag}>");
                let close = format!("</{tag}>");
                if let Some(start) = resp.find(&open) {
                    let rest = &resp[start + open.len()..];
                    out.push(rest[..rest.find(&close).unwrap()].to_string());
                }
            }
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(resp) {
                let data = &json["authorizationData"];
                let items: Vec<&serde_json::Value> = match data {
                    serde_json::Value::Array(a) => a.iter().collect(),
                    serde_json::Value::Object(_) => vec![data],
                    _ => vec![],
                };
                for item in items {
                    if let Some(tok) = item["authorizationToken"].as_str() {
                        out.push(tok.to_string());
                        let decoded = b64decode(tok);
                        out.push(decoded.split_once(':').unwrap().1.to_string());
                    }
                }
            }
        }
        out
    }
}

/// Fails unless `secrets` holds something to look for (an empty list would prove nothing), then
/// fails if any secret of 8 characters or more appears in one of `texts` (what, text).
pub fn assert_no_secret_in(secrets: &[String], texts: &[(&str, &str)]) {
    let secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 8).collect();
    assert!(
        !secrets.is_empty(),
        "no secret was recorded: the check below would prove nothing"
    );
    for s in secrets {
        for (what, text) in texts {
            assert!(
                !text.contains(s.as_str()),
                "{what} shows a secret ({}...):\n{text}",
                &s[..6]
            );
        }
    }
}

/// A per-test proxy whose STS verifies tokens against the shared issuer's JWKS like real STS
/// and accepts only those matching `trust` ({"iss", "aud", "sub" pattern}).
pub fn trusting_proxy(trust: serde_json::Value) -> Proxy {
    let jwks = format!("{}/.well-known/jwks", shared_issuer_url());
    Proxy::with_args(&["--jwks-url", &jwks, "--trust", &trust.to_string()])
}

/// A per-test proxy whose STS evaluates `policy` (an IAM trust policy document) like IAM.
pub fn policy_proxy(sb: &Sandbox, policy: &str) -> Proxy {
    let file = sb.path().join("trust-policy.json");
    std::fs::write(&file, policy).unwrap();
    let jwks = format!("{}/.well-known/jwks", shared_issuer_url());
    Proxy::with_args(&[
        "--jwks-url",
        &jwks,
        "--trust-policy",
        file.to_str().unwrap(),
    ])
}
