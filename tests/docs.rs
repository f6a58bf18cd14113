//! The getting-started pages (docs/getting-started/<platform>.md), run the way a newcomer runs
//! them, from nothing to a push. Each page has three fenced blocks after marker comments:
//!
//! - `<!-- snippet: install -->`: the laptop install, run with bash. Its installer download from
//!   `https://raw.githubusercontent.com/.../v<version>/scripts/install.sh` reaches a local
//!   stand-in for GitHub's raw file host (tests/support/hosts points the name at it) serving the
//!   installer as that tag holds it: this working tree's scripts/install.sh with the release's
//!   checksums pinned by `scripts/release.sh pin`'s scripts, the binary under test being the
//!   release (harness `pages_release`). The installer then downloads the release's archive from
//!   the local release site (ECR_LOGIN_BASE_URL standing in for GitHub's release downloads, the
//!   CA in CURL_CA_BUNDLE), checks it against its own pins (no checksum override) and unpacks it.
//! - `<!-- snippet: policy -->`: the `ecr-login policy` and `aws iam`/`aws ecr` commands, run with
//!   bash, the installed binary and a stand-in `aws` (tests/support/aws_cli_standin.py) that
//!   checks and records what the AWS CLI would send. The test STS then evaluates exactly those
//!   documents like IAM: the token's issuer must be the provider's URL, its audience in the
//!   provider's client ids, its claims must satisfy the trust policy; and the permission policy
//!   must allow pushing to the repository the page creates.
//! - `<!-- snippet: ci -->`: the CI config, run the platform's way through the wrappers (the
//!   action's main/post steps, the GitLab component included with the snippet's inputs, the
//!   packed orb's commands, the Jenkins library under a Jenkinsfile stand-in, Buildkite's and
//!   Bitbucket's command lines), each wrapper as the tag the page pins holds it (the pinned
//!   tree), with a token that carries the platform's claims for the page's project. There is no Docker engine here: a `docker` stand-in
//!   (tests/support/docker_standin.sh) turns `docker push` into `skopeo copy` with the
//!   credentials in Docker's config.json, to the local registry for the page's account and
//!   region, and the test reads the image back from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::harness::*;

const PAGES: &[&str] = &[
    "bitbucket",
    "buildkite",
    "circleci",
    "github",
    "gitlab",
    "jenkins",
];
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

// --- the pages -------------------------------------------------------------------------------

