//! Kubernetes: `kubelet-credential-provider` spoken to as the kubelet speaks to it
//! (a request on stdin, the answer decoded as strictly as the kubelet decodes it), the service
//! account token mode through the test STS whose trust policy checks the token, and
//! `login --output dockerconfigjson` as `kubectl create secret` reads it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use crate::harness::*;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const PULL_ROLE: &str = "arn:aws:iam::123456789012:role/team-a-pull";
const ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";
const ISS: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/TESTCLUSTER";
const AUD: &str = "sts.amazonaws.com";
const SUB: &str = "system:serviceaccount:team-a:puller";

/// The kubelet's `CredentialProviderResponse` (k8s.io/kubelet/pkg/apis/credentialprovider/v1),
/// decoded as strictly as the kubelet decodes it: an unknown field fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CredentialProviderResponse {
    kind: String,
    api_version: String,
    cache_key_type: String,
    cache_duration: Option<String>,
    auth: BTreeMap<String, AuthConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthConfig {
    username: String,
    password: String,
}

/// An `imagePullSecret`'s `.dockerconfigjson`, strictly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerConfigJson {
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerAuth {
    username: String,
    password: String,
    auth: String,
}

/// Go's `time.ParseDuration` (what the kubelet applies to `cacheDuration`).
fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut seconds = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        seconds += number
            * match &rest[..u] {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
        rest = &rest[u..];
    }
    Some(Duration::from_secs_f64(seconds))
}

fn request(api_version: &str, image: &str, extra: serde_json::Value) -> String {
    let mut r = serde_json::json!({
        "apiVersion": api_version,
        "kind": "CredentialProviderRequest",
        "image": image,
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r.to_string()
}

/// Runs the provider as the kubelet does: the request on stdin, then stdin closed.
fn kubelet(cmd: Cmd, request: &str) -> Run {
    cmd.subcommand("kubelet-credential-provider")
        .run_with_stdin(request)
}

/// The answer on stdout: one line, decoded strictly.
fn answer(run: &Run) -> CredentialProviderResponse {
    run.assert_ok();
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "stdout holds more than the response:\n{}",
        run.stdout
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "the kubelet would reject this response ({e}):\n{}",
            run.stdout
        )
    })
}

/// A node with static AWS keys (the credential chain), talking to `proxy`.
fn node(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.cmd().aws_keys().env("AWS_ENDPOINT_URL", &proxy.url())
}

fn sts_calls(proxy: &Proxy) -> Vec<serde_json::Value> {
    proxy
        .calls()
        .into_iter()
        .filter(|c| c["service"] == "sts")
        .collect()
}

/// `cacheDuration` is a Go duration of about 11 h: the 12 h token less the 1 h margin.
fn assert_about_eleven_hours(r: &CredentialProviderResponse) {
    let text = r.cache_duration.as_deref().expect("no cacheDuration");
    let d = parse_go_duration(text).unwrap_or_else(|| panic!("not a Go duration: {text:?}"));
    let eleven = Duration::from_secs(11 * 3600);
    assert!(
        d <= eleven && d > eleven - Duration::from_secs(120),
        "cacheDuration {text}"
    );
}

