//! Local stand-ins for the ECR registries (Debian's docker-registry, htpasswd user `AWS` with
//! the password ECR's answer carries for that registry, TLS), started once per test process at
//! the addresses tests/support/hosts gives their names, an OCI image to push, and `skopeo`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::sandbox::Sandbox;
use super::servers::{require_tool, spawn_server, wait_for_port, Server};

/// (host, address, password) of each local registry; must match tests/support/hosts.
pub const REGISTRIES: &[(&str, &str, &str)] = &[
    (
        "111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "127.0.0.11",
        "111111111111-auth-token",
    ),
    (
        "222222222222.dkr.ecr.us-east-1.amazonaws.com",
        "127.0.0.12",
        "222222222222-auth-token",
    ),
    (
        "333333333333.dkr.ecr.eu-west-1.amazonaws.com",
        "127.0.0.13",
        "333333333333-auth-token",
    ),
    ("public.ecr.aws", "127.0.0.14", "public-ecr-auth-token"),
    // The account and region of the README's and the getting-started pages' examples.
    (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "127.0.0.15",
        "123456789012-auth-token",
    ),
];

pub struct Registries {
    _servers: Vec<Server>,
    /// A directory with the CA that signed the registries' certificate (`--cert-dir`).
    pub certs: PathBuf,
    /// An OCI image layout with one image, tagged `v1`.
    pub layout: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn registries() -> &'static Registries {
    static R: OnceLock<Registries> = OnceLock::new();
    R.get_or_init(|| {
        let registry_bin = require_tool("docker-registry", "docker-registry");
        require_tool("htpasswd", "apache2-utils");
        require_tool("openssl", "openssl");
        for (host, addr, _) in REGISTRIES {
            let resolved = std::net::ToSocketAddrs::to_socket_addrs(&(*host, 443))
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip().to_string());
            assert_eq!(
                resolved.as_deref(),
                Some(*addr),
                "{host} must resolve to {addr}: run the tests with scripts/test.sh, which runs them in a private network namespace with tests/support/hosts as /etc/hosts"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A CA, and a certificate for every registry name signed by it.
        let sans: Vec<String> = REGISTRIES.iter().map(|(h, _, _)| format!("DNS:{h}")).collect();
        std::fs::write(d.join("ext.cnf"), format!("subjectAltName={}\n", sans.join(","))).unwrap();
        run_ok(Command::new("openssl").current_dir(d).args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=ecr-login test CA",
        ]));
        run_ok(Command::new("openssl").current_dir(d).args([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "reg.key", "-out", "reg.csr",
            "-subj", "/CN=registry",
        ]));
        run_ok(Command::new("openssl").current_dir(d).args([
            "x509", "-req", "-in", "reg.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "reg.crt", "-days", "2", "-extfile", "ext.cnf",
        ]));
        let certs = d.join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::copy(d.join("ca.crt"), certs.join("ca.crt")).unwrap();

        let mut servers = Vec::new();
        for (i, (_, addr, password)) in REGISTRIES.iter().enumerate() {
            let htpasswd = d.join(format!("htpasswd{i}"));
            let mut htpasswd_cmd = Command::new("htpasswd");
            htpasswd_cmd.args(["-B", "-i", "-c", htpasswd.to_str().unwrap(), "AWS"]);
            let out = super::sandbox::output_with_stdin(htpasswd_cmd, password);
            assert!(
                out.status.success(),
                "htpasswd: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let storage = d.join(format!("storage{i}"));
            let config = d.join(format!("registry{i}.yml"));
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}:443\n  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: ecr-test\n    path: {}\n",
                    storage.display(),
                    d.join("reg.crt").display(),
                    d.join("reg.key").display(),
                    htpasswd.display()
                ),
            )
            .unwrap();
            servers.push(spawn_server(&[
                registry_bin.to_str().unwrap(),
                "serve",
                config.to_str().unwrap(),
            ]));
        }
        for (_, addr, _) in REGISTRIES {
            wait_for_port(&format!("{addr}:443"));
        }
        let layout = d.join("image");
        write_oci_layout(&layout);
        Registries {
            _servers: servers,
            certs,
            layout,
            _dir: dir,
        }
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A minimal OCI image layout: one empty tar layer, a config, a manifest, tagged `v1`.
fn write_oci_layout(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let d = sha256_hex(bytes);
        std::fs::write(blobs.join(&d), bytes).unwrap();
        (format!("sha256:{d}"), bytes.len())
    };
    let layer = vec![0u8; 1024];
    let (layer_digest, layer_size) = put(&layer);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"built-by": "ecr-login tests"}},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
    })
    .to_string();
    let (config_digest, config_size) = put(config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]
    })
    .to_string();
    let (manifest_digest, manifest_size) = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": "v1"}
            }]
        })
        .to_string(),
    )
    .unwrap();
}

/// `skopeo` with a clean environment (so no other auth file can help it).
pub fn skopeo(sb: &Sandbox) -> Command {
    let mut c = Command::new(require_tool("skopeo", "skopeo"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("skopeo-home"))
        .arg("--insecure-policy");
    c
}
