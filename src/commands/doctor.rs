//! `ecr-login doctor`: the command to run when a login or a pull fails. It checks, in order,
//! the platform and why, the identity token and its claims, the role, the clock, each registry
//! (DNS, TCP, TLS, proxy, GetAuthorizationToken) and the auth files, and reports each as ok or
//! a problem with its fix. `--explain "<error text>"` maps a pasted error message to its cause
//! and fix without any network call.

use crate::aws::registry::RegistryRequest;
use crate::platform::Platform;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::aws::{self, registry::Registry};
use crate::docker;
use crate::error::Error;
use crate::id_token::{read_token_file, TokenSource};
use crate::identity::{self, Base, Plan};
use crate::output::{rfc3339, Printer, Report};

/// `doctor`'s settings: what `login` would use, with the identity's planning error kept as a
/// finding rather than a failure.
#[derive(Debug)]
pub(crate) struct DoctorConfig {
    /// `--explain TEXT`: explain this message and check nothing.
    pub explain: Option<String>,
    pub platform: Box<dyn Platform>,
    /// Why that platform (which variables).
    pub platform_why: String,
    pub identity: Result<Plan, Error>,
    pub region: Option<String>,
    pub registries: Vec<RegistryRequest>,
    pub docker_config: PathBuf,
    /// `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL`: where the SDK sends ECR calls instead.
    pub endpoint_url: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Vec<String>,
    /// Podman's auth files, read before Docker's.
    pub podman_auth_files: Vec<PathBuf>,
}

impl DoctorConfig {
    /// The proxy a connection to `host` goes through, if any (HTTPS_PROXY unless NO_PROXY
    /// names the host or a domain of it).
    pub(crate) fn proxy_for(&self, host: &str) -> Option<String> {
        let proxy = self.https_proxy.clone()?;
        let bypass = self.no_proxy.iter().any(|n| {
            let n = n.trim().trim_start_matches('.');
            n == "*" || host == n || host.ends_with(&format!(".{n}"))
        });
        (!bypass).then_some(proxy)
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    Problem,
    /// Not run: an earlier check failed, or it does not apply.
    Skipped,
}

/// One check.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: Vec<String>,
    /// What to do about a problem.
    pub fix: Vec<String>,
}

impl Check {
    fn ok(name: impl Into<String>, detail: Vec<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail,
            fix: Vec::new(),
        }
    }

    fn problem(name: impl Into<String>, detail: Vec<String>, fix: Vec<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Problem,
            detail,
            fix,
        }
    }

    fn skipped(name: impl Into<String>, why: &str) -> Check {
        Check {
            name: name.into(),
            status: Status::Skipped,
            detail: vec![why.to_string()],
            fix: Vec::new(),
        }
    }

    fn from_error(name: impl Into<String>, e: &Error) -> Check {
        Check::problem(name, vec![e.to_string()], e.help())
    }
}

/// Everything `doctor` found.
#[derive(Debug, Serialize)]
pub(crate) struct DoctorReport {
    pub healthy: bool,
    pub checks: Vec<Check>,
}

impl Report for DoctorReport {
    fn human(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for c in &self.checks {
            let tag = match c.status {
                Status::Ok => "ok     ",
                Status::Problem => "PROBLEM",
                Status::Skipped => "skipped",
            };
            let mut detail = c.detail.iter();
            lines.push(format!(
                "{tag} {}: {}",
                c.name,
                detail.next().map(String::as_str).unwrap_or_default()
            ));
            lines.extend(detail.map(|d| format!("        {d}")));
            lines.extend(c.fix.iter().map(|f| format!("        fix: {f}")));
        }
        lines.push(if self.healthy {
            "All checks passed.".into()
        } else {
            "Some checks found problems: see the fixes above.".into()
        });
        lines
    }
}

