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
//! is skipped ([`ByScheme`]) and its one TLS connector is built on a worker thread while the
//! CI token request is in flight ([`sdk_http_client`]).
//!
//! Nothing is read for plain HTTP (a local endpoint: LocalStack, moto, the tests): reqwest
//! checks its roots at the first certificate, and the SDK's plain-HTTP requests take a
//! connector without roots. Parsing them costs a few milliseconds of CPU, most of a login's
//! own on such a stack.
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
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
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
/// Whether the SDK's requests are expected to use TLS (so its roots are worth parsing ahead).
static EXPECT_TLS: OnceLock<bool> = OnceLock::new();
/// Whether a plain-HTTP request's proxy is reached over TLS (`HTTP_PROXY=https://...`).
static PLAIN_PROXY_TLS: OnceLock<bool> = OnceLock::new();

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
pub(crate) fn init(env: &Env) {
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
    let proxy_tls = plain_proxy_tls(env);
    let _ = PLAIN_PROXY_TLS.set(proxy_tls);
    let _ = EXPECT_TLS.set(proxy_tls || !aws_endpoints_plain(env));
}

/// Whether plain-HTTP requests go through a proxy reached over TLS (`HTTP_PROXY=https://…`),
/// so that they too need the roots.
fn plain_proxy_tls(env: &Env) -> bool {
    [EnvVars::HTTP_PROXY, EnvVars::ALL_PROXY]
        .into_iter()
        .filter_map(|name| {
            env.get(name)
                .or_else(|| env.get(&name.to_ascii_lowercase()))
        })
        .any(|proxy| !is_plain_http(proxy) && proxy.contains("://"))
}

/// Whether every AWS service a login calls has a plain-HTTP endpoint set in
/// `AWS_ENDPOINT_URL[_<SERVICE>]` (LocalStack, moto); without one, it is AWS itself, over
/// HTTPS. Only a hint (a profile's `endpoint_url` is not read here): it decides whether the
/// roots are parsed ahead, not which connector a request takes.
fn aws_endpoints_plain(env: &Env) -> bool {
    let general = env.get(EnvVars::AWS_ENDPOINT_URL);
    [
        EnvVars::AWS_ENDPOINT_URL_STS,
        EnvVars::AWS_ENDPOINT_URL_ECR,
        EnvVars::AWS_ENDPOINT_URL_ECR_PUBLIC,
    ]
    .into_iter()
    .all(|name| env.get(name).or(general).is_some_and(is_plain_http))
}

/// The bundle [`init`] chose, if any (its path only: nothing is read).
fn bundle() -> Option<&'static Path> {
    PATH.get()?.as_deref()
}

/// The bundle's roots, read on first use; `None`: let each client load its own roots.
fn roots() -> Option<&'static Roots> {
    ROOTS
        .get_or_init(|| {
            let path = bundle()?;
            let text = match std::fs::read(path) {
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
    let begin = memchr::memmem::Finder::new(BEGIN);
    let end = memchr::memmem::Finder::new(END);
    let mut roots = Roots {
        der: Vec::new(),
        pem: Vec::new(),
    };
    // The check rustls (and so both clients) makes when adding a root.
    let mut anchors = rustls::RootCertStore::empty();
    let mut skipped = 0;
    let mut rest = text;
    let mut body = Vec::new();
    while let Some(start) = begin.find(rest) {
        let body_and_more = &rest[start + BEGIN.len()..];
        let Some(stop) = end.find(body_and_more) else {
            skipped += 1;
            break;
        };
        let raw = &body_and_more[..stop];
        rest = &body_and_more[stop + END.len()..];
        // The base64 text: each line trimmed (the usual form, found a line at a time), or
        // else every whitespace byte dropped wherever it is.
        body.clear();
        let mut from = 0;
        for line_end in memchr::memchr_iter(b'\n', raw).chain([raw.len()]) {
            body.extend_from_slice(raw[from..line_end].trim_ascii());
            from = line_end + 1;
        }
        let decoded = engine.decode(&body).or_else(|_| {
            body.retain(|b| !b.is_ascii_whitespace());
            engine.decode(&body)
        });
        let der = match decoded {
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

/// A reqwest client builder that trusts the shared bundle (when there is one). Building it
/// costs nothing: the roots are parsed when the first server certificate is checked, so a
/// client that only speaks plain HTTP (or fails before the handshake) never parses them.
pub(crate) fn reqwest_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match client_config() {
        Some(config) => builder.tls_backend_preconfigured(config.clone()),
        None => builder,
    }
}

/// The rustls configuration of the fleet cache's `rediss://` connections: the shared bundle's
/// roots, else the system's certificate store; no ALPN.
pub(crate) fn redis_client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        if let Some(shared) = client_config() {
            let mut config = shared.clone();
            config.alpn_protocols.clear();
            return Arc::new(config);
        }
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!("no trusted root certificate found: rediss:// connections will fail");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // Invariant: aws-lc-rs's provider supports rustls' default protocol versions.
        #[allow(clippy::expect_used)]
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }))
}