#[test]
fn the_round_trip_holds_only_the_kubelets_fields() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let digest = format!("{HOST}/team/app@sha256:{}", "ab".repeat(32));
    for image in [format!("{HOST}/team/app:v1"), digest] {
        let run = kubelet(
            node(&sb, &proxy),
            &request(V1, &image, serde_json::json!({})),
        );
        let r = answer(&run);
        assert_eq!(r.kind, "CredentialProviderResponse");
        assert_eq!(r.api_version, V1);
        assert_eq!(r.cache_key_type, "Registry");
        assert_about_eleven_hours(&r);
        assert_eq!(r.auth.keys().collect::<Vec<_>>(), [HOST]);
        let auth = &r.auth[HOST];
        assert_eq!(auth.username, "AWS");
        assert!(
            proxy.secrets().contains(&auth.password),
            "the password is not the one ECR issued"
        );
        assert!(
            !run.stderr.contains(&auth.password),
            "stderr shows the password"
        );
    }
    // The second image's token came from the token cache ($HOME/.cache on a node).
    assert_eq!(proxy.count("ecr", Some("eu-west-1")), 1);
    assert!(
        !sb.config_path().exists(),
        "the provider wrote an auth file"
    );

    // ECR Public, named by an image path.
    let run = kubelet(
        node(&sb, &proxy),
        &request(
            V1,
            "public.ecr.aws/docker/library/nginx:latest",
            serde_json::json!({}),
        ),
    );
    let r = answer(&run);
    assert_eq!(r.auth.keys().collect::<Vec<_>>(), ["public.ecr.aws"]);
    assert_eq!(proxy.count("ecr-public", None), 1);
}

/// The image name comes from a pod spec: in the provider's log its control characters are
/// escaped, so a pod cannot forge log lines or drive the terminal of whoever reads the log.
#[test]
fn an_image_name_with_control_characters_is_logged_escaped() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let image = format!("{HOST}/app\u{1b}[2J\nFAKE LINE:v1");
    let run = kubelet(
        node(&sb, &proxy).arg("-v"),
        &request(V1, &image, serde_json::json!({})),
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("the kubelet asks for"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\\u{1b}[2J\\nFAKE LINE"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(!run.stderr.contains("\nFAKE LINE"), "{:?}", run.stderr);
}

#[test]
fn a_request_in_another_version_is_refused_and_older_ones_are_answered_in_theirs() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = kubelet(
        node(&sb, &proxy),
        &request(
            "credentialprovider.kubelet.k8s.io/v2",
            &format!("{HOST}/app"),
            serde_json::json!({}),
        ),
    );
    run.assert_fails(
        2,
        &[
            "apiVersion \"credentialprovider.kubelet.k8s.io/v2\" is not one this plugin speaks",
            V1,
        ],
    );
    assert_eq!(run.stdout, "", "a refused request must leave stdout empty");
    assert!(proxy.calls().is_empty());

    let beta = "credentialprovider.kubelet.k8s.io/v1beta1";
    let run = kubelet(
        node(&sb, &proxy),
        &request(beta, &format!("{HOST}/app"), serde_json::json!({})),
    );
    assert_eq!(answer(&run).api_version, beta);
}

#[test]
fn an_image_outside_ecr_is_an_error_and_no_answer() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    for image in ["docker.io/library/nginx:latest", "nginx", "ghcr.io/o/r:1"] {
        let run = kubelet(
            node(&sb, &proxy),
            &request(V1, image, serde_json::json!({})),
        );
        run.assert_fails(2, &[image, "is not an Amazon ECR registry"]);
        assert_eq!(run.stdout, "");
    }
    assert!(proxy.calls().is_empty());
}

#[test]
fn a_service_account_token_is_exchanged_for_the_annotated_role() {
    let proxy = trusting_proxy(serde_json::json!({"iss": ISS, "aud": AUD, "sub": SUB}));
    let sb = Sandbox::new();
    let sa_token = token(ISS, AUD, SUB);
    let extra = |token: &str| {
        serde_json::json!({
            "serviceAccountToken": token,
            "serviceAccountAnnotations": {ANNOTATION: PULL_ROLE, "other.io/key": "x"},
        })
    };
    // The node has no AWS credentials at all: only the token can get in.
    let node = sb.cmd().env("AWS_ENDPOINT_URL", &proxy.url());
    let run = kubelet(
        node.clone(),
        &request(V1, &format!("{HOST}/team-a/app:1"), extra(&sa_token)),
    );
    let r = answer(&run);
    assert_about_eleven_hours(&r);
    assert!(proxy.secrets().contains(&r.auth[HOST].password));
    let sts = sts_calls(&proxy);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["operation"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["params"]["RoleArn"], PULL_ROLE);
    assert_eq!(sts[0]["params"]["RoleSessionName"], "k8s-team-a-puller");
    assert_eq!(proxy.count("ecr", Some("eu-west-1")), 1);
    assert_no_secret_in(&[sa_token], &[("stderr", &run.stderr)]);

    // Another service account's token: the role's trust policy refuses it.
    let other = token(ISS, AUD, "system:serviceaccount:team-b:intruder");
    let run = kubelet(
        node,
        &request(V1, &format!("{HOST}/team-a/app:1"), extra(&other)),
    );
    run.assert_fails(
        4,
        &[
            "AccessDenied",
            PULL_ROLE,
            "sub=system:serviceaccount:team-b:intruder",
        ],
    );
    assert_eq!(run.stdout, "");
    assert_eq!(proxy.count("ecr", None), 1, "no token for the refused one");
}