/// Runs every check and prints the report; `Ok(false)` when a check found a problem.
pub(crate) async fn run(cfg: &DoctorConfig, printer: &Printer) -> Result<bool, Error> {
    let platform = cfg.platform.as_ref();
    platform.install_masking(*printer);
    let mut checks = vec![Check::ok(
        "platform",
        vec![format!("{} ({})", platform.name(), cfg.platform_why)],
    )];

    let region = cfg.region.clone().unwrap_or_else(|| "us-east-1".into());
    let registries: Vec<Registry> = cfg
        .registries
        .iter()
        .map(|r| match r {
            RegistryRequest::Registry(r) => r.clone(),
            RegistryRequest::Account(a) => Registry::private(a, &region),
        })
        .collect();

    // The identity token, then the role.
    let plan = match &cfg.identity {
        Ok(plan) => Some(plan.clone()),
        Err(e) => {
            checks.push(Check::from_error("identity token", e));
            None
        }
    };
    let plan = match plan {
        Some(plan) => {
            let (check, plan) = token_check(plan, platform).await;
            checks.push(check);
            plan
        }
        None => None,
    };
    let sdk = aws::sdk_config(
        &region,
        plan.as_ref().and_then(|p| p.profile.as_deref()),
        true,
    )
    .await;
    let who = match &plan {
        Some(plan) => match identity::credentials(plan, platform, &sdk).await {
            Ok(who) => {
                checks.push(Check::ok(
                    "role",
                    vec![match &who.arn {
                        Some(arn) => format!("assumed: {arn}"),
                        None => "the AWS credential chain's own credentials (no role)".into(),
                    }],
                ));
                Some(who)
            }
            Err(e) => {
                checks.push(Check::from_error("role", &e));
                None
            }
        },
        None => {
            checks.push(Check::skipped(
                "role",
                "no identity token to assume it with",
            ));
            None
        }
    };

    checks.push(clock_check(cfg, &region).await);

    for r in &registries {
        checks.extend(reachability(cfg, r).await);
        checks.push(match &who {
            Some(who) => match aws::ecr::tokens(
                &sdk,
                Some(&who.credentials),
                std::slice::from_ref(r),
                Some(&region),
                who.arn.as_deref(),
            )
            .await
            {
                Ok(t) => Check::ok(
                    format!("{}: GetAuthorizationToken", r.host()),
                    vec![t
                        .first()
                        .and_then(|t| t.expires_at)
                        .map(|e| format!("a token valid until {}", rfc3339(e)))
                        .unwrap_or_else(|| "a token".into())],
                ),
                Err(e) => {
                    Check::from_error(format!("{}: GetAuthorizationToken", r.host()), &e.into())
                }
            },
            None => Check::skipped(
                format!("{}: GetAuthorizationToken", r.host()),
                "no credentials to ask with",
            ),
        });
    }

    checks.extend(auth_file_checks(cfg, &registries));

    let healthy = checks.iter().all(|c| c.status != Status::Problem);
    printer.report(&DoctorReport { healthy, checks });
    Ok(healthy)
}

/// The identity token: had? its claims and the condition keys they must match. Returns the
/// plan with the token in hand, so that the role check does not fetch it again.
async fn token_check(
    mut plan: Plan,
    platform: &dyn crate::platform::Platform,
) -> (Check, Option<Plan>) {
    const NAME: &str = "identity token";
    let (role, source) = match &plan.base {
        Base::Chain => {
            return (
                Check::ok(
                    NAME,
                    vec!["none needed: no role, the AWS credential chain".into()],
                ),
                Some(plan),
            )
        }
        Base::AssumeRole { role } => {
            return (
                Check::ok(
                    NAME,
                    vec![format!(
                        "none needed: {role} is assumed with the AWS credential chain"
                    )],
                ),
                Some(plan),
            )
        }
        Base::WebIdentity { role, token } => (role.clone(), token.clone()),
    };
    let token = match &source {
        TokenSource::Value(t) => Ok(t.clone()),
        TokenSource::File(p) => read_token_file(p),
        TokenSource::Platform { audience, .. } => platform.fetch_token(audience.as_deref()).await,
    };
    match token {
        Ok(t) => {
            let claims = t.claims();
            let mut detail = vec![format!("from {}", t.source)];
            if let Some(exp) = claims.exp {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                detail.push(format!("exp: in {} s", exp - now));
            }
            detail.extend(claims.lines());
            plan.base = Base::WebIdentity {
                role,
                token: TokenSource::Value(t),
            };
            (Check::ok(NAME, detail), Some(plan))
        }
        Err(e) => (Check::from_error(NAME, &e.into()), None),
    }
}

