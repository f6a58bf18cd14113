//! A temp dir per test (its Docker config, AWS config files, GitHub output, a bin dir for
//! stand-in programs) and a builder that runs the binary with a clean environment: nothing from
//! the host's CI, AWS or Docker settings leaks in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::files::{b64decode, runner_file};
use super::proxy::Proxy;
use super::servers::REQUEST_TOKEN;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ecr-login");
/// The role the tests assume (moto takes any).
pub const ROLE: &str = "arn:aws:iam::123456789012:role/ci";

/// A temp dir per test, with a Docker config dir and a GitHub output file inside.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let sb = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        // Empty AWS config files, so the SDK reads neither the host's nor a missing one.
        std::fs::write(sb.path().join("aws-config"), "").unwrap();
        std::fs::write(sb.path().join("aws-credentials"), "").unwrap();
        sb
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn docker_dir(&self) -> PathBuf {
        self.path().join("docker")
    }

    pub fn config_path(&self) -> PathBuf {
        self.docker_dir().join("config.json")
    }

    pub fn config(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.config_path()).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.docker_dir()).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn github_output(&self) -> PathBuf {
        self.path().join("github_output")
    }

    /// `name=value` pairs from the GitHub output file (heredoc form).
    pub fn outputs(&self) -> BTreeMap<String, String> {
        runner_file(&self.github_output())
    }

    /// The decoded `user:password` of a registry's entry in config.json.
    pub fn auth(&self, host: &str) -> String {
        let c = self.config();
        let auth = c["auths"][host]["auth"]
            .as_str()
            .unwrap_or_else(|| panic!("no auth for {host} in {c:#}"));
        b64decode(auth)
    }

    /// A command for the binary with a clean environment: PATH and HOME only, plus the
    /// settings that keep the AWS SDK on loopback and off the host's config files.
    pub fn cmd(&self) -> Cmd {
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        env.insert(
            "HOME".into(),
            self.path().join("home").display().to_string(),
        );
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        env.insert(
            "AWS_CONFIG_FILE".into(),
            self.path().join("aws-config").display().to_string(),
        );
        env.insert(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            self.path().join("aws-credentials").display().to_string(),
        );
        env.insert(
            "DOCKER_CONFIG".into(),
            self.docker_dir().display().to_string(),
        );
        // Podman's primary auth file lives here: the sandbox's, never the host's /run.
        env.insert(
            "XDG_RUNTIME_DIR".into(),
            self.path().join("run").display().to_string(),
        );
        Cmd {
            env,
            args: Vec::new(),
        }
    }

    /// `cmd()` set up as a GitHub Actions job with `id-token: write`, talking to `proxy`.
    pub fn github(&self, proxy: &Proxy, issuer_url: &str) -> Cmd {
        self.cmd()
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{issuer_url}/token?api-version=2.0"),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .env("GITHUB_OUTPUT", self.github_output().to_str().unwrap())
            .env("GITHUB_REPOSITORY", "test-owner/test-repo")
            .env("GITHUB_RUN_ID", "1234567890")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ROLE_ARN", ROLE)
            .env("AWS_REGION", "us-east-1")
    }
}

/// Runs `cmd` with `input` on its stdin, its stdout and stderr captured. The input is written
/// from a thread, so that a program writing much before it reads cannot deadlock the test; a
/// program that stops reading early (a refusal) is not the writer's business: its exit code
/// and output are what the caller checks.
pub fn output_with_stdin(mut cmd: Command, input: impl AsRef<[u8]>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.as_ref().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Starts every command of `cmds` at once, each given `input` on stdin (as concurrent callers
/// give it: Docker's helper requests, the kubelet's), waits for all, and returns their outputs;
/// each must have succeeded. `input` is small: it fits a pipe's buffer.
pub fn run_together(cmds: impl IntoIterator<Item = Command>, input: &[u8]) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(input).unwrap();
            child
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        })
        .collect()
}

/// A command line for the binary.
#[derive(Clone)]
pub struct Cmd {
    env: BTreeMap<String, String>,
    args: Vec<String>,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON document on stdout (`--output json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn assert_fails(&self, code: i32, needles: &[&str]) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.stderr
        );
        self
    }
}

impl Cmd {
    pub fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Static AWS keys in the environment (the credential chain's first source; moto takes any).
    pub fn aws_keys(self) -> Cmd {
        self.env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE").env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
    }

    pub fn env_remove(mut self, k: &str) -> Cmd {
        self.env.remove(k);
        self
    }

    /// Puts `name` first on the command line (a subcommand before the options).
    pub fn subcommand(mut self, name: &str) -> Cmd {
        self.args.insert(0, name.into());
        self
    }

    pub fn arg(mut self, a: &str) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args(mut self, a: &[&str]) -> Cmd {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    pub fn command(&self) -> Command {
        self.command_of(Path::new(BIN))
    }

    /// This command's environment and arguments for another program: the binary under another
    /// name (`docker-credential-ecr-login`), or a client that runs it (skopeo, the Docker SDK).
    pub fn command_of(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .envs(&self.env)
            .args(&self.args)
            .stdin(Stdio::null());
        c
    }

    /// Runs it with `input` on stdin, then stdin closed (a credential helper's or the
    /// kubelet's request).
    pub fn run_with_stdin(&self, input: &str) -> Run {
        self.run_of_with_stdin(Path::new(BIN), input)
    }

    /// [`Cmd::run_with_stdin`] for another program (see [`Cmd::command_of`]).
    pub fn run_of_with_stdin(&self, program: &Path, input: &str) -> Run {
        let out = output_with_stdin(self.command_of(program), input);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self) -> Run {
        let out: Output = self.command().output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Sandbox {
    /// Puts an executable `name` with `script` into the sandbox's bin dir.
    pub fn install_program(&self, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = self.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// PATH with the sandbox's bin dir first.
    pub fn path_with_bin(&self) -> String {
        format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `cmd()` for a CI job talking to `proxy`, with a role and a region.
    pub fn ci(&self, proxy: &Proxy) -> Cmd {
        self.cmd()
            .env("CI", "true")
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ROLE_ARN", ROLE)
            .env("AWS_REGION", "us-east-1")
            .env("PATH", &self.path_with_bin())
    }
}