/// Without the annotation (or with an empty one), as cloud-provider-aws's provider since
/// v1.35: AWS_ECR_ROLE_ARN, else the node's own credentials, with a warning in the kubelet's
/// log that names the service account.
#[test]
fn without_an_annotation_the_role_is_aws_ecr_role_arn_else_the_nodes_credentials() {
    let proxy = trusting_proxy(serde_json::json!({"iss": ISS, "aud": AUD, "sub": SUB}));
    let sb = Sandbox::new();
    let extra = serde_json::json!({"serviceAccountToken": token(ISS, AUD, SUB)});
    let image = format!("{HOST}/app");

    let run = kubelet(
        node(&sb, &proxy).env("ECR_LOGIN_NO_CACHE", "1"),
        &request(V1, &image, extra.clone()),
    );
    let r = answer(&run);
    assert!(
        r.auth.contains_key(HOST),
        "{:?}",
        r.auth.keys().collect::<Vec<_>>()
    );
    assert!(
        run.stderr.contains(SUB) && run.stderr.contains("the node's own credentials"),
        "{}",
        run.stderr
    );
    assert!(
        !proxy
            .calls()
            .iter()
            .any(|c| c["operation"] == "AssumeRoleWithWebIdentity"),
        "{:?}",
        proxy.calls()
    );

    let empty = serde_json::json!({
        "serviceAccountToken": token(ISS, AUD, SUB),
        "serviceAccountAnnotations": {ANNOTATION: ""},
    });
    let fallback = "arn:aws:iam::123456789012:role/cluster-pull";
    for extra in [extra, empty] {
        let run = kubelet(
            sb.cmd()
                .env("AWS_ENDPOINT_URL", &proxy.url())
                .env("ECR_LOGIN_NO_CACHE", "1")
                .env("AWS_ECR_ROLE_ARN", fallback),
            &request(V1, &image, extra),
        );
        answer(&run);
        let assumed = sts_calls(&proxy);
        assert_eq!(assumed.last().unwrap()["params"]["RoleArn"], fallback);
    }
}

#[test]
fn the_token_cache_answers_repeats_and_keeps_service_accounts_apart() {
    let proxy = trusting_proxy(serde_json::json!({
        "iss": ISS, "aud": AUD, "sub": "system:serviceaccount:team-a:*"
    }));
    let sb = Sandbox::new();
    let cache = sb.path().join("cache");
    let node = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("ECR_LOGIN_CACHE_DIR", cache.to_str().unwrap());
    let image = format!("{HOST}/app");
    let ask = |sub: &str| {
        let extra = serde_json::json!({
            "serviceAccountToken": token(ISS, AUD, sub),
            "serviceAccountAnnotations": {ANNOTATION: PULL_ROLE},
        });
        answer(&kubelet(node.clone(), &request(V1, &image, extra)))
    };

    let first = ask(SUB);
    let again = ask(SUB);
    assert_eq!(first.auth[HOST].password, again.auth[HOST].password);
    assert_about_eleven_hours(&again);
    assert_eq!(
        sts_calls(&proxy).len(),
        1,
        "the repeat was not served from the cache"
    );
    assert_eq!(proxy.count("ecr", None), 1);

    // Another service account of the same role is another identity: its own exchange.
    ask("system:serviceaccount:team-a:builder");
    assert_eq!(sts_calls(&proxy).len(), 2);
}

