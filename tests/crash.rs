//! Crash safety: logins killed with SIGKILL at random points, 200 times, into one config.json
//! that already holds other entries (a few hundred KB of them, so that a good share of the
//! kills land while the file is being rewritten): the file is always valid JSON with every
//! earlier entry intact; the temporary files killed writes leave behind (config.json's and the
//! token cache's) are swept by the next run, and nobody else's file is.
//!
//! Eight logins run at once, all into the same config.json and token caches, so the kills
//! also land while others wait for the lock or write.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::harness::*;

const RUNS: usize = 200;
const AT_ONCE: usize = 8;
const ACCOUNTS: [&str; 6] = [
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
];

fn host(account: &str) -> String {
    format!("{account}.dkr.ecr.us-east-1.amazonaws.com")
}

/// What config.json holds before the first login: another tool's logins and settings.
fn earlier_config() -> Value {
    let mut auths = serde_json::Map::new();
    auths.insert("ghcr.io".into(), json!({"auth": "Z2hjcjp0b2tlbg=="}));
    auths.insert(
        "https://index.docker.io/v1/".into(),
        json!({"auth": "dXNlcjpodWI="}),
    );
    for i in 0..4000 {
        auths.insert(
            format!("registry-{i}.example.com"),
            json!({"auth": format!("dXNlcjpwYXNzd29yZC17aX0tMDEyMzQ1Njc4OQ{i:04}"), "email": "x@example.com"}),
        );
    }
    json!({
        "auths": auths,
        "credHelpers": {"gcr.io": "gcloud"},
        "psFormat": "table {{.ID}}\t{{.Names}}",
        "proxies": {"default": {"httpProxy": "http://proxy.example.com:3128"}},
    })
}

/// How a run may use the token cache: none (every run writes config.json after the network
/// calls), a warm shared cache (a run is mostly config.json's rewrite), an emptied one (every
/// run writes a cache entry, then config.json).
#[derive(Clone, Copy, Debug)]
enum Cache {
    None,
    Warm,
    Cold,
}

const KINDS: [Cache; 3] = [Cache::None, Cache::Warm, Cache::Cold];

struct World<'a> {
    sb: &'a Sandbox,
    proxy: &'a Proxy,
}

impl World<'_> {
    fn cache_dir(&self, kind: Cache) -> Option<PathBuf> {
        match kind {
            Cache::None => None,
            Cache::Warm => Some(self.sb.path().join("cache-warm")),
            Cache::Cold => Some(self.sb.path().join("cache-cold")),
        }
    }

    fn login(&self, kind: Cache, account: &str) -> Cmd {
        let cmd = self
            .sb
            .github(self.proxy, &shared_issuer_url())
            .args(&["--registries", account]);
        match self.cache_dir(kind) {
            None => cmd.arg("--no-cache"),
            Some(d) => cmd.args(&["--cache-dir", d.to_str().unwrap()]),
        }
    }
}

/// A run's end: exit code, or killed by SIGKILL.
#[derive(Debug, PartialEq)]
enum End {
    Exited(i32),
    Killed,
}

/// Starts `cmd`, kills it with SIGKILL after `delay` unless it has ended, and says how it ended.
/// stderr goes to `log`.
fn run_and_kill(cmd: &Cmd, delay: Duration, log: &Path) -> End {
    let mut child = cmd
        .command()
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() >= delay {
            // Still running: kill it where it is (a no-op if it ended this very instant).
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    match (status.code(), status.signal()) {
        (Some(code), _) => End::Exited(code),
        (None, Some(9)) => End::Killed,
        other => panic!("unexpected end {other:?}"),
    }
}

/// Our temporary files in `dir` whose names start with `prefix`.
fn temp_files(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".tmp"))
        .collect();
    names.sort();
    names
}

/// config.json is valid JSON holding every entry of [`earlier_config`] unchanged and the
/// login of every account in `logged_in`.
fn assert_intact(sb: &Sandbox, earlier: &Value, logged_in: &BTreeMap<String, usize>, when: &str) {
    let text = std::fs::read_to_string(sb.config_path()).unwrap();
    let now: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{when}: config.json is not valid JSON ({e})"));
    for (key, value) in earlier.as_object().unwrap() {
        if key == "auths" {
            continue;
        }
        assert_eq!(&now[key], value, "{when}: {key} changed");
    }
    let auths = now["auths"].as_object().unwrap();
    for (h, entry) in earlier["auths"].as_object().unwrap() {
        assert_eq!(
            auths.get(h),
            Some(entry),
            "{when}: the entry for {h} changed"
        );
    }
    for account in logged_in.keys() {
        let auth = auths
            .get(&host(account))
            .and_then(|e| e["auth"].as_str())
            .unwrap_or_else(|| panic!("{when}: the login of {account} is gone"));
        assert_eq!(b64decode(auth), format!("AWS:{account}-auth-token"));
    }
}

