//! Every command and every error path, at the highest verbosity, with known secret values —
//! the CI request token, AWS keys, OIDC tokens (from the platform's service, a variable, a
//! file, a CI CLI, the kubelet's request), the STS credentials and ECR tokens handed out, a
//! secret piped to `credential-helper store`, another registry's password in config.json, a
//! secret put where a token should be — and none of them may turn up, raw, base64 (at any
//! alignment, either alphabet) or URL-encoded, in any sink: stdout, stderr, the hand-off files
//! (`$GITHUB_OUTPUT`, `$GITHUB_STATE`, `$BASH_ENV`, dotenv), the auth files' non-secret parts
//! (config.json without its `auth` values, `ecr-login.toml`), any other file left behind, and
//! the argv of every child process (fake `docker-credential-*`, `buildkite-agent`, `circleci`
//! on PATH record theirs).
//!
//! The places where a secret belongs are cut out first, and only those: the `::add-mask::`
//! lines, the protocol answers whose job is to carry one (`credential-helper get`'s Secret, the
//! kubelet's password, `--output dockerconfigjson`), `docker_password_*` outputs asked for with
//! `--output-credentials`, config.json's `auth` values and the token cache's entries.
//!
//! The telemetry sinks (`--audit-log`, `--metrics-file`, `--notify-webhook`): [`Telemetry`]
//! turns each one on for every run whose command's
//! `--help` shows its flag, and adds what it wrote to the sinks searched. Nothing else to do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

// Known secret values planted in the runs.
const AWS_KEY_ID: &str = "AKIAKNOWNSECRET00042";
const AWS_SECRET_KEY: &str = "known-secret-access-key-0123456789abcdefGHIJ";
const AWS_SESSION: &str = "known-session-token-0123456789abcdefghijklmnop";
const WRONG_REQUEST_TOKEN: &str = "wrong-request-token-4f1c2a9e77d0";
const STORED_SECRET: &str = "docker-login-secret-0123456789xyz";
const GHCR_PASSWORD: &str = "ghcr-password-0123456789abcdef";
const NOT_A_TOKEN: &str = "garbage-token-secret-0123456789 with spaces";

