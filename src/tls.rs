//! One root-certificate bundle for every HTTPS client in the process, read and checked once.
//!
//! Left to themselves, the AWS SDK's HTTP client and reqwest (the CI token endpoints, doctor,
//! the webhook) each load the system's trust store. Worse, the SDK parses its roots once per
//! *client*: `Client::from_conf` builds a connector (roots parsed) only to drop it, then the
//! first request builds the real one. A login made four parses of the ~140 certificates of
//! Debian's bundle, with rustls-pki-types' constant-time base64 decoder (written for private
//! keys): half of a login's own CPU time.
//!
//! Here the system's CA *bundle* (one file) is read and decoded once, with the plain `base64`
//! decoder (certificates are public), and every certificate is checked as a trust anchor: one
//! that is not (a broken block in `SSL_CERT_FILE`) is skipped with a warning, where the SDK
//! would abort the process on it. reqwest gets the DER certificates; the SDK, which takes PEM
//! only, the checked ones re-encoded, and parses them once: its throwaway validation connector
//! is skipped ([`SkipValidation`]) and its one connector is built on a worker thread while the
//! CI token request is in flight ([`sdk_http_client`]).
//!
//! `SSL_CERT_FILE` names another bundle (a TLS-inspecting proxy's CA added); with
//! `SSL_CERT_DIR`, or on a system without a known bundle, the clients keep their own native
//! loading.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use aws_smithy_http_client::{proxy::ProxyConfig, tls, Connector};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

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
static ROOTS: OnceLock<Option<Roots>> = OnceLock::new();

/// The bundle's certificates that are valid trust anchors, in both forms the clients take.
#[derive(Debug)]
struct Roots {
    /// DER, for reqwest.
    der: Vec<CertificateDer<'static>>,
    /// The same certificates as one PEM document, for the AWS SDK.
    pem: Vec<u8>,
}

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

/// The bundle's roots, read on first use; `None`: let each client load its own roots.
fn roots() -> Option<&'static Roots> {
    ROOTS
        .get_or_init(|| {
            let path = PATH.get().cloned().flatten()?;
            let text = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(
                        "cannot read the CA bundle {}: {e}; using the system's certificate store",
                        path.display()
                    );
                    return None;
                }
            };
            let (roots, skipped) = parse(&text);
            if skipped > 0 {
                tracing::warn!(
                    "{skipped} block(s) of the CA bundle {} are not valid certificates and are ignored",
                    path.display()
                );
            }
            if roots.der.is_empty() {
                tracing::warn!(
                    "the CA bundle {} holds no certificate; using the system's certificate store",
                    path.display()
                );
                return None;
            }
            Some(roots)
        })
        .as_ref()
}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// The certificates of a PEM bundle that are usable trust anchors, and how many
/// `CERTIFICATE` blocks were not (bad base64, or DER that is not a certificate). Other blocks
/// (keys, CRLs, text between blocks) are ignored, as every TLS library does.
fn parse(text: &[u8]) -> (Roots, usize) {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut roots = Roots {
        der: Vec::new(),
        pem: Vec::new(),
    };
    // The check rustls (and so both clients) makes when adding a root.
    let mut anchors = rustls::RootCertStore::empty();
    let mut skipped = 0;
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let body_and_more = &rest[start + BEGIN.len()..];
        let Some(end) = find(body_and_more, END) else {
            skipped += 1;
            break;
        };
        let body: Vec<u8> = body_and_more[..end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        rest = &body_and_more[end + END.len()..];
        let der = match engine.decode(&body) {
            Ok(der) => CertificateDer::from(der),
            Err(_) => {
                skipped += 1;
                continue;
            }
        };
        if anchors.add(der.clone()).is_ok() {
            roots.pem.extend_from_slice(BEGIN);
            roots.pem.push(b'\n');
            for line in body.chunks(64) {
                roots.pem.extend_from_slice(line);
                roots.pem.push(b'\n');
            }
            roots.pem.extend_from_slice(END);
            roots.pem.push(b'\n');
            roots.der.push(der);
        } else {
            skipped += 1;
        }
    }
    (roots, skipped)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A reqwest client builder that trusts the shared bundle (when there is one). Building it
/// costs nothing: the roots are parsed when the first server certificate is checked, so a
/// client that only speaks plain HTTP (or fails before the handshake) never parses them.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match client_config() {
        Some(config) => builder.tls_backend_preconfigured(config.clone()),
        None => builder,
    }
}

