//! What several platforms share: reading a token from one of a list of variables, running a
//! token-issuing CLI with retries, and writing `KEY=value` files for later steps.

use std::path::Path;
use std::process::Stdio;

use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::TokenError;
use crate::id_token::IdToken;
use crate::retry::{self, Transient};

/// The first of `names` that is set (and not empty), as a token.
pub(super) fn token_from_env(env: &Env, names: &[String]) -> Option<IdToken> {
    names.iter().find_map(|n| {
        env.get(n)
            .map(|v| IdToken::new(v, format!("the environment variable {n}")))
    })
}

/// Whether `program` is on PATH.
pub(super) fn on_path(env: &Env, program: &str) -> bool {
    let path = env.get(EnvVars::PATH).unwrap_or_default();
    std::env::split_paths(path).any(|d| d.join(program).is_file())
}

struct CommandFailure {
    error: TokenError,
    transient: bool,
}

impl Transient for CommandFailure {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl std::fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// Runs `program args` and takes its stdout as the token; a failure, an empty answer or no
/// answer within [`retry::TIMEOUTS`]`.attempt` (the program is killed) is retried (token
/// services have bad moments), a missing program is not.
pub(super) async fn token_from_command(
    program: &str,
    args: &[&str],
) -> Result<IdToken, TokenError> {
    retry::retry(
        retry::Policy::STANDARD,
        &format!("running {program}"),
        || async {
            let running = tokio::process::Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(retry::TIMEOUTS.attempt, running)
                .await
                .map_err(|_| CommandFailure {
                    transient: true,
                    error: TokenError::Command {
                        program: program.to_string(),
                        reason: format!(
                            "it did not finish within {} s and was stopped",
                            retry::TIMEOUTS.attempt.as_secs()
                        ),
                    },
                })?
                .map_err(|e| CommandFailure {
                    transient: e.kind() != std::io::ErrorKind::NotFound,
                    error: TokenError::Command {
                        program: program.to_string(),
                        reason: e.to_string(),
                    },
                })?;
            let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stderr = crate::secret::registry().redact(stderr.trim()).into_owned();
                return Err(CommandFailure {
                    transient: true,
                    error: TokenError::Command {
                        program: program.to_string(),
                        reason: format!("{}: {stderr}", out.status),
                    },
                });
            }
            if stdout.is_empty() {
                return Err(CommandFailure {
                    transient: true,
                    error: TokenError::Empty {
                        source_desc: format!("`{program}` printed nothing"),
                    },
                });
            }
            Ok(IdToken::new(stdout, format!("`{program}`")))
        },
    )
    .await
    .map_err(|f| f.error)
}

/// How `KEY=value` lines are written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EnvFormat {
    /// `KEY=value` (GitLab dotenv reports, Jenkins `readProperties`, Buildkite env files).
    Dotenv,
    /// `export KEY='value'` (a shell file sourced by later steps: CircleCI's `$BASH_ENV`).
    Export,
}

/// The non-secret values every platform hands on.
pub(crate) fn handoff_vars(registries: &[&str]) -> Vec<(String, String)> {
    vec![
        (
            EnvVars::ECR_LOGIN_REGISTRY.into(),
            registries.first().copied().unwrap_or_default().to_string(),
        ),
        (
            EnvVars::ECR_LOGIN_REGISTRY_HOSTS.into(),
            registries.join(","),
        ),
    ]
}

/// Appends `vars` to `path` in `format`. Values come from us and are registry hosts, but a
/// newline in one would smuggle in another variable: such a value is refused.
pub(crate) fn append_env_file(
    path: &Path,
    vars: &[(String, String)],
    format: EnvFormat,
) -> std::io::Result<()> {
    let mut text = String::new();
    for (k, v) in vars {
        if v.contains(['\n', '\r']) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the value of {k} holds a line break"),
            ));
        }
        match format {
            EnvFormat::Dotenv => text.push_str(&format!("{k}={v}\n")),
            EnvFormat::Export => {
                text.push_str(&format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
            }
        }
    }
    let how = crate::fs::Append {
        mode: 0o644,
        no_follow: false,
        ours: false,
    };
    crate::fs::append(path, text.as_bytes(), &how).map_err(|e| match e {
        crate::fs::AppendError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_format_quotes_for_the_shell() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("env");
        append_env_file(&p, &[("A".into(), "x'y".into())], EnvFormat::Export).unwrap();
        append_env_file(&p, &[("B".into(), "z".into())], EnvFormat::Dotenv).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "export A='x'\\''y'\nB=z\n"
        );
    }

    #[test]
    fn first_set_variable_wins() {
        let env: Env = [("B", "tok-b-123456"), ("C", "tok-c-123456")]
            .into_iter()
            .collect();
        let t = token_from_env(&env, &["A".into(), "B".into(), "C".into()]).unwrap();
        assert_eq!(t.jwt.expose(), "tok-b-123456");
        assert!(t.source.contains('B'));
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    #[cfg(unix)]
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// No value adds a line: a dotenv file gets one `KEY=value` line per variable, or
            /// nothing at all.
            #[test]
            fn no_value_injects_a_dotenv_line(values in prop::collection::vec("\\PC{0,20}|.{0,20}|[a-z=\\n\\r'\"$`\\\\]{0,20}", 1..4)) {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("env");
                let vars: Vec<(String, String)> =
                    values.iter().enumerate().map(|(i, v)| (format!("K{i}"), v.clone())).collect();
                match append_env_file(&p, &vars, EnvFormat::Dotenv) {
                    Ok(()) => {
                        let text = std::fs::read_to_string(&p).unwrap();
                        let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
                        prop_assert_eq!(lines.len(), vars.len());
                        for (line, (k, v)) in lines.iter().zip(&vars) {
                            prop_assert_eq!(*line, format!("{k}={v}"));
                        }
                    }
                    Err(e) => {
                        prop_assert!(values.iter().any(|v| v.contains(['\n', '\r'])), "{e}");
                        prop_assert!(!p.exists(), "something was written");
                    }
                }
            }

            /// What `export KEY='value'` hands to a shell that sources it is the value itself,
            /// and nothing else runs.
            #[test]
            fn the_shell_reads_back_exactly_the_value(value in "[ -~]{0,24}") {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("bash_env");
                let vars = [("ECR_LOGIN_X".to_string(), value.clone())];
                append_env_file(&p, &vars, EnvFormat::Export).unwrap();
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(". \"$1\" && printf '%s' \"$ECR_LOGIN_X\"")
                    .arg("sh")
                    .arg(&p)
                    .output()
                    .unwrap();
                prop_assert!(out.status.success());
                prop_assert_eq!(String::from_utf8_lossy(&out.stdout), value);
            }
        }
    }
}
