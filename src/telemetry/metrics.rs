//! `--metrics-file FILE.prom`: Prometheus text format for node_exporter's textfile collector.
//!
//! Each process adds its own counts to the file's: under a lock beside it, the file is read
//! back (the `_total` counters and the two timestamps), this run is added, and the whole is
//! written to a temporary file in the same directory and renamed over it, so node_exporter
//! never reads half a file and concurrent runs (Docker starts many credential helpers at once)
//! never lose each other's counts. Every metric family is in every file written, at zero
//! until something happens, for the current command and platform and for every error class,
//! AWS operation and cache result, so that dashboards and alerts never see a gap. Labels take
//! values from fixed sets only (commands, platforms, classes, operations): no registry host, no
//! subject, no ARN. Base units (seconds), no sample timestamps.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::audit::Record;
use super::{unix_seconds, CacheResult, Observed, AWS_OPERATIONS};
use crate::error::ErrorClass;

/// How long a run waits for another one writing the same file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(crate) const LOGINS: &str = "ecr_login_logins_total";
pub(crate) const FAILURES: &str = "ecr_login_login_failures_total";
pub(crate) const AWS_CALLS: &str = "ecr_login_aws_calls_total";
pub(crate) const CACHE_LOOKUPS: &str = "ecr_login_cache_lookups_total";
pub(crate) const EXPIRY_SECONDS: &str = "ecr_login_token_expiry_seconds";
pub(crate) const EXPIRY_TIMESTAMP: &str = "ecr_login_token_expiry_timestamp_seconds";
pub(crate) const LAST_SUCCESS: &str = "ecr_login_last_success_timestamp_seconds";

/// A counter family: its name, help and label names (sorted, as they are written).
struct Counter {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

const COUNTERS: &[Counter] = &[
    Counter {
        name: LOGINS,
        help: "Logins (login, credential-helper get, kubelet-credential-provider requests) by command, platform and result (success or failure).",
        labels: &["command", "platform", "result"],
    },
    Counter {
        name: FAILURES,
        help: "Failed logins by command, platform and error class (usage, id_token, sts_denied, ecr_denied, network...).",
        labels: &["command", "error_class", "platform"],
    },
    Counter {
        name: AWS_CALLS,
        help: "AWS API calls made by ecr-login, by service, operation and result (success or error).",
        labels: &["operation", "result", "service"],
    },
    Counter {
        name: CACHE_LOOKUPS,
        help: "Token cache lookups by command and result (hit: served with no AWS call; stale: inside the refresh margin; miss).",
        labels: &["command", "result"],
    },
];

/// The gauges: name and help.
const GAUGES: &[(&str, &str)] = &[
    (
        EXPIRY_SECONDS,
        "Seconds from when this file was written until the earliest expiry of the registry tokens the last successful login handed out (0: none yet, or expired).",
    ),
    (
        EXPIRY_TIMESTAMP,
        "Unix time of the earliest expiry of the registry tokens the last successful login handed out (0: none yet).",
    ),
    (
        LAST_SUCCESS,
        "Unix time of the last successful login (0: none yet).",
    ),
];

#[cfg(test)]
/// Every metric family's name, as every file written has them.
pub(crate) fn family_names() -> Vec<&'static str> {
    COUNTERS
        .iter()
        .map(|c| c.name)
        .chain(GAUGES.iter().map(|g| g.0))
        .collect()
}

/// A series' labels, sorted by name.
type Labels = Vec<(String, String)>;

/// What the file holds: the counters, and the timestamps that outlive a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct State {
    counters: BTreeMap<&'static str, BTreeMap<Labels, u64>>,
    /// Unix seconds; 0: none yet.
    expiry_timestamp: f64,
    last_success: f64,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut l: Labels = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    l.sort();
    l
}

