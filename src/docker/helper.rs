//! The Docker credential-helper protocol, the helper's side: what Docker (and Podman, skopeo,
//! crane, nerdctl...) send on stdin, and the exact answers they expect on stdout.

use serde::{Deserialize, Serialize};

/// The name Docker runs a credential helper called `ecr-login` by.
pub(crate) const PROGRAM: &str = "docker-credential-ecr-login";

/// A credential helper action, as Docker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Get,
    Store,
    Erase,
    List,
    Version,
}

/// What a helper prints (and exits 1 with) for a server it has nothing for: Docker's clients
/// take exactly this text as "no credentials", not as an error.
pub(crate) const NOT_FOUND: &str = "credentials not found in native keychain";

/// `get`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct Credentials<'a> {
    #[serde(rename = "ServerURL")]
    pub server_url: &'a str,
    #[serde(rename = "Username")]
    pub username: &'a str,
    #[serde(rename = "Secret")]
    pub secret: &'a str,
}

/// `store`'s input (the secret is not kept: ECR logins come from AWS, not from `docker login`).
#[derive(Debug, Deserialize)]
pub(crate) struct StoreRequest {
    #[serde(rename = "ServerURL")]
    pub server_url: String,
}

/// The registry host in a server URL as clients send it: `host`, `host:443`, `https://host`,
/// `http://host`, `host/repo/path`, with or without a trailing newline. Also the host of an
/// auth file's key (`https://host` from older `docker login`s, Podman's `host/namespace`).
pub(crate) fn host_of(server_url: &str) -> String {
    let s = server_url.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default();
    let host = host.strip_suffix(":443").unwrap_or(host);
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server URLs as clients send them, and auth-file keys (`https://host` from older `docker
    /// login`s, Podman's `host/namespace`).
    #[test]
    fn every_form_clients_send() {
        let h = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        for form in [
            h.to_string(),
            format!("{h}\n"),
            format!("{h}:443"),
            format!("https://{h}"),
            format!("http://{h}"),
            format!("https://{h}/"),
            format!("http://{h}/"),
            format!("{h}/team/app"),
            format!("{h}:443/team/app"),
            h.to_ascii_uppercase(),
        ] {
            assert_eq!(host_of(&form), h, "{form:?}");
        }
        assert_eq!(host_of("https://index.docker.io/v1/"), "index.docker.io");
    }

    #[test]
    fn the_answer_has_dockers_field_names() {
        let c = Credentials {
            server_url: "h",
            username: "AWS",
            secret: "s",
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"ServerURL":"h","Username":"AWS","Secret":"s"}"#
        );
    }
}
