//! How the AWS calls travel: over TLS, trusting the bundle `SSL_CERT_FILE` names (a
//! TLS-inspecting proxy's CA) and refusing a server no trusted CA signed; through the proxy
//! `HTTP_PROXY`/`HTTPS_PROXY` name, unless `NO_PROXY` says otherwise.

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// The proxy in front of moto, serving HTTPS with a certificate for 127.0.0.1 signed by a CA
/// of the test's own (in `dir`: `ca.crt`).
fn tls_proxy(dir: &std::path::Path) -> Proxy {
    make_certs(dir, &["localhost"]);
    Proxy::with_args(&[
        "--tls-cert",
        dir.join("server.crt").to_str().unwrap(),
        "--tls-key",
        dir.join("server.key").to_str().unwrap(),
    ])
}

/// The services a proxy answered, in order (from its record file: its control endpoint speaks
/// plain HTTP only).
fn recorded(proxy: &Proxy) -> Vec<String> {
    std::fs::read_to_string(&proxy.record)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["service"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn aws_calls_over_tls_trust_ssl_cert_file() {
    let certs = tempfile::tempdir().unwrap();
    let proxy = tls_proxy(certs.path());
    let sb = Sandbox::new();
    let https = format!("https://127.0.0.1:{}", proxy.server.port);
    // A bundle with a broken block before the CA: the block is skipped with a warning, the
    // CA still trusted (the SDK alone would abort the process on such a block).
    let bundle = bundle_with_a_broken_block(&sb, certs.path());
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("AWS_ENDPOINT_URL", &https)
        .env("SSL_CERT_FILE", bundle.to_str().unwrap())
        .args(&["--registries", "111111111111"])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(recorded(&proxy), ["sts", "ecr"]);
    assert!(
        run.stderr.contains("1 block(s) of the CA bundle") && run.stderr.contains("ignored"),
        "the broken block is reported:\n{}",
        run.stderr
    );
}

/// A bundle whose first block is not a certificate (reported when the bundle is read), then
/// the test CA.
fn bundle_with_a_broken_block(sb: &Sandbox, certs: &std::path::Path) -> std::path::PathBuf {
    let bundle = sb.path().join("bundle.pem");
    let ca = std::fs::read_to_string(certs.join("ca.crt")).unwrap();
    std::fs::write(
        &bundle,
        format!("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n{ca}"),
    )
    .unwrap();
    bundle
}

#[test]
fn plain_http_endpoints_never_read_the_ca_bundle() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path(), &["localhost"]);
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let bundle = bundle_with_a_broken_block(&sb, certs.path());
    // Every endpoint is http:// (a local test stack): no certificate to check, so the bundle
    // is not even read, as curl does not read its CA file for an http:// URL.
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("SSL_CERT_FILE", bundle.to_str().unwrap())
        .args(&["--registries", "111111111111", "-v"])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert!(
        !run.stderr.contains("CA bundle"),
        "the bundle was read:\n{}",
        run.stderr
    );
}

#[test]
fn one_login_mixes_a_plain_http_sts_and_an_https_ecr() {
    let certs = tempfile::tempdir().unwrap();
    let tls = tls_proxy(certs.path());
    let plain = Proxy::start();
    let sb = Sandbox::new();
    let bundle = bundle_with_a_broken_block(&sb, certs.path());
    // Each request takes the connector its own scheme needs: the roots are read (and the
    // broken block reported) for the HTTPS one only.
    let run = sb
        .github(&plain, &shared_issuer_url())
        .env(
            "AWS_ENDPOINT_URL_ECR",
            &format!("https://127.0.0.1:{}", tls.server.port),
        )
        .env("SSL_CERT_FILE", bundle.to_str().unwrap())
        .args(&["--registries", "111111111111"])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(
        plain
            .calls()
            .iter()
            .map(|c| c["service"].clone())
            .collect::<Vec<_>>(),
        ["sts"]
    );
    assert_eq!(recorded(&tls), ["ecr"]);
    assert!(
        run.stderr.contains("1 block(s) of the CA bundle"),
        "the HTTPS call read the bundle:\n{}",
        run.stderr
    );
}