#[test]
fn twenty_concurrent_requests_for_one_registry_fetch_once() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let cache = sb.path().join("cache");
    let cmd = node(&sb, &proxy)
        .env("ECR_LOGIN_CACHE_DIR", cache.to_str().unwrap())
        .subcommand("kubelet-credential-provider");
    let ask = request(V1, &format!("{HOST}/app"), serde_json::json!({}));
    // Started together, as the kubelet does when a node's pods start.
    for out in run_together((0..20).map(|_| cmd.command()), ask.as_bytes()) {
        let r: CredentialProviderResponse = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r.auth[HOST].password, "123456789012-auth-token");
    }
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "the requests did not wait for the first one's token: {:?}",
        proxy.calls()
    );
}

#[test]
fn the_deadline_ends_a_hanging_request_before_the_kubelet_would() {
    let proxy = Proxy::with_args(&["--latency-ms", "8000"]);
    let sb = Sandbox::new();
    let start = Instant::now();
    let run = kubelet(
        node(&sb, &proxy).arg("--deadline").arg("1s"),
        &request(V1, &format!("{HOST}/app"), serde_json::json!({})),
    );
    let took = start.elapsed();
    run.assert_fails(6, &["deadline", "1 s"]);
    assert_eq!(run.stdout, "");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn login_prints_a_dockerconfigjson_and_writes_no_auth_file() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = node(&sb, &proxy)
        .args(&[
            "login",
            "--region",
            "eu-west-1",
            "--registries",
            "123456789012,public.ecr.aws",
            "--output",
            "dockerconfigjson",
        ])
        .run();
    run.assert_ok();
    assert!(run.stdout.ends_with("}\n") && run.stdout.lines().count() == 1);
    let doc: DockerConfigJson = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a .dockerconfigjson ({e}):\n{}", run.stdout));
    assert_eq!(
        doc.auths.keys().collect::<Vec<_>>(),
        [HOST, "public.ecr.aws"]
    );
    let secrets = proxy.secrets();
    for (host, a) in &doc.auths {
        assert_eq!(a.username, "AWS", "{host}");
        assert!(secrets.contains(&a.password), "{host}: not ECR's password");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&a.auth)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            format!("AWS:{}", a.password)
        );
    }
    assert!(!sb.config_path().exists(), "config.json was written");
    assert!(!run.stderr.contains(&doc.auths[HOST].password));

    // Only login has such an output.
    node(&sb, &proxy)
        .args(&["logout", "--output", "dockerconfigjson"])
        .run()
        .assert_fails(2, &["--output dockerconfigjson"]);
}

/// Installed under cloud-provider-aws's name, `ecr-credential-provider` (what a kubelet's
/// `CredentialProviderConfig` names, run with no arguments), the binary is the kubelet
/// provider: it answers the request, and writes no Docker config even with AWS_REGION set.
#[test]
fn runs_as_ecr_credential_provider() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let program = bin.join("ecr-credential-provider");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ecr-login"), &program).unwrap();
    let run = node(&sb, &proxy)
        .env("AWS_REGION", "eu-west-1")
        .run_of_with_stdin(
            &program,
            &request(V1, &format!("{HOST}/team/app:v1"), serde_json::json!({})),
        );
    run.assert_ok();
    let r = answer(&run);
    assert_eq!(r.kind, "CredentialProviderResponse");
    assert!(
        r.auth.contains_key(HOST),
        "{:?}",
        r.auth.keys().collect::<Vec<_>>()
    );
    assert!(!sb.config_path().exists(), "it wrote a Docker config");
}
