//! The honest yardstick for a login's speed (`scripts/bench.sh`): the same three requests a
//! GitHub-style login makes (the OIDC token, STS AssumeRoleWithWebIdentity, ECR
//! GetAuthorizationToken), one after another, by one warm process: no start-up, no
//! configuration loading, no file written, connections and clients reused. Whatever a login
//! takes beyond this is ours to explain.
//!
//! Reads ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, AWS_ENDPOINT_URL, ROLE and WARM_RUNS; prints
//! the median of one round, in milliseconds. With WARM_PHASES set, also prints to stderr the
//! median of each of the three requests (token, STS, ECR), to set next to a login's phases.

// It is a measuring tool: its result is what it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn var(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let url = var("ACTIONS_ID_TOKEN_REQUEST_URL")?;
    let request_token = var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?;
    let endpoint = var("AWS_ENDPOINT_URL")?;
    let role = var("ROLE")?;
    let runs: usize = var("WARM_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);

    let http = reqwest::Client::new();
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(Credentials::new("warm", "warm", None, None, "warm"))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&conf);

    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut phases: [Vec<Duration>; 3] = Default::default();
    for i in 0..runs + 5 {
        let start = Instant::now();
        let answer: serde_json::Value = http
            .get(format!("{url}&audience=sts.amazonaws.com"))
            .bearer_auth(&request_token)
            .send()
            .await?
            .json()
            .await?;
        let jwt = answer["value"].as_str().ok_or("no token in the answer")?;
        let t_token = start.elapsed();
        let out = sts
            .assume_role_with_web_identity()
            .role_arn(&role)
            .role_session_name("warm-limit")
            .web_identity_token(jwt)
            .send()
            .await?;
        let t_sts = start.elapsed();
        let c = out.credentials().ok_or("no credentials")?;
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "warm",
        );
        let ecr = aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::config::Builder::from(&conf)
                .credentials_provider(creds)
                .build(),
        );
        ecr.get_authorization_token().send().await?;
        // The first rounds open connections and fill caches: not warm yet.
        if i >= 5 {
            let total = start.elapsed();
            times.push(total);
            phases[0].push(t_token);
            phases[1].push(t_sts - t_token);
            phases[2].push(total - t_sts);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    if std::env::var_os("WARM_PHASES").is_some() {
        let [token, sts, ecr] = &mut phases;
        eprintln!(
            "warm process, median per request: token {:.2} ms, STS {:.2} ms, ECR {:.2} ms",
            median(token),
            median(sts),
            median(ecr)
        );
    }
    println!("{:.1}", median(&mut times));
    Ok(())
}
