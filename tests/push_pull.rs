//! The whole product, for real: three private registries in two regions plus ECR Public in
//! one run, one ECR call per region, then `skopeo` — reading only the auth file ecr-login
//! wrote — pushes an image to each registry (Debian's docker-registry, htpasswd user `AWS`
//! with that registry's password, TLS) and pulls it back.
//!
//! The ECR host names resolve to 127.0.0.11-14 inside the private network namespace that
//! scripts/test.sh runs the tests in (tests/support/hosts).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::harness::*;

/// (host, address, password) of each local registry; must match tests/support/hosts.
pub(crate) const REGISTRIES: &[(&str, &str, &str)] = &[
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
];

pub(crate) struct Registries {
    _servers: Vec<Server>,
    pub(crate) certs: PathBuf,
    pub(crate) layout: PathBuf,
    _dir: tempfile::TempDir,
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn registries() -> &'static Registries {
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
            let mut child = Command::new("htpasswd")
                .args(["-B", "-i", "-c", htpasswd.to_str().unwrap(), "AWS"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
            assert!(child.wait().unwrap().success());
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
            servers.push(spawn_plain(&[
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

fn spawn_plain(args: &[&str]) -> Server {
    spawn_server(args)
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
pub(crate) fn skopeo(sb: &Sandbox) -> Command {
    let mut c = Command::new(require_tool("skopeo", "skopeo"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("skopeo-home"))
        .arg("--insecure-policy");
    c
}

#[test]
fn three_registries_in_two_regions_and_public_then_skopeo_pushes_and_pulls() {
    let regs = registries();
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let list = "111111111111\n222222222222.dkr.ecr.us-east-1.amazonaws.com,333333333333.dkr.ecr.eu-west-1.amazonaws.com, public.ecr.aws";
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", list])
        .run();
    run.assert_ok();

    // The right entries, and one ECR call per region (plus one to ECR Public).
    for (host, _, password) in REGISTRIES {
        assert_eq!(sb.auth(host), format!("AWS:{password}"));
    }
    assert_eq!(sb.config()["auths"].as_object().unwrap().len(), 4);
    assert_eq!(
        proxy.count("ecr", Some("us-east-1")),
        1,
        "{:?}",
        proxy.calls()
    );
    assert_eq!(proxy.count("ecr", Some("eu-west-1")), 1);
    assert_eq!(proxy.count("ecr-public", None), 1);
    assert_eq!(proxy.count("sts", None), 1);

    let authfile = sb.config_path();
    let certs = regs.certs.to_str().unwrap();
    for (host, _, _) in REGISTRIES {
        let image = format!("docker://{host}/team/app:v1");
        run_ok(skopeo(&sb).args([
            "copy",
            "--dest-authfile",
            authfile.to_str().unwrap(),
            "--dest-cert-dir",
            certs,
            &format!("oci:{}:v1", regs.layout.display()),
            &image,
        ]));
        let inspected = run_ok(skopeo(&sb).args([
            "inspect",
            "--authfile",
            authfile.to_str().unwrap(),
            "--cert-dir",
            certs,
            &image,
        ]));
        let v: serde_json::Value = serde_json::from_str(&inspected).unwrap();
        assert_eq!(
            v["Labels"]["built-by"], "ecr-login tests",
            "{host}: {inspected}"
        );
        let pulled = sb.path().join(format!("pulled-{host}"));
        run_ok(skopeo(&sb).args([
            "copy",
            "--src-authfile",
            authfile.to_str().unwrap(),
            "--src-cert-dir",
            certs,
            &image,
            &format!("oci:{}:v1", pulled.display()),
        ]));
        assert!(pulled.join("index.json").is_file());
    }
}

#[test]
fn the_registries_really_check_the_password() {
    // Without this, the push test above would pass against registries that let anyone in.
    let regs = registries();
    let sb = Sandbox::new();
    sb.write_config(
        &serde_json::json!({"auths": {REGISTRIES[0].0: {"auth": "QVdTOndyb25nLXBhc3N3b3Jk"}}})
            .to_string(),
    );
    let out = skopeo(&sb)
        .args([
            "copy",
            "--dest-authfile",
            sb.config_path().to_str().unwrap(),
            "--dest-cert-dir",
            regs.certs.to_str().unwrap(),
            &format!("oci:{}:v1", regs.layout.display()),
            &format!("docker://{}/team/denied:v1", REGISTRIES[0].0),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
}
