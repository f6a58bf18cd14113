//! One root-certificate bundle for every HTTPS client in the process.
//!
//! Left to themselves, the AWS SDK's HTTP client and reqwest (the CI token endpoints, doctor,
//! the webhook) each load the system's trust store, and on Debian that means opening and parsing
//! every one of the ~290 files in /etc/ssl/certs, twice: a few milliseconds of a 30 ms login.
//! Here the system's CA *bundle* (one file) is read once and handed to both. `SSL_CERT_FILE`
//! names another bundle (a TLS-inspecting proxy's CA added); with `SSL_CERT_DIR`, or on a
//! system without a known bundle, the clients keep their own native loading.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::env::Env;
use crate::env_vars::EnvVars;

/// Where distributions keep the bundle (the list Go's crypto/x509 also tries).
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
static BUNDLE: OnceLock<Option<Vec<u8>>> = OnceLock::new();

/// Decides which bundle the clients will trust, from the environment snapshot. Called once at
/// start-up; without it no bundle is shared and every client loads its own roots.
pub fn init(env: &Env) {
    let path = match (
        env.get(EnvVars::SSL_CERT_FILE),
        env.get(EnvVars::SSL_CERT_DIR),
    ) {
        (Some(file), _) => Some(PathBuf::from(file)),
        (None, Some(_)) => None,
        (None, None) => BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .map(Path::to_path_buf),
    };
    let _ = PATH.set(path);
}

/// The bundle's PEM bytes, read on first use; `None`: let each client load its own roots.
pub fn bundle() -> Option<&'static [u8]> {
    BUNDLE
        .get_or_init(|| {
            let path = PATH.get().cloned().flatten()?;
            match std::fs::read(&path) {
                Ok(bytes) if !bytes.is_empty() => Some(bytes),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(
                        "cannot read the CA bundle {}: {e}; using the system's certificate store",
                        path.display()
                    );
                    None
                }
            }
        })
        .as_deref()
}

/// A reqwest client builder that trusts the shared bundle (when there is one).
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match bundle().map(reqwest::Certificate::from_pem_bundle) {
        Some(Ok(certs)) if !certs.is_empty() => builder.tls_certs_only(certs),
        _ => builder,
    }
}

/// The AWS SDK's HTTP client (rustls with aws-lc, as the SDK's default) trusting the shared
/// bundle; `None`: the SDK's default client.
pub fn sdk_http_client() -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient> {
    use aws_smithy_http_client::tls;
    let bundle = bundle()?;
    let context = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_pem_certificate(bundle))
        .build()
        .ok()?;
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context)
            .build_https(),
    )
}
