//! No secret value (AWS keys, session token, ECR password and token, the OIDC JWT) reaches
//! stdout, stderr or any file but the auth file, at the highest verbosity; on GitHub every
//! one of them is masked with `::add-mask::` before anything else is printed.

use crate::harness::*;

fn files_except_config(sb: &Sandbox) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![sb.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p != sb.config_path() {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn github_login_at_highest_verbosity_leaks_nothing_and_masks_everything_first() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&[
            "-vvv",
            "--registries",
            "111111111111,333333333333.dkr.ecr.eu-west-1.amazonaws.com,public.ecr.aws",
        ])
        .run();
    run.assert_ok();
    let secrets = proxy.secrets();
    // JWT, access key id, secret key, session token, 3 tokens and 3 passwords.
    assert!(secrets.len() >= 10, "{} secrets recorded", secrets.len());
    assert!(
        run.stderr.len() > 10_000,
        "-vvv should log a lot: {}",
        run.stderr.len()
    );

    let masked: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    let first_other = run
        .stdout
        .lines()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let last_mask = lines
        .iter()
        .rposition(|l| l.starts_with("::add-mask::"))
        .unwrap();
    assert!(
        last_mask < first_other,
        "a mask came after other output:\n{}",
        run.stdout
    );

    for s in &secrets {
        assert!(masked.contains(&s.as_str()), "not masked: {}...", &s[..6]);
        assert!(
            !run.stderr.contains(s.as_str()),
            "stderr leaks {}...",
            &s[..6]
        );
        for line in run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
        {
            assert!(
                !line.contains(s.as_str()),
                "stdout leaks {}...: {line}",
                &s[..6]
            );
        }
        for (path, text) in files_except_config(&sb) {
            assert!(!text.contains(s.as_str()), "{path} leaks {}...", &s[..6]);
        }
    }
    // The config does hold the passwords (that is its job).
    assert_eq!(
        sb.auth("111111111111.dkr.ecr.us-east-1.amazonaws.com"),
        "AWS:111111111111-auth-token"
    );
}

#[test]
fn outside_ci_nothing_is_printed_that_is_secret() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let token = shared_issuer().token("audience=sts.amazonaws.com");
    let file = sb.path().join("token");
    std::fs::write(&file, &token).unwrap();
    let run = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .args(&["-vvv", "--role-arn", ROLE, "--region", "eu-west-1"])
        .args(&["--web-identity-token-file", file.to_str().unwrap()])
        .args(&["--registries", "333333333333", "--output", "json"])
        .run();
    run.assert_ok();
    let secrets = proxy.secrets();
    assert!(secrets.contains(&token), "the proxy saw the JWT");
    assert!(!run.stdout.contains("::add-mask::"));
    for s in &secrets {
        assert!(
            !run.stdout.contains(s.as_str()),
            "stdout leaks {}...",
            &s[..6]
        );
        assert!(
            !run.stderr.contains(s.as_str()),
            "stderr leaks {}...",
            &s[..6]
        );
    }
    assert!(
        run.stderr.len() > 10_000,
        "-vvv should log a lot: {}",
        run.stderr.len()
    );
}