/// The clock against the `Date` of an AWS answer: signatures and tokens fail when it is off.
async fn clock_check(cfg: &DoctorConfig, region: &str) -> Check {
    const NAME: &str = "clock";
    let url = cfg.endpoint_url.clone().unwrap_or_else(|| {
        format!(
            "https://sts.{region}.{}/",
            aws::regions::partition_of(region).dns_suffix
        )
    });
    let client = match crate::tls::reqwest_builder()
        .timeout(crate::retry::TIMEOUTS.attempt)
        .connect_timeout(crate::retry::TIMEOUTS.connect)
        .build()
    {
        Ok(c) => c,
        Err(e) => return Check::skipped(NAME, &format!("no HTTP client: {}", e.without_url())),
    };
    let date = match client.get(&url).send().await {
        Ok(r) => r
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .map(str::to_string),
        Err(e) => {
            return Check::skipped(NAME, &format!("{url} did not answer: {}", e.without_url()))
        }
    };
    let Some(date) = date else {
        return Check::skipped(NAME, &format!("{url} sent no Date header"));
    };
    let Ok(theirs) =
        aws_smithy_types::DateTime::from_str(&date, aws_smithy_types::date_time::Format::HttpDate)
    else {
        return Check::skipped(NAME, &format!("cannot read the Date header {date:?}"));
    };
    let ours = aws_smithy_types::DateTime::from(SystemTime::now());
    let skew = ours.secs() - theirs.secs();
    if skew.abs() > 300 {
        Check::problem(
            NAME,
            vec![format!("this machine's clock is {skew} s off AWS's ({url} says {date})")],
            vec!["AWS refuses signatures more than 5 minutes off, and identity tokens can look expired or not yet valid: sync the clock (NTP: `timedatectl set-ntp true`, chrony)".into()],
        )
    } else {
        Check::ok(NAME, vec![format!("{skew} s off AWS's ({url})")])
    }
}

/// DNS, TCP and TLS to the ECR API endpoint and to the registry host; the proxy that applies.
async fn reachability(cfg: &DoctorConfig, registry: &Registry) -> Vec<Check> {
    let api = match (&cfg.endpoint_url, registry) {
        (Some(url), _) => url.clone(),
        (None, Registry::Private { region, .. }) => format!(
            "https://api.ecr.{region}.{}",
            aws::regions::partition_of(region).dns_suffix
        ),
        (None, Registry::Public { .. }) => "https://api.ecr-public.us-east-1.amazonaws.com".into(),
    };
    let mut out = Vec::new();
    for (what, url) in [
        ("ECR API", api),
        ("registry", format!("https://{}/v2/", registry.host())),
    ] {
        out.push(endpoint_check(cfg, &format!("{}: {what}", registry.host()), &url).await);
    }
    out
}