/// A pid no process has now: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
// The counts are printed (seen with --nocapture): how many kills landed mid-write.
#[allow(clippy::print_stderr)]
fn two_hundred_logins_killed_at_random_points_never_hurt_config_json() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let earlier = earlier_config();
    sb.write_config(&serde_json::to_string_pretty(&earlier).unwrap());
    let world = World {
        sb: &sb,
        proxy: &proxy,
    };

    // How long each kind of run takes when left alone: the kills are spread over that.
    let mut logged_in: BTreeMap<String, usize> = BTreeMap::new();
    let mut took = BTreeMap::new();
    for kind in KINDS {
        let start = Instant::now();
        world.login(kind, ACCOUNTS[0]).run().assert_ok();
        took.insert(format!("{kind:?}"), start.elapsed());
    }
    logged_in.insert(ACCOUNTS[0].into(), 0);
    assert_intact(&sb, &earlier, &logged_in, "after the first logins");

    let logs = sb.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (mut killed, mut finished, mut temps_seen) = (0, 0, 0);
    let mut run = 0;
    while run < RUNS {
        // The cold cache starts each batch empty, so its runs write entries.
        if let Some(cold) = world.cache_dir(Cache::Cold) {
            for e in std::fs::read_dir(&cold).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "json") {
                    std::fs::remove_file(p).unwrap();
                }
            }
        }
        let batch: Vec<(usize, Cache, &str, Duration)> = (run..(run + AT_ONCE).min(RUNS))
            .map(|i| {
                let kind = KINDS[i % KINDS.len()];
                let account = ACCOUNTS[fastrand::usize(..ACCOUNTS.len())];
                // Up to twice the run's usual length alone (8 at once, runs are slower): most
                // runs are killed somewhere, some finish; one in each batch is left alone.
                let usual = took[&format!("{kind:?}")];
                let delay = if i % AT_ONCE == AT_ONCE - 1 {
                    Duration::MAX
                } else {
                    usual.mul_f64(fastrand::f64() * 2.0)
                };
                (i, kind, account, delay)
            })
            .collect();
        let ends: Vec<(usize, &str, End)> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .iter()
                .map(|&(i, kind, account, delay)| {
                    let cmd = world.login(kind, account);
                    let log = logs.join(format!("{i}.stderr"));
                    s.spawn(move || (i, account, run_and_kill(&cmd, delay, &log)))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, account, end) in ends {
            match end {
                End::Killed => killed += 1,
                End::Exited(0) => {
                    finished += 1;
                    logged_in.insert(account.to_string(), i);
                }
                End::Exited(code) => panic!(
                    "run {i} failed with exit {code}:\n{}",
                    std::fs::read_to_string(logs.join(format!("{i}.stderr"))).unwrap()
                ),
            }
        }
        run += batch.len();
        assert_intact(&sb, &earlier, &logged_in, &format!("after run {run}"));
        temps_seen += temp_files(&sb.docker_dir(), ".config.json.").len();
        for kind in [Cache::Warm, Cache::Cold] {
            let dir = world.cache_dir(kind).unwrap();
            temps_seen += temp_files(&dir, ".entry.").len();
            // Every cache entry is whole: a reader never sees half of one.
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    serde_json::from_str::<Value>(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}: {text}", p.display()));
                }
            }
        }
    }
    eprintln!(
        "crash: {killed} killed, {finished} finished; usual run lengths {took:?}; {temps_seen} temporary files of killed writes seen between batches"
    );
    assert!(
        killed >= RUNS / 2 && finished >= RUNS / AT_ONCE,
        "{killed} killed, {finished} finished: the kills do not spread over the runs"
    );

    // Leftovers of killed writes, as the kills above may have left them, and as an older
    // release named them; and files that are not ours, or not stale.
    let docker = sb.docker_dir();
    let warm = world.cache_dir(Cache::Warm).unwrap();
    let cold = world.cache_dir(Cache::Cold).unwrap();
    let long_ago = SystemTime::now() - Duration::from_secs(11 * 60);
    let plant = |path: PathBuf, mtime: SystemTime| {
        std::fs::write(&path, "{\"auths\":{\"x\":{\"auth\":\"c2VjcmV0\"}}}").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        path
    };
    let now = SystemTime::now();
    let dead = dead_pid();
    let stale = [
        plant(docker.join(format!(".config.json.{dead}.Kill01.tmp")), now),
        plant(docker.join(".config.json.Old001.tmp"), long_ago),
        plant(warm.join(format!(".entry.{dead}.Kill02.tmp")), now),
        plant(cold.join(".entry.Old002.tmp"), long_ago),
    ];
    let others = [
        plant(docker.join(".tmp-config.json123456"), long_ago),
        plant(docker.join("config.json.backup"), long_ago),
        plant(docker.join(".config.json.Fresh1.tmp"), now),
        plant(warm.join("notes.tmp"), long_ago),
        plant(cold.join(".entry.Fresh2.tmp"), now),
    ];
    for kind in [Cache::Warm, Cache::Cold] {
        world.login(kind, ACCOUNTS[1]).run().assert_ok();
    }
    logged_in.insert(ACCOUNTS[1].into(), RUNS);
    assert_intact(&sb, &earlier, &logged_in, "after the clean-up runs");
    for p in &stale {
        assert!(!p.exists(), "{} was left", p.display());
    }
    for p in &others {
        assert!(p.exists(), "{} was removed", p.display());
    }
    let left: Vec<String> = [
        temp_files(&docker, ".config.json."),
        temp_files(&warm, ".entry."),
        temp_files(&cold, ".entry."),
    ]
    .concat();
    assert_eq!(
        left,
        [".config.json.Fresh1.tmp", ".entry.Fresh2.tmp"],
        "temporary files of killed runs were left ({temps_seen} seen between batches)"
    );
}