/// base64, standard alphabet, padded.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The forms a secret can leak in: itself, URL-encoded (both cases of hex, `+` for space), and
/// base64 wherever it sits in what is encoded: for each of the 3 alignments, the characters
/// that depend on the secret alone, in both alphabets.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("raw", secret.to_string())];
    let url = url_encode(secret);
    if url != secret {
        out.push(("URL-encoded", url.clone()));
        out.push(("URL-encoded", url.to_lowercase()));
        out.push(("URL-encoded", url.replace("%20", "+")));
    }
    for pad in 0..3 {
        let mut bytes = vec![0u8; pad];
        bytes.extend_from_slice(secret.as_bytes());
        let enc = b64(&bytes);
        let start = if pad == 0 { 0 } else { 4 };
        let end = enc.len().saturating_sub(4);
        if end > start + 8 {
            let core = enc[start..end].to_string();
            out.push(("base64", core.replace('+', "-").replace('/', "_")));
            out.push(("base64", core));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Where a run may leave a secret, by name.
#[derive(Default)]
struct Sinks(Vec<(String, String)>);

impl Sinks {
    fn add(&mut self, name: impl Into<String>, text: impl Into<String>) {
        self.0.push((name.into(), text.into()));
    }

    /// Every place a secret shows, as "<sink> holds <form> of <first chars>...".
    fn leaks(&self, secrets: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for s in secrets.iter().filter(|s| s.len() >= 8) {
            for (kind, form) in forms(s) {
                for (name, text) in &self.0 {
                    if text.contains(&form) {
                        out.push(format!("{name} holds the {kind} form of {}...", &s[..5]));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// What a command prints on stdout by design, cut out before the search.
#[derive(Clone, Copy, PartialEq)]
enum Stdout {
    /// Nothing secret belongs there.
    Plain,
    /// `credential-helper get`: `{"ServerURL","Username","Secret"}`.
    HelperAnswer,
    /// The kubelet's `CredentialProviderResponse`: `auth.<host>.password`.
    KubeletAnswer,
    /// `--output dockerconfigjson`: `auths.<host>.password` and `.auth`.
    DockerConfigJson,
}

/// `text` without the values a secret belongs in: in `field`s of JSON documents (a line
/// each, or the whole text), at any depth.
fn without_fields(text: &str, fields: &[&str]) -> String {
    fn blank(v: &mut Value, fields: &[&str]) {
        match v {
            Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if fields.contains(&k.as_str()) {
                        *v = Value::String("<cut>".into());
                    } else {
                        blank(v, fields);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| blank(v, fields)),
            _ => {}
        }
    }
    let one = |t: &str| match serde_json::from_str::<Value>(t) {
        Ok(mut v) => {
            blank(&mut v, fields);
            v.to_string()
        }
        Err(_) => t.to_string(),
    };
    if serde_json::from_str::<Value>(text).is_ok() {
        return one(text);
    }
    text.lines().map(one).collect::<Vec<_>>().join("\n")
}

/// The `::add-mask::` lines are where GitHub is told the secrets: the one place they belong.
fn without_masks(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The telemetry sinks being added in parallel. Each is on for every run of a command whose
/// `--help` lists its flag; what it wrote joins the sinks.
struct Telemetry {
    dir: tempfile::TempDir,
    webhook: Option<Webhook>,
}

/// A local receiver for `--notify-webhook`: keeps every request it gets.
struct Webhook {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock()
                    .unwrap()
                    .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Webhook { url, requests }
    }
}

/// Which telemetry flags a command (`""`: login) takes, from its `--help`.
fn telemetry_flags(subcommand: &str) -> &'static [&'static str] {
    static HELP: OnceLock<Mutex<std::collections::BTreeMap<String, &'static [&'static str]>>> =
        OnceLock::new();
    let mut cache = HELP.get_or_init(Default::default).lock().unwrap();
    cache.entry(subcommand.to_string()).or_insert_with(|| {
        let mut c = Command::new(BIN);
        if !subcommand.is_empty() {
            c.arg(subcommand);
        }
        let help = c.arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let flags: Vec<&'static str> = ["--audit-log", "--metrics-file", "--notify-webhook"]
            .into_iter()
            .filter(|f| help.contains(f))
            .collect();
        Box::leak(flags.into_boxed_slice())
    })
}

impl Telemetry {
    fn new() -> Telemetry {
        let any = [
            "",
            "logout",
            "credential-helper",
            "kubelet-credential-provider",
        ]
        .iter()
        .any(|s| telemetry_flags(s).contains(&"--notify-webhook"));
        Telemetry {
            dir: tempfile::tempdir().unwrap(),
            webhook: any.then(Webhook::start),
        }
    }

    /// `cmd` with every telemetry sink its command has, writing into this run's files.
    fn wire(&self, cmd: Cmd, subcommand: &str, label: &str) -> Cmd {
        let mut cmd = cmd;
        for flag in telemetry_flags(subcommand) {
            let value = match *flag {
                "--notify-webhook" => self.webhook.as_ref().unwrap().url.clone(),
                // node_exporter's textfile collector reads *.prom only, and the binary says so.
                "--metrics-file" => self
                    .dir
                    .path()
                    .join(format!("{label}-metrics.prom"))
                    .display()
                    .to_string(),
                f => self
                    .dir
                    .path()
                    .join(format!("{label}{f}"))
                    .display()
                    .to_string(),
            };
            cmd = cmd.args(&[flag, &value]);
        }
        cmd
    }

    fn collect(&self, sinks: &mut Sinks) {
        for e in std::fs::read_dir(self.dir.path()).unwrap() {
            let p = e.unwrap().path();
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            sinks.add(p.file_name().unwrap().to_string_lossy(), text);
        }
        if let Some(w) = &self.webhook {
            for (i, r) in w.requests.lock().unwrap().iter().enumerate() {
                sinks.add(format!("webhook request {i}"), r.clone());
            }
        }
    }
}

/// One run: the command line, its stdin, what it must end with.
struct Case {
    label: String,
    subcommand: &'static str,
    cmd: Cmd,
    stdin: Vec<u8>,
    /// `None`: success; `Some(code)`: that failure.
    fails: Option<i32>,
    stdout: Stdout,
    /// With `--output-credentials`: the `docker_password_*` outputs hold the passwords.
    output_credentials: bool,
    /// A config.json the run must leave as it is (the test's own input, secrets and all):
    /// checked, not searched.
    untouched_config: Option<String>,
}

/// The world the cases run in: one sandbox each (so every file a run leaves is its own), fake
/// programs on PATH that log their argv, and the servers.
struct World {
    proxy: Proxy,
    telemetry: Telemetry,
    sinks: Sinks,
    secrets: Vec<String>,
    proxies: Vec<Proxy>,
    ran: usize,
}

/// Installs the fake programs into `sb`'s bin dir: each appends its argv to `argv.log`.
fn fake_programs(sb: &Sandbox, jwt: &str) {
    let fixtures = sb.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let jwt_file = fixtures.join("agent.jwt");
    std::fs::write(&jwt_file, jwt).unwrap();
    let log = sb.path().join("argv.log");
    let record = format!(
        "printf '%s' \"$(basename \"$0\")\" >> '{log}'; for a in \"$@\"; do printf ' %s' \"$a\" >> '{log}'; done; echo >> '{log}'",
        log = log.display()
    );
    let jwt = jwt_file.display();
    sb.install_program(
        "buildkite-agent",
        &format!(
            "#!/bin/sh\n{record}\ncase \"$1 $2\" in\n  'oidc request-token') cat '{jwt}' ;;\n  'redactor add') cat > /dev/null ;;\n  *) exit 2 ;;\nesac\n"
        ),
    );
    sb.install_program("circleci", &format!("#!/bin/sh\n{record}\ncat '{jwt}'\n"));
    // A credential store that works, and one that fails and repeats what it was given.
    sb.install_program(
        "docker-credential-fakestore",
        &format!("#!/bin/sh\n{record}\ncat > /dev/null\n"),
    );
    sb.install_program(
        "docker-credential-broken",
        &format!("#!/bin/sh\n{record}\necho \"cannot store: $(cat)\" >&2\nexit 1\n"),
    );
    std::os::unix::fs::symlink(
        BIN,
        sb.path().join("bin").join("docker-credential-ecr-login"),
    )
    .unwrap();
}

impl World {
    fn new() -> World {
        World {
            proxy: Proxy::start(),
            telemetry: Telemetry::new(),
            sinks: Sinks::default(),
            secrets: [
                REQUEST_TOKEN,
                AWS_KEY_ID,
                AWS_SECRET_KEY,
                AWS_SESSION,
                WRONG_REQUEST_TOKEN,
                STORED_SECRET,
                GHCR_PASSWORD,
                NOT_A_TOKEN,
            ]
            .map(String::from)
            .to_vec(),
            proxies: Vec::new(),
            ran: 0,
        }
    }

    /// A JWT from the shared issuer, known as a secret.
    fn jwt(&mut self, query: &str) -> String {
        let t = shared_issuer().token(query);
        self.secrets.push(t.clone());
        t
    }

    /// A sandbox with the fake programs, a config.json holding another registry's login, and
    /// the base command: PATH with the fakes first, AWS on `proxy`, `-vvv`.
    fn sandbox(&mut self, proxy_url: &str) -> (Sandbox, Cmd) {
        let sb = Sandbox::new();
        let jwt = self.jwt("audience=sts.amazonaws.com");
        fake_programs(&sb, &jwt);
        sb.write_config(&format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            b64(format!("octocat:{GHCR_PASSWORD}").as_bytes())
        ));
        let cmd = sb
            .cmd()
            .env("PATH", &sb.path_with_bin())
            .env("AWS_ENDPOINT_URL", proxy_url)
            .env("AWS_REGION", "us-east-1")
            .arg("-vvv");
        (sb, cmd)
    }

    fn github(&mut self, proxy_url: &str) -> (Sandbox, Cmd) {
        let (sb, cmd) = self.sandbox(proxy_url);
        let cmd = cmd
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{}/token?api-version=2.0", shared_issuer_url()),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .env("GITHUB_OUTPUT", sb.github_output().to_str().unwrap())
            .env(
                "GITHUB_STATE",
                sb.path().join("github_state").to_str().unwrap(),
            )
            .env(
                "RUNNER_TEMP",
                sb.path().join("runner-temp").to_str().unwrap(),
            )
            .env("GITHUB_REPOSITORY", "test-owner/test-repo")
            .env("GITHUB_RUN_ID", "1234567890")
            .env("GITHUB_REF", "refs/heads/main")
            .env("AWS_ROLE_ARN", ROLE)
            .env(
                "ECR_LOGIN_ENV_FILE",
                sb.path().join("login.env").to_str().unwrap(),
            );
        (sb, cmd)
    }

    fn keys(cmd: Cmd) -> Cmd {
        cmd.env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", AWS_SESSION)
    }

    /// Runs `case` in `sb`, checks how it ended, and adds every sink it left.
    fn run(&mut self, sb: Sandbox, case: Case) {
        let label = format!("[{}] {}", self.ran, case.label);
        self.ran += 1;
        let cmd = self
            .telemetry
            .wire(case.cmd, case.subcommand, &format!("run{}", self.ran));
        let cmd = if case.subcommand.is_empty() {
            cmd
        } else {
            cmd.subcommand(case.subcommand)
        }
        .command();
        let out = output_with_stdin(cmd, &case.stdin);
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(
            run.code,
            case.fails.unwrap_or(0),
            "{label}: exit code\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{label}: {}", run.stderr);
        if case.fails.is_none() && case.subcommand.is_empty() {
            assert!(
                run.stderr.len() > 1000,
                "{label}: -vvv logged little:\n{}",
                run.stderr
            );
        }

        let stdout = match case.stdout {
            Stdout::Plain => run.stdout.clone(),
            Stdout::HelperAnswer => without_fields(&run.stdout, &["Secret"]),
            Stdout::KubeletAnswer => without_fields(&run.stdout, &["password"]),
            Stdout::DockerConfigJson => without_fields(&run.stdout, &["password", "auth"]),
        };
        self.sinks
            .add(format!("{label}: stdout"), without_masks(&stdout));
        self.sinks
            .add(format!("{label}: stderr"), without_masks(&run.stderr));
        let mut skip = vec![];
        if let Some(text) = &case.untouched_config {
            let now = std::fs::read_to_string(sb.config_path()).unwrap();
            assert_eq!(&now, text, "{label}: config.json changed");
            skip.push(sb.config_path());
        }
        self.files(&sb, &label, case.output_credentials, skip);
    }

    /// Every file the run left in its sandbox, less the places secrets belong (and `skip`).
    fn files(&mut self, sb: &Sandbox, label: &str, output_credentials: bool, skip: Vec<PathBuf>) {
        let mut skip = skip;
        skip.extend([
            sb.path().join("fixtures"),
            sb.path().join("bin"),
            // The token caches: tokens are what they hold.
            sb.path().join("runner-temp").join("ecr-login-cache"),
            sb.path().join("cache"),
            sb.path().join("home").join(".cache").join("ecr-login"),
        ]);
        let mut stack = vec![sb.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if skip.contains(&p) {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let text = if p == sb.config_path() {
                    // Where Docker finds the logins: the auth values hold the passwords.
                    without_fields(&text, &["auth", "identitytoken", "registrytoken"])
                } else if p == sb.github_output() && output_credentials {
                    without_password_outputs(&p)
                } else {
                    text
                };
                self.sinks.add(format!("{label}: file {name}"), text);
            }
        }
    }

    fn finish(mut self) {
        self.telemetry.collect(&mut self.sinks);
        let mut secrets = std::mem::take(&mut self.secrets);
        secrets.extend(self.proxy.secrets());
        for p in &self.proxies {
            secrets.extend(p.secrets());
        }
        secrets.sort();
        secrets.dedup();
        // JWTs, keys, session tokens, ECR tokens and passwords were handed out and found.
        assert!(
            secrets.len() > 40,
            "only {} secrets known: the search would prove little",
            secrets.len()
        );
        let leaks = self.sinks.leaks(&secrets);
        assert!(
            leaks.is_empty(),
            "{} leaks in {} sinks:\n{}",
            leaks.len(),
            self.sinks.0.len(),
            leaks.join("\n")
        );
    }
}

/// `$GITHUB_OUTPUT` without the values of the `docker_password_*` outputs.
fn without_password_outputs(path: &Path) -> String {
    runner_file(path)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("docker_password_"))
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

fn case(label: &str, subcommand: &'static str, cmd: Cmd) -> Case {
    Case {
        label: label.into(),
        subcommand,
        cmd,
        stdin: Vec::new(),
        fails: None,
        stdout: Stdout::Plain,
        output_credentials: false,
        untouched_config: None,
    }
}

impl Case {
    fn fails(mut self, code: i32) -> Case {
        self.fails = Some(code);
        self
    }

    fn stdin(mut self, input: impl Into<Vec<u8>>) -> Case {
        self.stdin = input.into();
        self
    }

    fn stdout(mut self, kind: Stdout) -> Case {
        self.stdout = kind;
        self
    }
}

#[test]
fn no_command_and_no_error_path_leaks_a_secret_anywhere() {
    let mut w = World::new();
    let proxy_url = w.proxy.url();
    let registries = "111111111111,333333333333.dkr.ecr.eu-west-1.amazonaws.com,public.ecr.aws";

    // --- logins, every platform -----------------------------------------------------------
    let (sb, cmd) = w.github(&proxy_url);
    w.run(
        sb,
        case("github", "", cmd.args(&["--registries", registries])),
    );

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.args(&["--registries", "111111111111", "--output", "json"]);
    w.run(sb, case("github json", "", cmd));

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.args(&["--registries", "111111111111", "--output-credentials"]);
    let mut c = case("github --output-credentials", "", cmd);
    c.output_credentials = true;
    w.run(sb, c);

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.args(&[
        "--registries",
        "111111111111",
        "--output",
        "dockerconfigjson",
    ]);
    w.run(
        sb,
        case("github dockerconfigjson", "", cmd).stdout(Stdout::DockerConfigJson),
    );

    let (sb, cmd) = w.github(&proxy_url);
    sb.write_config(r#"{"credsStore": "fakestore"}"#);
    let cmd = cmd.args(&["--registries", "111111111111"]);
    w.run(sb, case("github into a credential store", "", cmd));

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.args(&["--registries", "111111111111", "--mode", "helper"]);
    w.run(sb, case("github --mode helper", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let jwt = w.jwt("audience=https%3A%2F%2Fgitlab.example.com");
    let cmd = cmd
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_PATH", "grp/proj")
        .env("AWS_ROLE_ARN", ROLE)
        .env("GITLAB_OIDC_TOKEN", &jwt)
        .env(
            "ECR_LOGIN_ENV_FILE",
            sb.path().join("gitlab.env").to_str().unwrap(),
        );
    w.run(sb, case("gitlab", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let jwt = w.jwt("audience=sts.amazonaws.com");
    let cmd = cmd
        .env("CI", "true")
        .env("CIRCLECI", "true")
        .env("CIRCLE_PROJECT_REPONAME", "app")
        .env("CIRCLE_BUILD_NUM", "7")
        .env("AWS_ROLE_ARN", ROLE)
        .env("CIRCLE_OIDC_TOKEN_V2", &jwt)
        .env("BASH_ENV", sb.path().join("bash_env").to_str().unwrap());
    w.run(sb, case("circleci, token in a variable", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = cmd
        .env("CI", "true")
        .env("CIRCLECI", "true")
        .env("AWS_ROLE_ARN", ROLE)
        .env("BASH_ENV", sb.path().join("bash_env").to_str().unwrap())
        .args(&["--audience", "sts.amazonaws.com"]);
    w.run(sb, case("circleci, token from the CLI", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = cmd
        .env("CI", "true")
        .env("BUILDKITE", "true")
        .env("BUILDKITE_ORGANIZATION_SLUG", "acme")
        .env("BUILDKITE_PIPELINE_SLUG", "web")
        .env("BUILDKITE_BUILD_NUMBER", "9")
        .env("AWS_ROLE_ARN", ROLE);
    w.run(sb, case("buildkite", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let jwt = w.jwt("audience=sts.amazonaws.com");
    let cmd = cmd
        .env("CI", "true")
        .env("BITBUCKET_BUILD_NUMBER", "5")
        .env("BITBUCKET_REPO_SLUG", "app")
        .env("AWS_ROLE_ARN", ROLE)
        .env("BITBUCKET_STEP_OIDC_TOKEN", &jwt);
    w.run(sb, case("bitbucket", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let jwt = w.jwt("audience=sts.amazonaws.com");
    let cmd = cmd
        .env("JENKINS_URL", "https://jenkins.example.com/")
        .env("JOB_NAME", "app")
        .env("BUILD_NUMBER", "41")
        .env("AWS_ROLE_ARN", ROLE)
        .env("OIDC_TOKEN", &jwt)
        .args(&["--id-token-env", "OIDC_TOKEN"]);
    w.run(sb, case("jenkins", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let jwt = w.jwt("audience=sts.amazonaws.com");
    let file = sb.path().join("fixtures/token");
    std::fs::write(&file, &jwt).unwrap();
    let cmd = cmd
        .env("AWS_ROLE_ARN", ROLE)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap());
    w.run(sb, case("web identity (EKS)", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = World::keys(cmd).args(&["--registries", "111111111111", "--role-arn", ROLE]);
    w.run(sb, case("local keys, assuming a role", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = World::keys(cmd).args(&[
        "--role-arn",
        ROLE,
        "--role-arn",
        "arn:aws:iam::222222222222:role/hop",
        "--role-external-id",
        "external-id-0123",
        "--allowed-account-ids",
        "222222222222",
    ]);
    w.run(sb, case("local keys, a role chain", "", cmd));

    // --- the other commands --------------------------------------------------------------
    let (sb, cmd) = w.github(&proxy_url);
    sb.write_config(&format!(
        r#"{{"auths":{{"{H1}":{{"auth":"{}"}},"ghcr.io":{{"auth":"{}"}}}}}}"#,
        b64(format!("AWS:{AWS_SECRET_KEY}").as_bytes()),
        b64(format!("octocat:{GHCR_PASSWORD}").as_bytes())
    ));
    w.run(sb, case("logout", "logout", cmd));

    let (sb, cmd) = w.github(&proxy_url);
    w.run(
        sb,
        case("policy", "policy", cmd.args(&["--account", "123456789012"])),
    );

    for (action, stdin, stdout) in [
        ("get", H1.to_string(), Stdout::HelperAnswer),
        ("list", String::new(), Stdout::Plain),
        (
            "store",
            format!(r#"{{"ServerURL":"{H1}","Username":"AWS","Secret":"{STORED_SECRET}"}}"#),
            Stdout::Plain,
        ),
        ("erase", H1.to_string(), Stdout::Plain),
        ("version", String::new(), Stdout::Plain),
    ] {
        let (sb, cmd) = w.sandbox(&proxy_url);
        let cmd = World::keys(cmd)
            .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
            .arg(action);
        w.run(
            sb,
            case(
                &format!("credential-helper {action}"),
                "credential-helper",
                cmd,
            )
            .stdin(stdin)
            .stdout(stdout),
        );
    }

    let request = |token: Option<&str>| {
        let mut r = serde_json::json!({
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            "kind": "CredentialProviderRequest",
            "image": format!("{H1}/app:1"),
        });
        if let Some(t) = token {
            r["serviceAccountToken"] = t.into();
            r["serviceAccountAnnotations"] =
                serde_json::json!({"eks.amazonaws.com/ecr-role-arn": ROLE});
        }
        r.to_string()
    };
    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = World::keys(cmd).args(&["--cache-dir", sb.path().join("cache").to_str().unwrap()]);
    w.run(
        sb,
        case(
            "kubelet, the node's keys",
            "kubelet-credential-provider",
            cmd,
        )
        .stdin(request(None))
        .stdout(Stdout::KubeletAnswer),
    );
    let (sb, cmd) = w.sandbox(&proxy_url);
    let sa = w.jwt("audience=sts.amazonaws.com&sub=system%3Aserviceaccount%3Ateam%3Apuller");
    let cmd = cmd.arg("--no-cache");
    w.run(
        sb,
        case(
            "kubelet, a service account token",
            "kubelet-credential-provider",
            cmd,
        )
        .stdin(request(Some(&sa)))
        .stdout(Stdout::KubeletAnswer),
    );

    // --- error paths ---------------------------------------------------------------------
    let denied = Proxy::with_faults(
        r#"[{"service": "sts", "status": 403, "code": "AccessDenied", "message": "Not authorized to perform sts:AssumeRoleWithWebIdentity"}]"#,
    );
    let (sb, cmd) = w.github(&denied.url());
    w.run(sb, case("STS AccessDenied", "", cmd).fails(4));
    let (sb, cmd) = w.sandbox(&denied.url());
    let cmd = World::keys(cmd).args(&["--role-arn", ROLE]);
    w.run(sb, case("STS AccessDenied, keys", "", cmd).fails(4));
    let (sb, cmd) = w.sandbox(&denied.url());
    let cmd = World::keys(cmd)
        .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
        .env("AWS_ROLE_ARN", ROLE)
        .arg("get");
    w.run(
        sb,
        case(
            "credential-helper get, STS AccessDenied",
            "credential-helper",
            cmd,
        )
        .stdin(H1)
        .fails(1),
    );
    w.proxies.push(denied);

    let ecr_denied = Proxy::with_faults(
        r#"[{"service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "not authorized to perform: ecr:GetAuthorizationToken"}]"#,
    );
    let (sb, cmd) = w.github(&ecr_denied.url());
    w.run(sb, case("ECR AccessDenied", "", cmd).fails(4));
    let (sb, cmd) = w.sandbox(&ecr_denied.url());
    let cmd = World::keys(cmd).arg("--no-cache");
    w.run(
        sb,
        case(
            "kubelet, ECR AccessDenied",
            "kubelet-credential-provider",
            cmd,
        )
        .stdin(request(None))
        .fails(4),
    );
    w.proxies.push(ecr_denied);

    // Transient faults, retried (their messages are logged).
    let flaky = Proxy::with_faults(
        r#"[{"service": "sts", "times": 2, "status": 503, "code": "ServiceUnavailable"},
            {"service": "ecr", "times": 1, "drop": true},
            {"service": "ecr", "times": 1, "status": 400, "code": "ThrottlingException", "message": "Rate exceeded"}]"#,
    );
    let (sb, cmd) = w.github(&flaky.url());
    w.run(sb, case("retried faults", "", cmd));
    w.proxies.push(flaky);

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", WRONG_REQUEST_TOKEN);
    w.run(sb, case("token endpoint 401", "", cmd).fails(3));

    let issuer = Issuer::start(&["--fail-first", "2"]);
    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!(
            "{}/token?api-version=2.0&sig=URL-SECRET-0123456789",
            issuer.url()
        ),
    );
    w.secrets.push("URL-SECRET-0123456789".into());
    w.run(sb, case("token endpoint 503, retried", "", cmd));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let file = sb.path().join("fixtures/not-a-token");
    std::fs::write(&file, NOT_A_TOKEN).unwrap();
    let cmd = cmd
        .env("AWS_ROLE_ARN", ROLE)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap());
    w.run(sb, case("a token file that is not a JWT", "", cmd).fails(3));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = cmd
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("AWS_ROLE_ARN", ROLE)
        .env("GITLAB_OIDC_TOKEN", NOT_A_TOKEN);
    w.run(
        sb,
        case("a token variable that is not a JWT", "", cmd).fails(3),
    );

    let (sb, cmd) = w.github(&proxy_url);
    let broken = format!(
        r#"{{"auths": {{"ghcr.io": {{"auth": "{}"}}, "x": {GHCR_PASSWORD}}}"#,
        b64(format!("octocat:{GHCR_PASSWORD}").as_bytes())
    );
    sb.write_config(&broken);
    let mut c = case("config.json not JSON", "", cmd).fails(7);
    c.untouched_config = Some(broken);
    w.run(sb, c);

    let (sb, cmd) = w.github(&proxy_url);
    sb.write_config(r#"{"credsStore": "broken"}"#);
    w.run(sb, case("a credential store that fails", "", cmd).fails(7));

    let (sb, cmd) = w.github(&proxy_url);
    let cmd = cmd.args(&["--allowed-account-ids", "999999999999"]);
    w.run(sb, case("an account not allowed", "", cmd).fails(4));

    let (sb, cmd) = w.sandbox(&proxy_url);
    let sa = w.jwt("audience=sts.amazonaws.com&sub=system%3Aserviceaccount%3Ateam%3Abad");
    let bad = request(Some(&sa)).replace("/v1\"", "/v9\"");
    w.run(
        sb,
        case(
            "kubelet, a request in another version",
            "kubelet-credential-provider",
            cmd,
        )
        .stdin(bad)
        .fails(2),
    );

    let (sb, cmd) = w.sandbox(&proxy_url);
    let cmd = World::keys(cmd)
        .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
        .arg("store");
    w.run(
        sb,
        case("credential-helper store, not ECR", "credential-helper", cmd)
            .stdin(format!(
                r#"{{"ServerURL":"ghcr.io","Username":"u","Secret":"{STORED_SECRET}"}}"#
            ))
            .fails(1),
    );

    // The fake programs ran, and logged their argv (searched like every other file).
    let argv: String = w
        .sinks
        .0
        .iter()
        .filter(|(name, _)| name.ends_with("file argv.log"))
        .map(|(_, text)| text.as_str())
        .collect();
    for call in [
        "docker-credential-fakestore store",
        "docker-credential-broken store",
        "buildkite-agent oidc request-token",
        "buildkite-agent redactor add",
        "circleci run oidc get",
    ] {
        assert!(argv.contains(call), "no {call:?} in the argv logs:\n{argv}");
    }
    let runs = w.ran;
    w.finish();
    assert!(runs > 30, "{runs} runs");
}

/// The search finds what it looks for: every form of a planted secret, and no false alarm.
#[test]
fn the_search_finds_every_form() {
    let secret = "s3cr3t/value+with=odd chars";
    for pad in ["", "x", "xy"] {
        let mut sinks = Sinks::default();
        let encoded = b64(format!("{pad}{secret}!").as_bytes());
        sinks.add("base64", encoded.clone());
        sinks.add(
            "base64url",
            encoded.replace('+', "-").replace('/', "_").replace('=', ""),
        );
        sinks.add("url", format!("x?q={}&y", url_encode(secret)));
        sinks.add("raw", format!("..{secret}.."));
        let leaks = sinks.leaks(&[secret.to_string()]);
        for sink in ["base64 holds", "base64url holds", "url holds", "raw holds"] {
            assert!(
                leaks.iter().any(|l| l.starts_with(sink)),
                "{pad:?}: {sink} not found: {leaks:?}"
            );
        }
    }
    let mut clean = Sinks::default();
    clean.add("other", "s3cr3t/valu and with=odd chars, base64 czNjcjN0");
    assert!(clean.leaks(&[secret.to_string()]).is_empty());
}