fn page(name: &str) -> String {
    let path = repo_root().join(format!("docs/getting-started/{name}.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body of the first fenced block after `<!-- snippet: NAME -->` (which occurs once).
fn snippet(text: &str, name: &str) -> String {
    let marker = format!("<!-- snippet: {name} -->");
    assert_eq!(
        text.matches(&marker).count(),
        1,
        "expected one {marker} in the page"
    );
    let rest = &text[text.find(&marker).unwrap() + marker.len()..];
    let open = rest.find("```").expect("no fenced block after the marker");
    let after = &rest[open..];
    let body = &after[after.find('\n').unwrap() + 1..];
    let end = body.find("\n```").expect("unterminated fenced block");
    format!("{}\n", &body[..end])
}

/// A YAML document as JSON; GitLab's `!reference [job, key]` becomes {"!reference": [...]}.
fn yaml(text: &str) -> Value {
    let code = r#"
import json, sys
from ruamel.yaml import YAML
yaml = YAML(typ="safe")
yaml.constructor.add_constructor(
    "!reference", lambda c, node: {"!reference": c.construct_sequence(node)})
print(json.dumps(yaml.load(sys.stdin.read())))
"#;
    let mut cmd = Command::new(python());
    cmd.args(["-c", code]);
    let out = output_with_stdin(cmd, text);
    assert!(
        out.status.success(),
        "not YAML: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other}"),
    }
}

/// Runs `program args` with exactly `env`, in `dir`.
fn run_in(dir: &Path, env: &BTreeMap<String, String>, program: &str, args: &[&str]) -> Run {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn set(env: &mut BTreeMap<String, String>, k: &str, v: impl AsRef<str>) {
    env.insert(k.to_string(), v.as_ref().to_string());
}

// --- the laptop: install, then the IAM documents ---------------------------------------------

/// What the page's laptop part made: the AWS CLI calls with their documents.
struct Laptop {
    sb: Sandbox,
    release: Release,
    provider: Value,
    trust: Value,
    permissions: Value,
    /// The role `aws iam create-role` created.
    role: String,
    /// The ECR repository `aws ecr create-repository` created.
    repository: String,
}

/// Runs the page's install and policy snippets, in that order, in one bash session.
fn laptop(name: &str) -> Laptop {
    let text = page(name);
    raw_github();
    let sb = Sandbox::new();
    let release = Release::default_version();
    let home = sb.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let log = sb.path().join("aws.jsonl");
    sb.install_program(
        "aws",
        &format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            python().display(),
            repo_root()
                .join("tests/support/aws_cli_standin.py")
                .display()
        ),
    );
    let mut env = BTreeMap::new();
    set(&mut env, "PATH", sb.path_with_bin());
    set(&mut env, "HOME", home.to_str().unwrap());
    set(&mut env, "AWS_STANDIN_LOG", log.to_str().unwrap());
    for (k, v) in release.page_install_env(&sb.path().join("ca-bundle.pem")) {
        set(&mut env, &k, v);
    }
    let script = format!("{}{}", snippet(&text, "install"), snippet(&text, "policy"));
    let run = run_in(
        &sb.path().join("laptop"),
        &env,
        "bash",
        &["-e", "-c", &script],
    );
    run.assert_ok();
    let installed = home.join(".local/bin/ecr-login");
    assert_eq!(
        sha256_file(&installed),
        sha256_file(Path::new(BIN)),
        "{name}: the install snippet did not install the release binary"
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("ecr-login ") && l.contains('.')),
        "{name}: `ecr-login --version` printed no version:\n{}",
        run.stdout
    );
    assert_eq!(release.requests(), 1, "{name}: one download of the release");
    let archive = format!("/v{}/{}", release.version, asset_name(&host_linux_target()));
    assert!(
        run.stderr.contains(&archive),
        "{name}: the installer did not download the release archive {archive}:\n{}",
        run.stderr
    );

    let calls: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let commands: Vec<String> = calls
        .iter()
        .map(|c| c["command"][1].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        commands,
        [
            "create-open-id-connect-provider",
            "create-role",
            "put-role-policy",
            "create-repository"
        ],
        "{name}: the AWS CLI commands"
    );
    let role = calls[1]["options"]["--role-name"].as_str().unwrap();
    assert_eq!(
        calls[2]["options"]["--role-name"], role,
        "{name}: the permissions go to another role than the one created"
    );
    assert_eq!(
        calls[3]["options"]["--region"], REGION,
        "{name}: the repository is made in another region"
    );
    Laptop {
        provider: calls[0]["documents"]["--cli-input-json"].clone(),
        trust: calls[1]["documents"]["--assume-role-policy-document"].clone(),
        permissions: calls[2]["documents"]["--policy-document"].clone(),
        role: role.to_string(),
        repository: calls[3]["options"]["--repository-name"]
            .as_str()
            .unwrap()
            .to_string(),
        sb,
        release,
    }
}

/// IAM's `*`/`?` matching (case-sensitive).
fn glob(pattern: &str, value: &str) -> bool {
    fn m(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], v) || (!v.is_empty() && m(p, &v[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &v[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), value.as_bytes())
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(str_of).collect(),
        other => vec![str_of(other)],
    }
}

/// Whether an identity policy's Allow statements allow `action` on `resource`.
fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    policy["Statement"].as_array().unwrap().iter().any(|st| {
        st["Effect"] == "Allow"
            && as_list(&st["Action"]).iter().any(|a| glob(a, action))
            && as_list(&st["Resource"]).iter().any(|r| glob(r, resource))
    })
}

impl Laptop {
    /// STS that accepts exactly what the page's provider and trust policy accept, for tokens
    /// signed by the issuer whose keys are at `jwks`.
    fn aws(&self, jwks: &str) -> Proxy {
        let trust = self.sb.path().join("trust.json");
        let provider = self.sb.path().join("provider.json");
        std::fs::write(&trust, self.trust.to_string()).unwrap();
        std::fs::write(&provider, self.provider.to_string()).unwrap();
        Proxy::with_args(&[
            "--jwks-url",
            jwks,
            "--trust-policy",
            trust.to_str().unwrap(),
            "--oidc-provider",
            provider.to_str().unwrap(),
        ])
    }

