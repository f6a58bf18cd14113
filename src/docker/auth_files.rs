//! Every auth file Docker, Podman, Buildah and skopeo read, in the order they read them, and the
//! logins each one holds.
//!
//! Docker reads `config.json` in its config directory, and nothing else. Podman, Buildah and
//! skopeo (containers-auth.json(5)) read `$REGISTRY_AUTH_FILE` alone when it is set; otherwise
//! `${XDG_RUNTIME_DIR}/containers/auth.json` (`/run/containers/<uid>/auth.json` without
//! `XDG_RUNTIME_DIR`), then `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, then Docker's
//! `config.json`, and use the first file that has an entry for the registry. A stale entry that
//! an earlier `podman login` left in one of their files therefore shadows a fresh one in
//! Docker's: `login` keeps every one of those files that exists in step (and the ones named by
//! `$REGISTRY_AUTH_FILE` or `--auth-file`, created if missing), and `status` flags the shadowing.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value};

use super::config::{self, Format};
use super::Login;
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::AuthFileError;
use crate::secret::Secret;

/// Where the auth files are, as the environment and the command line say (nothing is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locations {
    /// Docker's `config.json`.
    pub docker_config: PathBuf,
    /// `$REGISTRY_AUTH_FILE`: when set, the only file Podman, Buildah and skopeo read.
    pub registry_auth_file: Option<PathBuf>,
    /// Podman's primary file: `${XDG_RUNTIME_DIR}/containers/auth.json`.
    pub runtime: Option<PathBuf>,
    /// `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`.
    pub user_config: Option<PathBuf>,
    /// `--auth-file`: more files to keep in step, read by whatever the user points at them.
    pub named: Vec<PathBuf>,
}

/// One auth file, and who reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthFile {
    pub path: PathBuf,
    pub format: Format,
    /// Docker reads it (its `config.json`).
    pub docker: bool,
    /// Its place in the order Podman, Buildah and skopeo read their files (0: first).
    pub podman: Option<usize>,
    /// Named by `$REGISTRY_AUTH_FILE` or `--auth-file`: written even when it does not exist yet.
    pub named: bool,
}

impl Locations {
    /// The locations for Docker's config directory `docker_dir`, the `--auth-file` paths
    /// `named` and the environment `env`.
    pub(crate) fn new(docker_dir: &Path, named: Vec<PathBuf>, env: &Env) -> Locations {
        let home = env.get(EnvVars::HOME).map(PathBuf::from);
        let user_config = env
            .get(EnvVars::XDG_CONFIG_HOME)
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".config")))
            .map(|d| d.join("containers").join("auth.json"));
        let runtime = match env.get(EnvVars::XDG_RUNTIME_DIR) {
            Some(d) => Some(PathBuf::from(d).join("containers").join("auth.json")),
            None => default_runtime_file(),
        };
        Locations {
            docker_config: config::config_path(docker_dir),
            registry_auth_file: env.get(EnvVars::REGISTRY_AUTH_FILE).map(PathBuf::from),
            runtime,
            user_config,
            named,
        }
    }

    /// The files Podman, Buildah and skopeo read, in their order.
    fn podman_order(&self) -> Vec<PathBuf> {
        match &self.registry_auth_file {
            Some(f) => vec![f.clone()],
            None => self
                .runtime
                .iter()
                .chain(&self.user_config)
                .cloned()
                .chain(std::iter::once(self.docker_config.clone()))
                .collect(),
        }
    }

    /// Every auth file: Docker's, then Podman's in their order, then the named ones; each once
    /// (the same file under two names is one), whether it exists or not.
    pub(crate) fn all(&self) -> Vec<AuthFile> {
        let mut out: Vec<AuthFile> = Vec::new();
        // Each file's identity, computed once (a canonicalize is a readlink per component).
        let mut ids: Vec<PathBuf> = Vec::new();
        let mut add = |path: &Path, docker: bool, podman: Option<usize>, named: bool| {
            // A path met before (Docker's file is also Podman's last) is not resolved again.
            let same_path = out.iter().position(|f| f.path == path);
            let id = same_path.is_none().then(|| identity(path));
            let same_file = || ids.iter().position(|known| Some(known) == id.as_ref());
            if let Some(i) = same_path.or_else(same_file) {
                let f = &mut out[i];
                f.docker |= docker;
                f.podman = f.podman.or(podman);
                f.named |= named;
                return;
            }
            ids.push(id.unwrap_or_default());
            out.push(AuthFile {
                path: path.to_path_buf(),
                format: format_of(path, docker),
                docker,
                podman,
                named,
            });
        };
        add(&self.docker_config, true, None, false);
        for (i, p) in self.podman_order().iter().enumerate() {
            let named = self.registry_auth_file.as_deref() == Some(p.as_path());
            add(p, false, Some(i), named);
        }
        for p in &self.named {
            add(p, false, None, true);
        }
        out
    }

    /// The files `login` writes: Docker's, the named ones (created if missing), and the other
    /// files Podman reads when they exist.
    pub(crate) fn to_write(&self) -> Vec<AuthFile> {
        self.all()
            .into_iter()
            .filter(|f| f.docker || f.named || f.path.is_file())
            .collect()
    }
}