async fn endpoint_check(cfg: &DoctorConfig, name: &str, url: &str) -> Check {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Check::problem(
            name,
            vec![format!("{url:?} is not a URL")],
            vec!["check AWS_ENDPOINT_URL".into()],
        );
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let mut detail = Vec::new();
    let proxy = cfg.proxy_for(&host);
    if let Some(p) = &proxy {
        detail.push(format!(
            "through the proxy {p} (HTTPS_PROXY; NO_PROXY does not match {host})"
        ));
    }
    let wait = Duration::from_secs(3);
    if proxy.is_none() {
        let addrs = match tokio::time::timeout(wait, tokio::net::lookup_host((host.as_str(), port))).await {
            Ok(Ok(a)) => a.collect::<Vec<_>>(),
            Ok(Err(e)) => {
                return Check::problem(
                    name,
                    vec![format!("DNS: {host} does not resolve: {e}")],
                    vec![format!("check the resolver (/etc/resolv.conf), a private DNS zone or VPC endpoint for {host}, or the host name itself")],
                )
            }
            Err(_) => {
                return Check::problem(name, vec![format!("DNS: no answer for {host} within 3 s")], vec!["check the resolver (/etc/resolv.conf)".into()])
            }
        };
        let Some(addr) = addrs.first().copied() else {
            return Check::problem(name, vec![format!("DNS: {host} has no address")], vec![]);
        };
        detail.push(format!("DNS: {host} -> {}", addr.ip()));
        match tokio::time::timeout(wait, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => detail.push(format!("TCP: {addr} accepts connections")),
            Ok(Err(e)) => {
                return Check::problem(
                    name,
                    [detail, vec![format!("TCP: {addr}: {e}")]].concat(),
                    vec!["a firewall, security group or NACL blocks it, or nothing listens there; behind a proxy set HTTPS_PROXY".into()],
                )
            }
            Err(_) => {
                return Check::problem(
                    name,
                    [detail, vec![format!("TCP: {addr}: no answer within 3 s (dial tcp: i/o timeout)")]].concat(),
                    vec!["a firewall drops the packets: open outbound 443, or use HTTPS_PROXY / a VPC endpoint".into()],
                )
            }
        }
    }
    if parsed.scheme() != "https" {
        detail.push("TLS: not used (an http:// endpoint)".into());
        return Check::ok(name, detail);
    }
    let client = match crate::tls::reqwest_builder().timeout(wait * 2).build() {
        Ok(c) => c,
        Err(e) => return Check::skipped(name, &e.without_url().to_string()),
    };
    match client.get(url).send().await {
        Ok(r) => {
            detail.push(format!("TLS: ok (HTTP {})", r.status().as_u16()));
            Check::ok(name, detail)
        }
        Err(e) => {
            let e = e.without_url();
            let mut chain = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                chain.push_str(&format!(": {s}"));
                src = s.source();
            }
            Check::problem(
                name,
                [detail, vec![format!("TLS/HTTP: {chain}")]].concat(),
                vec!["a TLS-inspecting proxy needs its CA trusted (SSL_CERT_FILE); otherwise check the system clock and the proxy".into()],
            )
        }
    }
}

/// Docker's config.json as it bears on these registries: which store serves each, whether a
/// credential helper hides the entry a login writes (the classic cause of "no basic auth
/// credentials"), the file's permissions; Podman's auth files that would be read first.
fn auth_file_checks(cfg: &DoctorConfig, registries: &[Registry]) -> Vec<Check> {
    let path = docker::config::config_path(&cfg.docker_config);
    let name = format!("auth file {}", path.display());
    let root = match docker::config::read(&path) {
        Ok(r) => r,
        Err(e) => return vec![Check::from_error(name, &e.into())],
    };
    let mut checks = Vec::new();
    let mut detail = vec![if path.exists() {
        "present".to_string()
    } else {
        "absent (a login creates it)".to_string()
    }];
    let mut fix = Vec::new();
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        detail.push(format!("mode {mode:o}"));
        if mode & 0o077 != 0 {
            fix.push(format!(
                "others can read the logins in it: chmod 600 {}",
                path.display()
            ));
        }
    }
    let auths = root.get("auths").and_then(serde_json::Value::as_object);
    for r in registries {
        let host = r.host();
        let entry = auths.and_then(|a| a.get(host));
        match docker::config::helper_for(&root, host, docker::config::Format::Docker) {
            Some(h) if h == "ecr-login" => {
                detail.push(format!("{host}: served by the ecr-login credential helper"))
            }
            Some(h) => {
                detail.push(format!(
                    "{host}: Docker asks docker-credential-{h}, not the file"
                ));
                if entry.is_some_and(|e| e.get("auth").is_some()) {
                    fix.push(format!("config.json has a token for {host}, but credsStore/credHelpers send Docker to docker-credential-{h}, which does not have it: that is the classic cause of \"no basic auth credentials\"; remove the credsStore/credHelpers entry, or log in again so the login goes through the helper"));
                }
            }
            None => detail.push(match entry {
                Some(_) => format!("{host}: an entry in the file"),
                None => format!("{host}: no login yet (run ecr-login)"),
            }),
        }
    }
    checks.push(if fix.is_empty() {
        Check::ok(name, detail)
    } else {
        Check::problem(name, detail, fix)
    });
    for file in &cfg.podman_auth_files {
        let Ok(root) = docker::config::read(file) else {
            continue;
        };
        let shadowed: Vec<&str> = registries
            .iter()
            .map(Registry::host)
            .filter(|h| root.get("auths").and_then(|a| a.get(*h)).is_some())
            .collect();
        if !shadowed.is_empty() {
            checks.push(Check::problem(
                format!("auth file {}", file.display()),
                vec![format!("entries for {} that Podman, Buildah and skopeo read before Docker's", shadowed.join(", "))],
                vec![format!("a stale token there wins over ecr-login's: remove those entries (podman logout <host>), or log in with --auth-file {}", file.display())],
            ));
        }
    }
    checks
}