    /// The permission policy lets the role log in and push `image`'s repository.
    fn assert_can_push(&self, image: &str) {
        let repo = image
            .strip_prefix(&format!("{REGISTRY}/"))
            .and_then(|r| r.split(':').next())
            .unwrap_or_else(|| panic!("{image} is not in {REGISTRY}"));
        assert_eq!(
            repo, self.repository,
            "the job pushes to another repository than the page creates"
        );
        let arn = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}");
        assert!(
            allows(&self.permissions, "ecr:GetAuthorizationToken", "*"),
            "{:#}",
            self.permissions
        );
        for action in [
            "ecr:BatchCheckLayerAvailability",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage",
        ] {
            assert!(
                allows(&self.permissions, action, &arn),
                "the page's permission policy does not allow {action} on {arn}, so `docker push` \
                 would be denied:\n{:#}",
                self.permissions
            );
        }
    }

    /// The CI machine: its own home and work directory, `docker` on PATH.
    fn ci_dir(&self) -> PathBuf {
        let dir = self.sb.path().join("ci");
        for d in ["home", "work", "tmp"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        // What the checkout brings: a Dockerfile for `docker build .`.
        std::fs::write(dir.join("work/Dockerfile"), "FROM scratch\n").unwrap();
        self.sb.install_program(
            "docker",
            &std::fs::read_to_string(repo_root().join("tests/support/docker_standin.sh")).unwrap(),
        );
        dir
    }

    /// What every CI job here gets besides its platform's variables: PATH with the stand-ins,
    /// HOME, AWS on loopback, the docker stand-in's settings, and the installer's settings that
    /// point it at the local release site (an organization's variables, or an agent's).
    fn ci_env(&self, proxy: &Proxy) -> BTreeMap<String, String> {
        let ci = self.ci_dir();
        let regs = registries();
        let mut env = BTreeMap::new();
        set(&mut env, "PATH", self.sb.path_with_bin());
        set(&mut env, "HOME", ci.join("home").to_str().unwrap());
        set(&mut env, "TMPDIR", ci.join("tmp").to_str().unwrap());
        set(&mut env, "CI", "true");
        set(&mut env, "AWS_ENDPOINT_URL", proxy.url());
        set(&mut env, "AWS_EC2_METADATA_DISABLED", "true");
        set(
            &mut env,
            "AWS_CONFIG_FILE",
            self.sb.path().join("aws-config").to_str().unwrap(),
        );
        set(
            &mut env,
            "AWS_SHARED_CREDENTIALS_FILE",
            self.sb.path().join("aws-credentials").to_str().unwrap(),
        );
        set(
            &mut env,
            "DOCKER_STANDIN_STORE",
            ci.join("images").to_str().unwrap(),
        );
        set(
            &mut env,
            "DOCKER_STANDIN_IMAGE",
            regs.layout.to_str().unwrap(),
        );
        set(
            &mut env,
            "DOCKER_STANDIN_CERTS",
            regs.certs.to_str().unwrap(),
        );
        for (k, v) in self
            .release
            .page_install_env(&self.sb.path().join("ci-ca-bundle.pem"))
        {
            set(&mut env, &k, v);
        }
        env
    }

    fn ci_home(&self) -> PathBuf {
        self.sb.path().join("ci/home")
    }

    /// STS let the page's role in, once, for the job's token.
    fn assert_assumed(&self, proxy: &Proxy) {
        let sts: Vec<Value> = proxy
            .calls()
            .into_iter()
            .filter(|c| c["service"] == "sts")
            .collect();
        assert!(!sts.is_empty(), "no STS call");
        assert_eq!(sts[0]["operation"], "AssumeRoleWithWebIdentity");
        assert_eq!(sts[0]["status"], 200, "{sts:?}");
        assert_eq!(
            sts[0]["params"]["RoleArn"],
            format!("arn:aws:iam::{ACCOUNT}:role/{}", self.role),
            "the job assumes another role than the page creates"
        );
    }
}

/// The image is in the registry (read back with the registry's own password).
fn assert_pushed(sb: &Sandbox, image: &str) {
    let regs = registries();
    let inspected = run_ok(skopeo(sb).args([
        "inspect",
        "--creds",
        &format!("AWS:{ACCOUNT}-auth-token"),
        "--cert-dir",
        regs.certs.to_str().unwrap(),
        &format!("docker://{image}"),
    ]));
    let v: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(v["Labels"]["built-by"], "ecr-login tests", "{inspected}");
}