impl State {
    /// Reads back a file this module wrote: the series of the known families with exactly
    /// their labels; anything else (comments, other families, a damaged line) is left out.
    pub(crate) fn parse(text: &str) -> State {
        let mut state = State::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, labels, value)) = parse_sample(line) else {
                continue;
            };
            if let Some(counter) = COUNTERS.iter().find(|c| c.name == name) {
                let names: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
                if names != counter.labels || !(value.is_finite() && value >= 0.0) {
                    continue;
                }
                let n = value.round() as u64;
                *state
                    .counters
                    .entry(counter.name)
                    .or_default()
                    .entry(labels)
                    .or_default() += n;
            } else if labels.is_empty() && value.is_finite() && value >= 0.0 {
                match name {
                    EXPIRY_TIMESTAMP => state.expiry_timestamp = value,
                    LAST_SUCCESS => state.last_success = value,
                    _ => {}
                }
            }
        }
        state
    }

    fn add(&mut self, family: &'static str, pairs: &[(&str, &str)], n: u64) {
        *self
            .counters
            .entry(family)
            .or_default()
            .entry(labels(pairs))
            .or_default() += n;
    }

    /// Adds this run: its outcome, its AWS calls and cache lookups; and makes sure every
    /// family has its series at zero for this command and platform.
    pub(crate) fn record(&mut self, record: &Record, observed: &Observed) {
        let (command, platform) = (record.command, record.platform);
        for result in ["success", "failure"] {
            self.add(
                LOGINS,
                &[
                    ("command", command),
                    ("platform", platform),
                    ("result", result),
                ],
                0,
            );
        }
        for class in ErrorClass::ALL.map(ErrorClass::name) {
            self.add(
                FAILURES,
                &[
                    ("command", command),
                    ("error_class", class),
                    ("platform", platform),
                ],
                0,
            );
        }
        for (service, operation) in AWS_OPERATIONS {
            for result in ["success", "error"] {
                self.add(
                    AWS_CALLS,
                    &[
                        ("operation", operation),
                        ("result", result),
                        ("service", service),
                    ],
                    0,
                );
            }
        }
        for result in CacheResult::ALL {
            self.add(
                CACHE_LOOKUPS,
                &[("command", command), ("result", result.name())],
                0,
            );
        }

        match (record.result, record.error_class) {
            ("success", _) => {
                self.add(
                    LOGINS,
                    &[
                        ("command", command),
                        ("platform", platform),
                        ("result", "success"),
                    ],
                    1,
                );
                self.last_success = record.time_unix;
                if let Some(expiry) = record.expires_at_unix {
                    self.expiry_timestamp = expiry;
                }
            }
            ("failure", class) => {
                self.add(
                    LOGINS,
                    &[
                        ("command", command),
                        ("platform", platform),
                        ("result", "failure"),
                    ],
                    1,
                );
                self.add(
                    FAILURES,
                    &[
                        ("command", command),
                        ("error_class", class.unwrap_or("internal")),
                        ("platform", platform),
                    ],
                    1,
                );
            }
            // The helper's "not found": neither a login nor a failure.
            _ => {}
        }
        for ((service, operation, ok), n) in &observed.aws_calls {
            let result = if *ok { "success" } else { "error" };
            self.add(
                AWS_CALLS,
                &[
                    ("operation", operation),
                    ("result", result),
                    ("service", service),
                ],
                *n,
            );
        }
        for (result, n) in &observed.cache {
            self.add(
                CACHE_LOOKUPS,
                &[("command", command), ("result", result.name())],
                *n,
            );
        }
    }

    /// The file's text as of `now`.
    pub(crate) fn render(&self, now: SystemTime) -> String {
        let mut out = String::new();
        for c in COUNTERS {
            let _ = writeln!(out, "# HELP {} {}", c.name, c.help);
            let _ = writeln!(out, "# TYPE {} counter", c.name);
            for (labels, n) in self.counters.get(c.name).into_iter().flatten() {
                let _ = writeln!(out, "{}{} {n}", c.name, render_labels(labels));
            }
        }
        let left = if self.expiry_timestamp > 0.0 {
            (self.expiry_timestamp - unix_seconds(now)).max(0.0)
        } else {
            0.0
        };
        for (name, help) in GAUGES {
            let value = match *name {
                EXPIRY_SECONDS => left,
                EXPIRY_TIMESTAMP => self.expiry_timestamp,
                _ => self.last_success,
            };
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {}", value.floor());
        }
        out
    }
}

fn render_labels(labels: &Labels) -> String {
    let body: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

/// `name{k="v",...} value` (labels sorted by name), or `name value`.
fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let (labels, len) = parse_labels(&line[open + 1..])?;
            (&line[..open], labels, &line[open + 1 + len..])
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name, Vec::new(), rest)
        }
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name.trim(), labels, value))
}

/// The labels up to and including the closing `}`, and how many bytes they took.
fn parse_labels(text: &str) -> Option<(Labels, usize)> {
    let mut labels = Labels::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars
            .next_if(|(_, c)| *c == ',' || c.is_whitespace())
            .is_some()
        {}
        let (start, c) = chars.next()?;
        if c == '}' {
            labels.sort();
            return Some((labels, start + 1));
        }
        let mut key = String::from(c);
        loop {
            match chars.next()? {
                (_, '=') => break,
                (_, c) => key.push(c),
            }
        }
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                (_, '"') => break,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        }
        labels.push((key.trim().to_string(), value));
    }
}