/// A known error message: what it means and what to do.
#[derive(Debug, Serialize)]
pub(crate) struct Explanation {
    pub matched: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct ExplainReport {
    pub known: bool,
    pub explanations: Vec<Explanation>,
}

impl Report for ExplainReport {
    fn human(&self) -> Vec<String> {
        if !self.known {
            return vec![
                "ecr-login does not know this message.".into(),
                "Run `ecr-login doctor` in the job (with the same environment) to check the platform, token, role, registries and auth files.".into(),
            ];
        }
        let mut lines = Vec::new();
        for e in &self.explanations {
            lines.push(format!("matched: {}", e.matched));
            lines.push(format!("  cause: {}", e.cause));
            lines.push(format!("  fix:   {}", e.fix));
        }
        lines
    }
}

/// (pattern, cause, fix): patterns are lower-case substrings; every match is reported.
const KNOWN: &[(&str, &str, &str)] = &[
    ("no basic auth credentials", "Docker found no login for the registry it pushed or pulled: none was written, it was written for another host name (a port, `https://`, a dual-stack name), or config.json's credsStore/credHelpers send Docker to a helper that does not have it", "run `ecr-login doctor` to see which store serves the host; log in with the exact host the image names (or --dual-stack), or remove the stale credsStore/credHelpers entry"),
    ("authorization token has expired", "the ECR token in the auth file is over 12 hours old", "log in again, or let the credential helper refresh it: `ecr-login login --mode helper` (or `login --watch` for tools that cannot use helpers)"),
    ("reauthenticate and try again", "the ECR token in the auth file is over 12 hours old", "log in again, or use `ecr-login login --mode helper` so every pull and push gets a fresh token"),
    ("i/o timeout", "a TCP connection got no answer: a firewall or security group drops the packets, or a proxy is needed", "open outbound 443 to ECR (and its S3 layer storage), or set HTTPS_PROXY; `ecr-login doctor` tests DNS, TCP and TLS per host"),
    ("no such host", "DNS could not resolve the name: a typo in the registry host, a private zone or VPC endpoint not reachable from here, or no resolver", "check the host (`ecr-login doctor` shows what it resolves to) and /etc/resolv.conf"),
    ("not authorized to perform sts:assumerolewithwebidentity", "the role's trust policy does not accept this CI token: its sub/aud condition does not match (case, branch vs environment, GitLab ref_type), or the Principal is not the OIDC provider for the token's issuer", "run `ecr-login doctor` in the job to see the token's iss/aud/sub next to the condition keys, and `ecr-login policy` for a trust policy that matches"),
    ("invalididentitytoken", "STS could not validate the token: the IAM OIDC provider's URL does not match the token's iss exactly, its thumbprint or JWKS is wrong, or the token is empty or not a JWT", "create the provider with the exact issuer URL (`ecr-login policy --only provider`); check the token source (`ecr-login doctor`)"),
    ("expiredtokenexception", "a token expired before it was used: the CI identity token (it lives minutes) or the role's session credentials", "request the token right before the login (ecr-login does), and keep --role-duration-seconds at least as long as the job step needs"),
    ("accessdenied", "AWS refused the identity: a trust policy (sts), a missing ecr:GetAuthorizationToken or repository permission, an SCP or a permissions boundary", "`ecr-login doctor` shows which identity was used and which call failed; `ecr-login policy --access push` prints a least-privilege permission policy"),
    ("unable to locate credentials", "the AWS CLI or SDK found no credentials: no role was assumed in this job, or the variables are not passed to this step", "let ecr-login assume the role with the CI token (--role-arn), or configure the credential chain (AWS_PROFILE, instance role)"),
    ("error getting credentials - err: exit status 1", "Docker ran a credential helper (credsStore/credHelpers) and it failed", "run the helper by hand to see its message: `echo <host> | docker-credential-<name> get`; with ecr-login as the helper, its error says why on stderr"),
    ("credentials not found in native keychain", "the credential helper has nothing for that host: for ecr-login, the host is not an Amazon ECR registry; for a keychain helper, no login was stored there", "check the host name; for ECR hosts in credHelpers use \"ecr-login\""),
    ("x509: certificate signed by unknown authority", "a TLS-inspecting proxy (or a private registry mirror) presents a certificate this machine does not trust", "add the proxy's CA to the system trust store, or point SSL_CERT_FILE at a bundle that has it"),
    ("toomanyrequests", "the registry rate-limits this client (ECR Public for anonymous pulls, or a burst of pulls)", "log in to public.ecr.aws too (`--registries public.ecr.aws`): authenticated pulls get a higher limit; spread the pulls"),
    ("throttlingexception", "AWS throttled the API calls (many jobs at once)", "ecr-login retries with jittered backoff; use the token cache or --mode helper so repeated logins make no calls"),
    ("repositorynotfoundexception", "the repository does not exist in that account and region (ECR does not create it on push)", "create it (`aws ecr create-repository --repository-name <name>`), or check the account id and region in the image name"),
    ("the repository with name", "the repository does not exist in that registry (ECR does not create it on push)", "create it (`aws ecr create-repository --repository-name <name>`), or check the image name's account and region"),
];

/// `doctor --explain TEXT`: every known message found in `text`.
pub(crate) fn explain(text: &str, printer: &Printer) -> bool {
    let lower = text.to_ascii_lowercase();
    let explanations: Vec<Explanation> = KNOWN
        .iter()
        .filter(|(p, ..)| lower.contains(p))
        .map(|(matched, cause, fix)| Explanation {
            matched,
            cause,
            fix,
        })
        .collect();
    let known = !explanations.is_empty();
    printer.report(&ExplainReport {
        known,
        explanations,
    });
    known
}

/// Podman's auth files that shadow Docker's (for the config).
pub(crate) fn podman_auth_files(
    registry_auth_file: Option<&str>,
    xdg_runtime_dir: Option<&str>,
) -> Vec<PathBuf> {
    registry_auth_file
        .map(PathBuf::from)
        .into_iter()
        .chain(xdg_runtime_dir.map(|d| PathBuf::from(d).join("containers/auth.json")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_the_issue_lists_is_known() {
        for msg in [
            "Error response from daemon: Head https://x: no basic auth credentials",
            "authorization token has expired",
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "dial tcp 52.1.2.3:443: i/o timeout",
            "dial tcp: lookup api.ecr.eu-west-1.amazonaws.com: no such host",
            "An error occurred (AccessDenied) when calling the AssumeRole operation",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            "InvalidIdentityToken: No OpenIDConnect provider found",
            "ExpiredTokenException: The security token included in the request is expired",
            "Unable to locate credentials. You can configure credentials by running \"aws configure\".",
            "error getting credentials - err: exit status 1, out: ``",
            "credentials not found in native keychain",
            "x509: certificate signed by unknown authority",
            "toomanyrequests: Rate exceeded",
            "ThrottlingException: Rate exceeded",
            "RepositoryNotFoundException: The repository with name 'x' does not exist",
            "name unknown: The repository with name 'team/app' does not exist in the registry with id '123456789012'",
        ] {
            let lower = msg.to_ascii_lowercase();
            assert!(KNOWN.iter().any(|(p, ..)| lower.contains(p)), "{msg}");
        }
    }
}