/// Without `XDG_RUNTIME_DIR`, Podman's primary file on Linux is `/run/containers/<uid>/auth.json`.
#[cfg(target_os = "linux")]
fn default_runtime_file() -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    Some(PathBuf::from(format!("/run/containers/{uid}/auth.json")))
}

/// Elsewhere Podman's primary file is `~/.config/containers/auth.json`, already in the list.
#[cfg(not(target_os = "linux"))]
fn default_runtime_file() -> Option<PathBuf> {
    None
}

/// What identifies a file: its canonical path when it exists, else the path as given.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Docker's own file, and any other file named `config.json` (another Docker config), is read
/// the Docker way (`credsStore` honoured); the rest the containers way.
fn format_of(path: &Path, docker: bool) -> Format {
    if docker || path.file_name().is_some_and(|n| n == "config.json") {
        Format::Docker
    } else {
        Format::Containers
    }
}

/// Records `logins` in every file of `files`, Docker's first. Every file is read (and so
/// checked) before any is written, so a broken one fails the login with nothing changed.
pub(crate) fn store_logins(files: &[AuthFile], logins: &[Login<'_>]) -> Result<(), AuthFileError> {
    for f in files {
        config::read(&f.path)?;
    }
    for f in files {
        config::store_logins_in(&f.path, f.format, logins)?;
        tracing::debug!("stored {} login(s) in {}", logins.len(), f.path.display());
    }
    Ok(())
}

/// Removes from every file of `files` that exists the logins whose key `selected` accepts (see
/// [`config::remove_logins_in`]); returns the keys removed, file after file. Every file is
/// read (and so checked) first, so a broken one fails the logout with nothing changed.
pub(crate) fn remove_logins(
    files: &[AuthFile],
    selected: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, AuthFileError> {
    for f in files {
        config::read(&f.path)?;
    }
    let mut removed = Vec::new();
    for f in files {
        let keys = config::remove_logins_in(&f.path, f.format, selected)?;
        if !keys.is_empty() {
            tracing::debug!("removed {} login(s) from {}", keys.len(), f.path.display());
        }
        removed.extend(keys);
    }
    Ok(removed)
}

/// One login an auth file holds.
#[derive(Debug, Clone)]
pub(crate) struct FileLogin {
    /// The key as written: a host (maybe with a scheme), or `host/namespace` (Podman).
    pub key: String,
    /// Stored with `docker-credential-<helper>`, not in the file.
    pub helper: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// The logins in `file`: its `auths` entries and its `credHelpers` entries (which need no
/// `auths` entry). A missing file holds none.
pub(crate) fn logins(file: &AuthFile) -> Result<Vec<FileLogin>, AuthFileError> {
    let root = config::read(&file.path)?;
    Ok(logins_in(&root, file.format))
}

fn logins_in(root: &Map<String, Value>, format: Format) -> Vec<FileLogin> {
    let mut out = Vec::new();
    if let Some(auths) = root.get("auths").and_then(Value::as_object) {
        for (key, entry) in auths {
            let helper = config::helper_for(root, key, format);
            let (username, password) = match &helper {
                Some(_) => (None, None),
                None => credentials(entry),
            };
            out.push(FileLogin {
                key: key.clone(),
                helper,
                username,
                password,
            });
        }
    }
    if let Some(helpers) = root.get("credHelpers").and_then(Value::as_object) {
        for (key, helper) in helpers {
            let Some(helper) = helper.as_str().filter(|h| !h.is_empty()) else {
                continue;
            };
            if out.iter().any(|l| &l.key == key) {
                continue;
            }
            out.push(FileLogin {
                key: key.clone(),
                helper: Some(helper.to_string()),
                username: None,
                password: None,
            });
        }
    }
    out
}

/// The username and password of an `auths` entry: `auth` (base64 `user:password`), else
/// `username` and `password`.
fn credentials(entry: &Value) -> (Option<String>, Option<Secret>) {
    let decoded = entry
        .get("auth")
        .and_then(Value::as_str)
        .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
        return (Some(user.to_string()), Some(Secret::new(password)));
    }
    let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
    (field("username"), field("password").map(Secret::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        vars.iter().copied().collect()
    }

    #[test]
    fn podman_reads_its_files_before_dockers_and_registry_auth_file_alone() {
        let l = Locations::new(
            Path::new("/h/.docker"),
            vec![],
            &env(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/7")]),
        );
        let all = l.all();
        let paths: Vec<&Path> = all.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/h/.docker/config.json"),
                Path::new("/run/user/7/containers/auth.json"),
                Path::new("/h/.config/containers/auth.json"),
            ]
        );
        assert!(all[0].docker && all[0].podman == Some(2) && all[0].format == Format::Docker);
        assert_eq!(all[1].podman, Some(0));
        assert_eq!(all[1].format, Format::Containers);
        assert!(!all[1].named);

        let l = Locations::new(
            Path::new("/h/.docker"),
            vec![PathBuf::from("/ci/auth.json")],
            &env(&[
                ("HOME", "/h"),
                ("XDG_RUNTIME_DIR", "/run/user/7"),
                ("REGISTRY_AUTH_FILE", "/job/auth.json"),
            ]),
        );
        let all = l.all();
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(
            all[0].podman, None,
            "with REGISTRY_AUTH_FILE Podman reads no other file"
        );
        assert_eq!(all[1].path, Path::new("/job/auth.json"));
        assert!(all[1].named && all[1].podman == Some(0));
        assert_eq!(all[2].path, Path::new("/ci/auth.json"));
        assert!(all[2].named && all[2].podman.is_none());
    }

    #[test]
    fn files_to_write_are_dockers_the_named_ones_and_podmans_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let runtime = d.join("run");
        let l = Locations::new(
            &d.join("docker"),
            vec![d.join("named/auth.json"), d.join("docker/config.json")],
            &env(&[
                ("HOME", d.join("home").to_str().unwrap()),
                ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
            ]),
        );
        let written =
            |l: &Locations| -> Vec<PathBuf> { l.to_write().into_iter().map(|f| f.path).collect() };
        assert_eq!(
            written(&l),
            [d.join("docker/config.json"), d.join("named/auth.json")],
            "a missing Podman file is not created; a file named twice is written once"
        );
        std::fs::create_dir_all(runtime.join("containers")).unwrap();
        std::fs::write(runtime.join("containers/auth.json"), "{}").unwrap();
        assert_eq!(written(&l)[1], runtime.join("containers/auth.json"));
    }

    #[test]
    fn a_broken_file_fails_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("auth.json"), "{broken").unwrap();
        let l = Locations::new(
            &d.join("docker"),
            vec![d.join("auth.json")],
            &env(&[("HOME", "/nonexistent")]),
        );
        let pw = Secret::new("auth-files-password-1");
        let login = [Login {
            host: "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            username: "AWS",
            password: &pw,
        }];
        let files: Vec<AuthFile> = l
            .to_write()
            .into_iter()
            .filter(|f| !f.path.starts_with("/run"))
            .collect();
        assert!(store_logins(&files, &login).is_err());
        assert!(!d.join("docker/config.json").exists());
    }

    #[test]
    fn logins_in_a_file_with_helpers_and_both_entry_forms() {
        let root: Map<String, Value> = serde_json::from_str(
            r#"{"auths":{"a.example":{"auth":"QVdTOnNlY3JldC1wYXNzd29yZC1h"},
                "b.example":{"username":"u","password":"secret-password-b"},
                "c.example":{}},
               "credHelpers":{"c.example":"pass","d.example":"ecr-login"},
               "credsStore":"desktop"}"#,
        )
        .unwrap();
        let docker = logins_in(&root, Format::Docker);
        let by = |ls: &[FileLogin], k: &str| ls.iter().find(|l| l.key == k).cloned().unwrap();
        assert_eq!(by(&docker, "a.example").helper.as_deref(), Some("desktop"));
        assert_eq!(by(&docker, "c.example").helper.as_deref(), Some("pass"));
        assert_eq!(
            by(&docker, "d.example").helper.as_deref(),
            Some("ecr-login")
        );
        assert_eq!(docker.len(), 4);

        let podman = logins_in(&root, Format::Containers);
        let a = by(&podman, "a.example");
        assert_eq!(a.helper, None, "Podman ignores credsStore");
        assert_eq!(a.username.as_deref(), Some("AWS"));
        assert_eq!(a.password.unwrap().expose(), "secret-password-a");
        let b = by(&podman, "b.example");
        assert_eq!(b.password.unwrap().expose(), "secret-password-b");
    }
}