/// The rustls configuration reqwest clients share; `None` without a bundle to share.
fn client_config() -> Option<&'static rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            bundle()?;
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
/// default client.
///
/// A request over plain HTTP (a local endpoint: LocalStack, moto) goes through a connector
/// with no roots at all, as curl does not read its CA bundle for an `http://` URL; HTTPS
/// requests go through the one that trusts the bundle. That one, for the `connect`/`read`
/// timeouts every client of the program uses, is built on a worker thread at once when the
/// SDK's endpoints are expected to be HTTPS (see [`init`]), so that the roots are parsed while
/// the caller does something else (fetches the CI token); the first HTTPS request takes it.
pub(crate) fn sdk_http_client(connect: Duration, read: Duration) -> Option<SharedHttpClient> {
    bundle()?;
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(connect)
        .read_timeout(read)
        .build();
    let warm = if EXPECT_TLS.get().copied().unwrap_or(true) {
        let settings = settings.clone();
        std::thread::Builder::new()
            .name("tls-roots".into())
            .spawn(move || connector(Trust::Bundle, Some(&settings), None))
            .ok()
    } else {
        None
    };
    let warm: Mutex<Option<JoinHandle<Connector>>> = Mutex::new(warm);
    let tls = aws_smithy_http_client::Builder::new().build_with_connector_fn(
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
                _ => connector(Trust::Bundle, wanted, components),
            }
        },
    );
    let plain =
        aws_smithy_http_client::Builder::new().build_with_connector_fn(|wanted, components| {
            connector(Trust::Nothing, wanted, components)
        });
    Some(SharedHttpClient::new(ByScheme { tls, plain }))
}

/// What a connector's TLS trusts.
#[derive(Clone, Copy)]
enum Trust {
    /// The shared bundle when it parsed, else the system's store.
    Bundle,
    /// No root at all: for plain-HTTP requests, which never check a certificate.
    Nothing,
}

/// The SDK's default connector (`aws_smithy_runtime`'s `default_https_client`) with the given
/// trust.
fn connector(
    trust: Trust,
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
) -> Connector {
    let store = match trust {
        Trust::Nothing => tls::TrustStore::empty(),
        Trust::Bundle => match roots() {
            Some(r) => tls::TrustStore::empty().with_pem_certificate(r.pem.as_slice()),
            None => tls::TrustStore::default(),
        },
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

/// The SDK's client: each request on the connector its scheme needs. It also skips the
/// connector the SDK builds (roots parsed) and drops each time a service client is made
/// (`validate_base_client_config`, there "so that native certs load at client initialization
/// time"): here they are loaded once, on the worker thread or at the first HTTPS request.
#[derive(Debug)]
struct ByScheme {
    tls: SharedHttpClient,
    plain: SharedHttpClient,
}

impl HttpClient for ByScheme {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Dispatch {
            tls: self.tls.clone(),
            plain: self.plain.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.tls.connector_metadata()
    }
}

/// One request's choice between the two clients' connectors (each client keeps one connector,
/// and so one connection pool, per timeout settings).
struct Dispatch {
    tls: SharedHttpClient,
    plain: SharedHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch").finish_non_exhaustive()
    }
}

impl HttpConnector for Dispatch {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let plain = is_plain_http(request.uri()) && !PLAIN_PROXY_TLS.get().copied().unwrap_or(true);
        let client = if plain { &self.plain } else { &self.tls };
        client
            .http_connector(&self.settings, &self.components)
            .call(request)
    }
}

/// Whether a URL is `http://` (not `https://`), in any case.
fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
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
    fn roots_are_parsed_ahead_unless_every_aws_endpoint_is_plain_http() {
        let env = |pairs: &[(&str, &str)]| pairs.iter().copied().collect::<Env>();
        assert!(!aws_endpoints_plain(&env(&[])));
        assert!(aws_endpoints_plain(&env(&[(
            "AWS_ENDPOINT_URL",
            "HTTP://localhost:4566"
        )])));
        assert!(!aws_endpoints_plain(&env(&[
            ("AWS_ENDPOINT_URL", "http://localhost:4566"),
            ("AWS_ENDPOINT_URL_ECR", "https://ecr.example")
        ])));
        assert!(!aws_endpoints_plain(&env(&[(
            "AWS_ENDPOINT_URL_STS",
            "http://localhost:4566"
        )])));
        assert!(!plain_proxy_tls(&env(&[(
            "HTTP_PROXY",
            "http://proxy:3128"
        )])));
        assert!(!plain_proxy_tls(&env(&[("http_proxy", "proxy:3128")])));
        assert!(plain_proxy_tls(&env(&[(
            "http_proxy",
            "https://proxy:3128"
        )])));
        assert!(plain_proxy_tls(&env(&[("ALL_PROXY", "https://proxy")])));
        assert!(is_plain_http("http://x") && !is_plain_http("https://x") && !is_plain_http("http"));
    }

    #[test]
    fn crlf_lines_and_stray_whitespace_still_parse() {
        let (clean, _) = parse(CERT.as_bytes());
        assert_eq!(clean.der.len(), 1);
        let crlf = CERT.replace('\n', "\r\n");
        // A space and a tab inside the base64 text, as lax PEM writers leave them.
        let body_start = CERT.find("-----\n").map(|i| i + 6).unwrap_or(0);
        let mut spaced = CERT.to_string();
        spaced.insert_str(body_start + 10, " \t");
        for text in [crlf, spaced] {
            let (roots, skipped) = parse(text.as_bytes());
            assert_eq!(skipped, 0, "{text}");
            assert_eq!(roots.der, clean.der);
        }
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