/// Adds this run to the metrics file at `path`, under its lock.
pub(crate) fn update(
    path: &Path,
    record: &Record,
    observed: &Observed,
    now: SystemTime,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _lock = crate::fs::lock(&dir.join(format!(".{name}.lock")), LOCK_WAIT)
        .map_err(|e| std::io::Error::other(format!("the lock beside {}: {e}", path.display())))?;
    let mut state = match fs::read_to_string(path) {
        Ok(text) => State::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
        Err(e) => return Err(e),
    };
    state.record(record, observed);
    // node_exporter runs as its own user: the file must be readable by others (it holds no
    // secret). Nothing to lose on a power cut: the next run writes it again.
    let how = crate::fs::Atomic {
        temp_prefix: &format!(".{name}."),
        mode: 0o644,
        durability: crate::fs::Durability::NothingToLose,
        keep_owner: false,
        sweep: true,
    };
    crate::fs::write_atomic(path, state.render(now).as_bytes(), &how)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AwsError, Error};
    use crate::telemetry::{Command, Ended, Subject, Token, ECR, STS};

    fn record(result: Result<Ended, &Error>, observed: &Observed, now: SystemTime) -> Record {
        let subject = Subject {
            command: Command::Login,
            platform: "gitlab-ci",
            role: None,
        };
        Record::new(&subject, None, observed, result, now, Duration::ZERO)
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    }

    #[test]
    fn runs_add_up_and_every_family_is_there_at_zero() {
        let mut observed = Observed::EMPTY;
        observed
            .aws_calls
            .insert((STS, "AssumeRoleWithWebIdentity", true), 1);
        observed
            .aws_calls
            .insert((ECR, "GetAuthorizationToken", true), 2);
        observed.cache.insert(CacheResult::Miss, 1);
        observed.issued = vec![Token {
            host: "h".into(),
            expires_at: Some(at(1000 + 43200)),
        }];
        let ok = record(Ok(Ended::Success), &observed, at(1000));
        let mut state = State::default();
        state.record(&ok, &observed);
        let text = state.render(at(1000));
        // A second process reads it back and adds a failure.
        let mut back = State::parse(&text);
        assert_eq!(back, state);
        let e: Error = AwsError::Unreachable {
            service: "s".into(),
            operation: "o".into(),
            reason: "r".into(),
        }
        .into();
        let failed = record(Err(&e), &Observed::EMPTY, at(2000));
        back.record(&failed, &Observed::EMPTY);
        let text = back.render(at(2000));

        let login = r#"{command="login",platform="gitlab-ci",result="#;
        assert_eq!(value(&text, &format!("{LOGINS}{login}\"success\"}}")), 1.0);
        assert_eq!(value(&text, &format!("{LOGINS}{login}\"failure\"}}")), 1.0);
        assert_eq!(
            value(
                &text,
                &format!(
                    r#"{FAILURES}{{command="login",error_class="network",platform="gitlab-ci"}}"#
                )
            ),
            1.0
        );
        assert_eq!(
            value(
                &text,
                &format!(
                    r#"{FAILURES}{{command="login",error_class="ecr_denied",platform="gitlab-ci"}}"#
                )
            ),
            0.0
        );
        assert_eq!(
            value(
                &text,
                &format!(
                    r#"{AWS_CALLS}{{operation="GetAuthorizationToken",result="success",service="ecr"}}"#
                )
            ),
            2.0
        );
        assert_eq!(
            value(
                &text,
                &format!(r#"{AWS_CALLS}{{operation="AssumeRole",result="error",service="sts"}}"#)
            ),
            0.0
        );
        assert_eq!(
            value(
                &text,
                &format!(r#"{CACHE_LOOKUPS}{{command="login",result="miss"}}"#)
            ),
            1.0
        );
        // The failure kept the last success's expiry and time; the seconds left count down.
        assert_eq!(value(&text, EXPIRY_TIMESTAMP), 44200.0);
        assert_eq!(value(&text, EXPIRY_SECONDS), 42200.0);
        assert_eq!(value(&text, LAST_SUCCESS), 1000.0);
        for family in family_names() {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family} missing"
            );
        }
        // No sample carries a timestamp: `series value`, nothing after.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit_once(' ').unwrap().1;
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(!line.split_once("} ").is_some_and(|(_, v)| v.contains(' ')));
        }
    }

    #[test]
    fn damaged_and_foreign_lines_are_left_out() {
        let text = format!(
            "{LOGINS}{{platform=\"x\",command=\"login\",result=\"success\"}} 4\n\
             {LOGINS}{{command=\"login\"}} 9\n\
             {LOGINS}{{command=\"login\",platform=\"x\",result=\"failure\"}} -3\n\
             {LOGINS}{{command=\"login\",platform=\"x\n\
             other_metric 5\n\
             {LAST_SUCCESS} 77\n"
        );
        let state = State::parse(&text);
        let logins = &state.counters[LOGINS];
        assert_eq!(logins.len(), 1);
        assert_eq!(
            logins[&labels(&[
                ("command", "login"),
                ("platform", "x"),
                ("result", "success")
            ])],
            4
        );
        assert_eq!(state.last_success, 77.0);
    }

    #[test]
    fn the_file_is_replaced_whole_and_readable_by_node_exporter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecr-login.prom");
        let observed = Observed::EMPTY;
        for _ in 0..3 {
            let r = record(Ok(Ended::Success), &observed, SystemTime::now());
            update(&path, &r, &observed, SystemTime::now()).unwrap();
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            value(
                &text,
                &format!(r#"{LOGINS}{{command="login",platform="gitlab-ci",result="success"}}"#)
            ),
            3.0
        );
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".ecr-login.prom.lock", "ecr-login.prom"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
    }
}