/// The rustls configuration reqwest clients share; `None` without a bundle to share.
fn client_config() -> Option<&'static rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            PATH.get().cloned().flatten()?;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let verifier = Arc::new(LazyRoots {
                provider: Arc::clone(&provider),
                verifier: OnceLock::new(),
            });
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .dangerous() // a verifier of our own, but it is rustls' WebPKI one, built later
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            // What reqwest offers with its own configuration (the `http2` feature).
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(config)
        })
        .as_ref()
}

/// rustls' WebPKI server verifier over the shared roots, built on the first certificate to
/// check. The handshake's signature checks need no roots: they use the provider's algorithms,
/// exactly as the WebPKI verifier does.
#[derive(Debug)]
struct LazyRoots {
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl LazyRoots {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let mut store = rustls::RootCertStore::empty();
                match roots() {
                    Some(r) => {
                        store.add_parsable_certificates(r.der.iter().cloned());
                    }
                    // The bundle turned out unreadable or empty (warned): the system's store.
                    None => {
                        let native = rustls_native_certs::load_native_certs();
                        store.add_parsable_certificates(native.certs);
                    }
                }
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(store),
                    Arc::clone(&self.provider),
                )
                .build()
                .map_err(|e| format!("no usable CA certificate to check servers with: {e}"))
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The AWS SDK's HTTP client: the SDK's default one (rustls with aws-lc, proxies from
/// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`) trusting the shared bundle; `None`: the SDK's
/// default client. Its connector for `connect`/`read` timeouts (the ones every client of the
/// program uses) is built at once on a worker thread, so that the roots are parsed while the
/// caller does something else (fetches the CI token); the first request takes it.
pub fn sdk_http_client(connect: Duration, read: Duration) -> Option<SharedHttpClient> {
    // Only reads the bundle's path: whether there is one to share.
    PATH.get().cloned().flatten()?;
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(connect)
        .read_timeout(read)
        .build();
    let warm = {
        let settings = settings.clone();
        std::thread::Builder::new()
            .name("tls-roots".into())
            .spawn(move || connector(Some(&settings), None))
            .ok()
    };
    let warm: Mutex<Option<JoinHandle<Connector>>> = Mutex::new(warm);
    let client = aws_smithy_http_client::Builder::new().build_with_connector_fn(
        move |wanted, components| {
            let same = wanted.is_some_and(|w| {
                w.connect_timeout() == settings.connect_timeout()
                    && w.read_timeout() == settings.read_timeout()
            });
            // A poisoned lock only means another request panicked: build afresh.
            let handle = same
                .then(|| warm.lock().ok().and_then(|mut w| w.take()))
                .flatten();
            match handle.map(JoinHandle::join) {
                Some(Ok(built)) => built,
                _ => connector(wanted, components),
            }
        },
    );
    Some(SharedHttpClient::new(SkipValidation(client)))
}

/// The SDK's default connector (`aws_smithy_runtime`'s `default_https_client`), trusting the
/// shared roots when they parsed, else the system's.
fn connector(
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
) -> Connector {
    let store = match roots() {
        Some(r) => tls::TrustStore::empty().with_pem_certificate(r.pem.as_slice()),
        None => tls::TrustStore::default(),
    };
    let context = tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default();
    let mut builder = Connector::builder()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context);
    builder.set_connector_settings(settings.cloned());
    if let Some(c) = components {
        builder.set_sleep_impl(c.sleep_impl());
    }
    builder.set_proxy_config(Some(ProxyConfig::from_env()));
    builder.build()
}

/// The SDK's client, minus the connector it builds (roots parsed) and drops each time a
/// service client is made (`validate_base_client_config`, there "so that native certs load at
/// client initialization time"): here they are loaded once, on the worker thread.
#[derive(Debug)]
struct SkipValidation(SharedHttpClient);

impl HttpClient for SkipValidation {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../tests/support/test-ca.pem");

    #[test]
    fn parses_good_blocks_and_counts_bad_ones() {
        let text = format!(
            "junk before\n{CERT}\n-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{CERT}"
        );
        let (roots, skipped) = parse(text.as_bytes());
        assert_eq!(roots.der.len(), 2);
        assert_eq!(skipped, 2);
        // The PEM handed to the SDK holds exactly the good certificates, and parses back.
        let (again, none) = parse(&roots.pem);
        assert_eq!(none, 0);
        assert_eq!(again.der, roots.der);
    }

    #[test]
    fn an_unterminated_block_is_skipped_not_a_panic() {
        let (roots, skipped) = parse(b"-----BEGIN CERTIFICATE-----\nMIIB");
        assert!(roots.der.is_empty());
        assert_eq!(skipped, 1);
        let (roots, skipped) = parse(b"");
        assert!(roots.der.is_empty() && roots.pem.is_empty());
        assert_eq!(skipped, 0);
    }
}
