//! Integration tests: the real `ecr-login` binary against real servers on 127.0.0.1 —
//! moto (STS, ECR) behind our fault-injecting proxy, our own OIDC issuer, Debian's
//! docker-registry — and the real `skopeo` reading what we wrote.
//!
//! Run them with `scripts/test.sh`, which installs the tools and runs this binary inside a
//! private network namespace where the ECR host names resolve to the local registries (with
//! `--features online-tests`: a plain `cargo test` leaves this binary out).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// The tests make and plant files as they like; src/ writes through its own toolkit.
#![allow(clippy::disallowed_methods)]
// A test crate reaches nothing from outside: `pub` here says "for the other test modules".
#![allow(unreachable_pub)]

mod harness;

mod auth_file;
mod boundaries;
mod crash;
mod docs;
mod doctor;
mod errors;
mod faults;
mod hardening;
mod helper;
mod hostile;
mod identity;
mod install;
mod kubelet;
mod login;
mod logout;
mod network;
mod output;
mod platforms;
mod policy;
mod push_pull;
mod redis;
mod release;
mod retries;
mod secrets;
mod secrets_all;
mod status;
mod telemetry;
mod wrapper_action;
mod wrapper_gitlab;
mod wrapper_jenkins;
mod wrapper_orb;