#[test]
fn a_server_no_trusted_ca_signed_is_refused_with_the_fix() {
    let certs = tempfile::tempdir().unwrap();
    let proxy = tls_proxy(certs.path());
    let sb = Sandbox::new();
    let https = format!("https://127.0.0.1:{}", proxy.server.port);
    // The system's bundle: the test CA is not in it.
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("AWS_ENDPOINT_URL", &https)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .args(&["--registries", "111111111111"])
        .run();
    run.assert_fails(6, &["UnknownIssuer", "not signed by a CA", "SSL_CERT_FILE"]);
    assert!(
        recorded(&proxy).is_empty(),
        "nothing reached the untrusted server"
    );
    assert!(
        !sb.config_path().exists(),
        "no auth file written on a failure"
    );
}

#[test]
fn aws_calls_go_through_http_proxy_and_no_proxy_is_honoured() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    // A name that resolves nowhere: only a forward proxy can carry these calls.
    let endpoint = "http://aws-endpoint.invalid:8080";
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("HTTP_PROXY", &proxy.url())
        // The CI token endpoint on 127.0.0.1 is reached directly.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(&["--registries", "111111111111"])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    let calls = proxy.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls.iter().all(|c| c["absolute_form"] == true),
        "every AWS call came as a forward-proxy request: {calls:?}"
    );

    // The same endpoint listed in NO_PROXY: the calls go direct, and the name does not
    // resolve.
    let direct = sb
        .github(&proxy, &shared_issuer_url())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("HTTP_PROXY", &proxy.url())
        .env("NO_PROXY", "127.0.0.1,localhost,aws-endpoint.invalid")
        .args(&["--registries", "111111111111"])
        .run();
    direct.assert_fails(6, &["did not resolve", "NO_PROXY"]);
    assert_eq!(proxy.calls().len(), 2, "no call went through the proxy");
}

#[test]
fn tls_randomness_is_seeded_by_the_kernel_not_by_cpu_jitter() {
    // aws-lc seeds from CPU jitter measurements unless built with
    // AWS_LC_SYS_NO_JITTER_ENTROPY=1 (.cargo/config.toml): 30 ms of CPU at every process's
    // first TLS handshake. The test binary keeps its symbols: aws-lc's are there, and none of
    // jitterentropy's.
    let binary = std::fs::read(BIN).unwrap();
    let has = |needle: &[u8]| memchr::memmem::find(&binary, needle).is_some();
    assert!(
        has(b"RAND_bytes"),
        "{BIN} has no aws-lc symbols to look at (stripped?)"
    );
    assert!(
        !has(b"jent_entropy_init"),
        "{BIN} links aws-lc's CPU-jitter entropy: set AWS_LC_SYS_NO_JITTER_ENTROPY=1 in .cargo/config.toml [env]"
    );
}

#[test]
fn a_proxy_password_is_masked_in_the_ci_log_and_redacted_everywhere() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let url = "http://corp-user:s3cret%2Fproxy-pw@127.0.0.1:9";
    // NO_PROXY keeps every request off the proxy: its password is registered all the same, as
    // an HTTP library's error that quotes the proxy's URL could show it.
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("HTTPS_PROXY", url)
        .env("HTTP_PROXY", url)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(&["--registries", "111111111111", "-vvv"])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    for form in ["s3cret%2Fproxy-pw", "s3cret/proxy-pw"] {
        assert!(
            run.stdout.contains(&format!("::add-mask::{form}\n")),
            "GitHub is told to mask the proxy password as {form}:\n{}",
            run.stdout
        );
    }
    let shown: Vec<&str> = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .filter(|l| l.contains("s3cret"))
        .collect();
    assert!(shown.is_empty(), "the proxy password is shown: {shown:#?}");
}