/// No ECR login is left in the Docker config under `home`.
fn assert_logged_out(home: &Path) {
    let path = home.join(".docker/config.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "{}".into());
    let config: Value = serde_json::from_str(&text).unwrap();
    assert!(
        config["auths"].get(REGISTRY).is_none(),
        "the login outlived the job: {config:#}"
    );
}

fn shared_jwks() -> String {
    format!("{}/.well-known/jwks", shared_issuer_url())
}

// --- the pages as a whole --------------------------------------------------------------------

/// Every page is one of the tested ones, all install the same way, all make a role that can push,
/// and the README links each of them.
#[test]
fn every_page_is_tested_installs_alike_and_is_linked() {
    let mut found: Vec<String> = std::fs::read_dir(repo_root().join("docs/getting-started"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let want: Vec<String> = PAGES.iter().map(|p| format!("{p}.md")).collect();
    assert_eq!(
        found, want,
        "a page without a test, or a test without a page"
    );
    let install = snippet(&page("github"), "install");
    assert!(
        install.contains(&format!("/v{}/scripts/install.sh", installer_default_version())),
        "the install snippet fetches another release's installer than scripts/install.sh's default:\n{install}"
    );
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for p in PAGES {
        let text = page(p);
        assert_eq!(snippet(&text, "install"), install, "{p}: another install");
        assert!(
            snippet(&text, "policy").contains("--access push"),
            "{p}: the role would only pull"
        );
        assert!(
            readme.contains(&format!("(docs/getting-started/{p}.md)")),
            "README.md does not link {p}.md"
        );
    }
}

/// What the pages promise about the install: an archive that is not the one the installer at
/// the tag pins stops it with `checksum mismatch: want … got …` and exit 9, and nothing is
/// installed; the same snippet installs the release once the archive is intact again.
#[test]
fn the_install_snippet_refuses_a_tampered_archive() {
    let text = page("github");
    assert!(
        text.contains("`checksum mismatch: want … got …` (exit code 9) and installs nothing"),
        "the page no longer says what a tampered download does"
    );
    raw_github();
    let sb = Sandbox::new();
    let release = Release::default_version();
    let target = host_linux_target();
    let pristine = std::fs::read(release.asset(&target)).unwrap();
    let got = release.tamper(&target);
    let home = sb.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut env = BTreeMap::new();
    set(&mut env, "PATH", sb.path_with_bin());
    set(&mut env, "HOME", home.to_str().unwrap());
    for (k, v) in release.page_install_env(&sb.path().join("ca-bundle.pem")) {
        set(&mut env, &k, v);
    }
    let install = snippet(&text, "install");
    let laptop = sb.path().join("laptop");
    let run = run_in(&laptop, &env, "bash", &["-e", "-c", &install]);
    let want = format!(
        "checksum mismatch: want {} got {got}",
        pages_release().pinned(&target)
    );
    run.assert_fails(9, &[want.as_str(), "nothing was installed"]);
    assert!(
        !home.join(".local/bin/ecr-login").exists(),
        "a tampered archive was installed"
    );

    std::fs::write(release.asset(&target), pristine).unwrap();
    run_in(&laptop, &env, "bash", &["-e", "-c", &install]).assert_ok();
    assert_eq!(
        sha256_file(&home.join(".local/bin/ecr-login")),
        sha256_file(Path::new(BIN))
    );
}

// --- GitHub Actions --------------------------------------------------------------------------

/// `${{ steps.<id>.outputs.<name> }}` replaced from the steps' outputs; any other expression is
/// not expected in a getting-started workflow.
fn github_expressions(value: &str, outputs: &BTreeMap<String, BTreeMap<String, String>>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("unterminated ${{") + i;
        let expr = rest[i + 3..end].trim();
        let parts: Vec<&str> = expr.split('.').collect();
        match parts.as_slice() {
            ["steps", id, "outputs", name] => out.push_str(
                outputs
                    .get(*id)
                    .and_then(|o| o.get(*name))
                    .unwrap_or_else(|| panic!("no output {expr}")),
            ),
            _ => panic!("unexpected expression {expr}"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn github_page_from_laptop_to_push() {
    let text = page("github");
    let l = laptop("github");
    let issuer = Issuer::start(&[
        "--issuer",
        "https://token.actions.githubusercontent.com",
        "--sub",
        "repo:octo-org/app:ref:refs/heads/main",
        "--repository",
        "octo-org/app",
    ]);
    let proxy = l.aws(&format!("{}/.well-known/jwks", issuer.url()));
    let workflow = yaml(&snippet(&text, "ci"));
    assert!(
        as_list(&workflow["on"]["push"]["branches"]).contains(&"main".to_string()),
        "the workflow does not run on pushes to main"
    );
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = jobs.values().next().unwrap();
    assert_eq!(
        job["permissions"]["id-token"], "write",
        "without id-token: write the job gets no OIDC token"
    );

    let ci = l.ci_dir();
    let mut env = l.ci_env(&proxy);
    for (k, v) in [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo-org/app"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_SHA", COMMIT),
        ("GITHUB_RUN_ID", "1234567890"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN),
    ] {
        set(&mut env, k, v);
    }
    set(
        &mut env,
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        format!("{}/token?api-version=2.0", issuer.url()),
    );
    set(
        &mut env,
        "RUNNER_TOOL_CACHE",
        ci.join("toolcache").to_str().unwrap(),
    );
    set(&mut env, "GITHUB_ENV", ci.join("env").to_str().unwrap());
    set(&mut env, "GITHUB_STATE", ci.join("state").to_str().unwrap());

    let tree = &pages_release().tree;
    let action = yaml(&std::fs::read_to_string(tree.join("action.yml")).unwrap());
    let work = ci.join("work");
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut post_inputs = None;
    for (n, step) in job["steps"].as_array().unwrap().iter().enumerate() {
        let output = ci.join(format!("output-{n}"));
        let mut step_env = env.clone();
        set(&mut step_env, "GITHUB_OUTPUT", output.to_str().unwrap());
        let uses = step["uses"].as_str().unwrap_or_default();
        if let Some(rev) = uses.strip_prefix("actions/checkout@") {
            assert!(
                rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
                "checkout is not pinned to a commit: {uses}"
            );
        } else if uses.starts_with("ecr-login/ecr-login@") {
            let mut inputs: BTreeMap<String, String> = action["inputs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), str_of(&v["default"])))
                .collect();
            for (k, v) in step["with"].as_object().unwrap() {
                assert!(inputs.contains_key(k), "action.yml has no input {k}");
                inputs.insert(k.clone(), str_of(v));
            }
            for (k, v) in &inputs {
                set(&mut step_env, &format!("INPUT_{}", k.to_uppercase()), v);
            }
            let main = tree.join("action/main.js");
            run_in(&work, &step_env, "node", &[main.to_str().unwrap()]).assert_ok();
            let id = step["id"].as_str().expect("the action's step has no id");
            outputs.insert(id.to_string(), runner_file(&output));
            post_inputs = Some(step_env);
        } else if let Some(script) = step["run"].as_str() {
            for (k, v) in step["env"].as_object().into_iter().flatten() {
                set(&mut step_env, k, github_expressions(&str_of(v), &outputs));
            }
            assert!(
                !script.contains("${{"),
                "an expression inside run: {script}"
            );
            let file = ci.join(format!("step-{n}.sh"));
            std::fs::write(&file, script).unwrap();
            // GitHub's `bash` shell on Linux runners.
            run_in(
                &work,
                &step_env,
                "bash",
                &[
                    "--noprofile",
                    "--norc",
                    "-eo",
                    "pipefail",
                    file.to_str().unwrap(),
                ],
            )
            .assert_ok();
        } else {
            panic!("unexpected step {step}");
        }
    }
    // The action's post step, at the end of the job.
    let mut post_env = post_inputs.expect("the workflow does not use the action");
    for (k, v) in runner_file(&ci.join("state")) {
        set(&mut post_env, &format!("STATE_{k}"), v);
    }
    let post = tree.join("action/post.js");
    run_in(&work, &post_env, "node", &[post.to_str().unwrap()]).assert_ok();

    let image = format!("{REGISTRY}/app:{COMMIT}");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
    assert_logged_out(&l.ci_home());
}

// --- GitLab CI -------------------------------------------------------------------------------

/// GitLab's `extends:`: hashes merged key by key, the job's values winning; anything else the
/// job's.
fn gitlab_merge(base: &Value, job: &Value) -> Value {
    match (base, job) {
        (Value::Object(b), Value::Object(j)) => {
            let mut out = b.clone();
            for (k, v) in j {
                let merged = match b.get(k) {
                    Some(bv) => gitlab_merge(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, j) => j.clone(),
    }
}

/// A script section's lines, with `!reference [job, key]` items replaced by those lines.
fn gitlab_lines(section: &Value, jobs: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for item in section.as_array().unwrap() {
        if let Some(reference) = item.get("!reference") {
            let (job, key) = (str_of(&reference[0]), str_of(&reference[1]));
            let target = &jobs
                .get(&job)
                .unwrap_or_else(|| panic!("!reference to {job}"))[&key];
            out.extend(gitlab_lines(target, jobs));
        } else {
            out.push(str_of(item));
        }
    }
    out
}

#[test]
fn gitlab_page_from_laptop_to_push() {
    let text = page("gitlab");
    let l = laptop("gitlab");
    let proxy = l.aws(&shared_jwks());
    let pipeline = yaml(&snippet(&text, "ci"));
    let include = &pipeline["include"][0];
    let component = include["component"].as_str().unwrap();
    assert!(
        component.starts_with("$CI_SERVER_FQDN/") && component.contains("/ecr-login@"),
        "{component}"
    );
    let inputs: Vec<(String, String)> = include["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), str_of(v)))
        .collect();
    let given: Vec<(&str, &str)> = inputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // The component at the version the page includes: the pinned tree's template.
    let template =
        std::fs::read_to_string(pages_release().tree.join("gitlab/templates/ecr-login.yml"))
            .unwrap();
    let (hidden_name, hidden) =
        crate::wrapper_gitlab::only_job(&crate::wrapper_gitlab::interpolate_in(&template, &given));
    let (name, job) = pipeline
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, j)| j["extends"] == hidden_name.as_str())
        .unwrap_or_else(|| panic!("no job extends {hidden_name}"));
    let job = gitlab_merge(&hidden, job);
    let jobs: BTreeMap<String, Value> = [(hidden_name.clone(), hidden.clone())].into();

    let ci = l.ci_dir();
    let work = ci.join("work");
    let mut predefined = BTreeMap::new();
    for (k, v) in [
        ("GITLAB_CI", "true"),
        ("CI_SERVER_URL", "https://gitlab.com"),
        ("CI_SERVER_FQDN", "gitlab.com"),
        ("CI_PROJECT_PATH", "my-group/my-project"),
        ("CI_COMMIT_REF_NAME", "main"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_COMMIT_SHA", COMMIT),
        ("CI_PIPELINE_ID", "77"),
        ("CI_JOB_ID", "88"),
    ] {
        set(&mut predefined, k, v);
    }
    set(&mut predefined, "CI_JOB_NAME", name);
    set(&mut predefined, "CI_PROJECT_DIR", work.to_str().unwrap());
    let mut env = predefined.clone();
    // The job's variables, expanded as GitLab does...
    for (k, v) in job["variables"].as_object().unwrap() {
        let value = crate::wrapper_gitlab::expand(&str_of(v), &env);
        set(&mut env, k, value);
    }
    // ... its ID tokens, with the claims gitlab.com gives this project's main...
    for (var, spec) in job["id_tokens"].as_object().unwrap() {
        let aud = crate::wrapper_gitlab::expand(&str_of(&spec["aud"]), &predefined);
        let jwt = token(
            "https://gitlab.com",
            &aud,
            "project_path:my-group/my-project:ref_type:branch:ref:main",
        );
        set(&mut env, var, jwt);
    }
    // ... then the runner's and the instance's settings (CI/CD variables outrank the job's).
    env.extend(l.ci_env(&proxy));
    // The job's image is docker (Alpine): its package manager, with curl already here.
    l.sb.install_program(
        "apk",
        "#!/bin/sh\n# stand-in for Alpine's apk: curl is already installed\n[ \"$1\" = add ] && command -v curl >/dev/null\n",
    );

    let mut main = gitlab_lines(&job["before_script"], &jobs);
    main.extend(gitlab_lines(&job["script"], &jobs));
    let run = run_in(&work, &env, "sh", &["-e", "-c", &main.join("\n")]);
    run.assert_ok();
    // after_script: a new shell, as GitLab runs it.
    let after = gitlab_lines(&job["after_script"], &jobs);
    run_in(&work, &env, "sh", &["-e", "-c", &after.join("\n")]).assert_ok();

    let image = format!("{REGISTRY}/app:{COMMIT}");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
    assert_logged_out(&l.ci_home());
    let dotenv = work.join(str_of(&job["artifacts"]["reports"]["dotenv"]));
    assert_eq!(
        std::fs::read_to_string(dotenv).unwrap(),
        format!("ECR_LOGIN_REGISTRY={REGISTRY}\nECR_LOGIN_REGISTRY_HOSTS={REGISTRY}\n")
    );
}

// --- CircleCI --------------------------------------------------------------------------------

const CCI_ORG: &str = "b1f7e2a0-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const CCI_PROJECT: &str = "c2a8f3b1-4d5e-4f60-9b0c-1d2e3f4a5b6c";

#[test]
fn circleci_page_from_laptop_to_push() {
    let text = page("circleci");
    let l = laptop("circleci");
    let proxy = l.aws(&shared_jwks());
    let config = yaml(&snippet(&text, "ci"));
    assert!(str_of(&config["orbs"]["ecr-login"]).starts_with("ecr-login/ecr-login@"));
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = crate::wrapper_orb::pack_from(&pages_release().tree.join("orb/src"), dir.path());

    let jobs = config["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    let (job_name, job) = jobs.iter().next().unwrap();
    // The workflow runs the job with a context: only then does CircleCI issue the token.
    let entry = config["workflows"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|w| w["jobs"].as_array().unwrap().iter())
        .find_map(|j| j.get(job_name))
        .unwrap_or_else(|| panic!("no workflow runs {job_name}"));
    let has_context = !entry["context"].is_null();
    assert_eq!(
        as_list(&entry["filters"]["branches"]["only"]),
        ["main"],
        "the workflow's branch"
    );

    let ci = l.ci_dir();
    let mut env = l.ci_env(&proxy);
    for (k, v) in [
        ("CIRCLECI", "true"),
        ("CIRCLE_PROJECT_REPONAME", "app"),
        ("CIRCLE_BUILD_NUM", "123"),
        ("CIRCLE_BRANCH", "main"),
        ("CIRCLE_SHA1", COMMIT),
    ] {
        set(&mut env, k, v);
    }
    set(&mut env, "BASH_ENV", ci.join("bash_env").to_str().unwrap());
    if has_context {
        let jwt = token(
            &format!("https://oidc.circleci.com/org/{CCI_ORG}"),
            CCI_ORG,
            &format!(
                "org/{CCI_ORG}/project/{CCI_PROJECT}/user/9f2c0d1e-user/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"
            ),
        );
        set(&mut env, "CIRCLE_OIDC_TOKEN_V2", jwt);
    }
    let work = ci.join("work");
    // Each step as the runner runs it: `bash -eo pipefail`, which reads $BASH_ENV first.
    let step = |command: &str, environment: &BTreeMap<String, String>| {
        let mut e = env.clone();
        e.extend(environment.clone());
        run_in(&work, &e, "bash", &["-eo", "pipefail", "-c", command]).assert_ok();
    };
    for s in job["steps"].as_array().unwrap() {
        let (name, params) = match s {
            Value::String(n) => (n.clone(), Value::Null),
            Value::Object(o) => {
                let (n, p) = o.iter().next().unwrap();
                (n.clone(), p.clone())
            }
            other => panic!("unexpected step {other}"),
        };
        match name.as_str() {
            "checkout" | "setup_remote_docker" => {}
            "run" => {
                let command = params
                    .get("command")
                    .map(str_of)
                    .unwrap_or_else(|| str_of(&params));
                step(&command, &BTreeMap::new());
            }
            orb_command => {
                let command = orb_command
                    .strip_prefix("ecr-login/")
                    .unwrap_or_else(|| panic!("unexpected step {orb_command}"));
                let args: Vec<(String, String)> = params
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), str_of(v)))
                    .collect();
                let args: Vec<(&str, &str)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                for s in crate::wrapper_orb::compile(&orb, command, &args) {
                    step(&s.command, &s.environment);
                }
            }
        }
    }

    let image = format!("{REGISTRY}/app:{COMMIT}");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
    assert_logged_out(&l.ci_home());
}

// --- Jenkins ---------------------------------------------------------------------------------

const JENKINS_JOB_URL: &str = "https://jenkins.example.com/job/app/";

/// Runs `jenkinsfile` (its `@Library` line removed: the harness loads the library, as the
/// line asks Jenkins to) on an agent with `env`, with credential `aws-id-token` holding `jwt`.
/// Returns the build log.
fn jenkins_build(
    l: &Laptop,
    jenkinsfile: &str,
    env: &BTreeMap<String, String>,
    jwt: &str,
) -> String {
    let (first, rest) = jenkinsfile.split_once('\n').unwrap();
    assert_eq!(
        first,
        format!("@Library('ecr-login@v{}') _", installer_default_version()),
        "the Jenkinsfile loads another library version than the installer's release"
    );
    let groovy_lib = repo_root().join("tools/node_modules/npm-groovy-lint/lib/java/groovy/lib");
    assert!(groovy_lib.is_dir(), "no Groovy jars: run scripts/setup.sh");
    let file = l.sb.path().join("Jenkinsfile");
    std::fs::write(&file, rest).unwrap();
    let log = l.sb.path().join("build.log");
    let spec = json!({
        "library": pages_release().tree.join("jenkins"),
        "workspace": env["WORKSPACE"],
        "log": log,
        "env": env,
        "credentials": {"aws-id-token": {"type": "string", "secret": jwt}},
        "jenkinsfile": file,
    });
    let spec_file = l.sb.path().join("pipeline.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", groovy_lib.display()))
        .arg("groovy.ui.GroovyMain")
        .arg(repo_root().join("tests/support/jenkins_steps.groovy"))
        .arg(&spec_file)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", l.sb.path().join("home"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "groovy failed:\n{stdout}\n{}\nlog:\n{log_text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(
        answer["error"],
        Value::Null,
        "the build failed:\n{log_text}"
    );
    log_text
}

fn jenkins_env(l: &Laptop, proxy: &Proxy) -> BTreeMap<String, String> {
    let mut env = l.ci_env(proxy);
    let work = l.ci_dir().join("work");
    for (k, v) in [
        ("JENKINS_URL", "https://jenkins.example.com/"),
        ("JOB_NAME", "app"),
        ("JOB_URL", JENKINS_JOB_URL),
        ("BUILD_NUMBER", "41"),
    ] {
        set(&mut env, k, v);
    }
    set(&mut env, "WORKSPACE", work.to_str().unwrap());
    env
}

#[test]
fn jenkins_page_from_laptop_to_push() {
    let text = page("jenkins");
    let l = laptop("jenkins");
    let proxy = l.aws(&shared_jwks());
    let env = jenkins_env(&l, &proxy);
    let jwt = token(
        "https://jenkins.example.com/oidc",
        "sts.amazonaws.com",
        JENKINS_JOB_URL,
    );
    let log = jenkins_build(&l, &snippet(&text, "ci"), &env, &jwt);

    let image = format!("{REGISTRY}/app:41");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
    assert!(
        !l.ci_home().join(".docker/config.json").exists(),
        "withEcrLogin wrote the agent's own Docker config"
    );
    let tmp = l.ci_dir().join("work@tmp");
    let left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ecr-login-docker"))
        .collect();
    assert!(
        left.is_empty(),
        "the block's Docker config was kept: {left:?}"
    );
    assert_no_secret_in(&proxy.secrets(), &[("the build log", &log)]);
}

/// jenkins/README.md's Declarative example: `ecrLogin` into the agent's ~/.docker, the push,
/// and `ecrLogout()` in `post { always { ... } }`, with the credential the README's setup makes.
#[test]
fn jenkins_readme_declarative_example_logs_in_pushes_and_logs_out() {
    let readme = std::fs::read_to_string(repo_root().join("jenkins/README.md")).unwrap();
    assert!(
        readme.contains("ID: `aws-id-token`"),
        "the README's setup names another credential"
    );
    let example = readme
        .split("```groovy\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap().to_string() + "\n")
        .find(|b| b.contains("pipeline {") && b.contains("ecrLogout()"))
        .expect("no Declarative example with ecrLogout() in jenkins/README.md");
    assert!(example.contains("idTokenCredentialsId: 'aws-id-token'"));
    // The README's setup: a Jenkins whose job `app` trusts the role; STS takes any job here.
    let l = laptop("jenkins");
    let proxy = Proxy::start();
    let env = jenkins_env(&l, &proxy);
    let jwt = token(
        "https://jenkins.example.com/oidc",
        "sts.amazonaws.com",
        JENKINS_JOB_URL,
    );
    jenkins_build(&l, &example, &env, &jwt);
    // The README's image is team/app in the role's own registry.
    assert_pushed(&l.sb, &format!("{REGISTRY}/team/app:41"));
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(l.ci_home().join(".docker/config.json")).unwrap(),
    )
    .unwrap();
    assert!(
        config["auths"].get(REGISTRY).is_none(),
        "ecrLogout left the login: {config:#}"
    );
}

// --- Buildkite -------------------------------------------------------------------------------

/// A command line as the step's shell gets it after Buildkite's interpolation at upload: `$$`
/// is a literal `$`; a plain `$NAME` would be replaced at upload time, from the uploader's
/// environment, which is not where these values live.
fn buildkite_uploaded(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            match chars.peek() {
                Some('$') => {
                    chars.next();
                    out.push('$');
                }
                Some(n) if n.is_ascii_alphabetic() || *n == '_' || *n == '{' => {
                    panic!("Buildkite interpolates this at upload time (write $$): {line}")
                }
                _ => out.push('$'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn buildkite_page_from_laptop_to_push() {
    let text = page("buildkite");
    let l = laptop("buildkite");
    let proxy = l.aws(&shared_jwks());
    let pipeline = yaml(&snippet(&text, "ci"));
    let step = &pipeline["steps"][0];
    assert_eq!(str_of(&step["branches"]), "main");

    // The agent: `oidc request-token --audience AUD` prints a token with Buildkite's claims for
    // that audience (from the test issuer); `redactor add` keeps what it is given.
    let args = l.sb.path().join("agent.args");
    let redacted = l.sb.path().join("agent.redacted");
    let q = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    l.sb.install_program(
        "buildkite-agent",
        &format!(
            "#!/bin/sh\ncase \"$1 $2\" in\n  'oidc request-token')\n    printf '%s\\n' \"$*\" >> '{args}'\n    [ \"$3\" = --audience ] || exit 2\n    aud=$(printf '%s' \"$4\" | sed 's/:/%3A/g; s#/#%2F#g')\n    curl -fsS \"{issuer}/token-file?iss={iss}&sub={sub}&audience=$aud\" ;;\n  'redactor add') cat >> '{red}'; echo >> '{red}' ;;\n  *) exit 2 ;;\nesac\n",
            args = args.display(),
            red = redacted.display(),
            issuer = shared_issuer_url(),
            iss = q("https://agent.buildkite.com"),
            sub = q(&format!(
                "organization:acme:pipeline:app:ref:refs/heads/main:commit:{COMMIT}:step:"
            )),
        ),
    );
    let mut env = l.ci_env(&proxy);
    for (k, v) in [
        ("BUILDKITE", "true"),
        ("BUILDKITE_ORGANIZATION_SLUG", "acme"),
        ("BUILDKITE_PIPELINE_SLUG", "app"),
        ("BUILDKITE_BRANCH", "main"),
        ("BUILDKITE_COMMIT", COMMIT),
        ("BUILDKITE_BUILD_NUMBER", "9"),
    ] {
        set(&mut env, k, v);
    }
    for (k, v) in step["env"].as_object().unwrap() {
        set(&mut env, k, str_of(v));
    }
    let commands: Vec<String> = as_list(&step["command"])
        .iter()
        .map(|l| buildkite_uploaded(l))
        .collect();
    // The agent runs the step's commands, joined, with `bash -e -c`.
    let work = l.ci_dir().join("work");
    run_in(&work, &env, "bash", &["-e", "-c", &commands.join("\n")]).assert_ok();

    let image = format!("{REGISTRY}/app:{COMMIT}");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
    assert_logged_out(&l.ci_home());
    assert_eq!(
        std::fs::read_to_string(&args).unwrap(),
        "oidc request-token --audience sts.amazonaws.com\n"
    );
    let redacted = std::fs::read_to_string(&redacted).unwrap();
    assert!(
        redacted.contains(&format!("{ACCOUNT}-auth-token")),
        "{redacted}"
    );
}

// --- Bitbucket Pipelines ---------------------------------------------------------------------

const BB_ISSUER: &str =
    "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
const BB_AUDIENCE: &str = "ari:cloud:bitbucket::workspace/5f8e7d6c-4b3a-4291-8f7e-6d5c4b3a2910";
const BB_REPO_UUID: &str = "{9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d}";

#[test]
fn bitbucket_page_from_laptop_to_push() {
    let text = page("bitbucket");
    let l = laptop("bitbucket");
    let proxy = l.aws(&shared_jwks());
    let config = yaml(&snippet(&text, "ci"));
    let step = &config["pipelines"]["branches"]["main"][0]["step"];
    assert!(
        as_list(&step["services"]).contains(&"docker".to_string()),
        "no docker service"
    );
    let mut env = l.ci_env(&proxy);
    for (k, v) in [
        ("BITBUCKET_BUILD_NUMBER", "12"),
        ("BITBUCKET_WORKSPACE", "acme"),
        ("BITBUCKET_REPO_SLUG", "app"),
        ("BITBUCKET_REPO_UUID", BB_REPO_UUID),
        ("BITBUCKET_BRANCH", "main"),
        ("BITBUCKET_COMMIT", COMMIT),
    ] {
        set(&mut env, k, v);
    }
    // Bitbucket gives the step a token only with `oidc: true`.
    if step["oidc"] == true {
        let jwt = token(
            BB_ISSUER,
            BB_AUDIENCE,
            &format!("{BB_REPO_UUID}:{{3e2d1c0b-step}}"),
        );
        set(&mut env, "BITBUCKET_STEP_OIDC_TOKEN", jwt);
    }
    // The step's script lines run in one shell, stopping at the first that fails.
    let script: Vec<String> = as_list(&step["script"]);
    let work = l.ci_dir().join("work");
    run_in(&work, &env, "bash", &["-e", "-c", &script.join("\n")]).assert_ok();

    let image = format!("{REGISTRY}/app:{COMMIT}");
    assert_pushed(&l.sb, &image);
    l.assert_can_push(&image);
    l.assert_assumed(&proxy);
}
