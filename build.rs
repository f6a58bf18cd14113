//! Lays out the release binary's code for a fast start: on Linux musl release builds with
//! `ECR_LOGIN_HOT_TEXT` naming a linker script (made from this very code by
//! `scripts/hot-text.sh`, which the release job and the benchmark run; nothing generated is
//! committed), the functions a login or a credential-helper `get` runs are linked together at
//! the start of the code, so that the kernel maps them with a few dozen page faults instead of
//! a hundred scattered over 9 MB. Without it nothing changes.

// Cargo reads a build script's instructions from its standard output.
#![allow(clippy::print_stdout)]

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_HOT_TEXT");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let musl = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "musl";
    let named = var("ECR_LOGIN_HOT_TEXT");
    if !musl || var("PROFILE") != "release" || named.is_empty() {
        return;
    }
    let script = Path::new(&named);
    println!("cargo:rerun-if-changed={}", script.display());
    if !script.is_file() {
        println!(
            "cargo:warning=ECR_LOGIN_HOT_TEXT names {}, which is not a file: the release binary's code is not laid out for start-up (scripts/hot-text.sh makes it)",
            script.display()
        );
        return;
    }
    // A script with `INSERT`: it adds the `.text.hot` output section to the linker's default
    // script (GNU ld, lld) rather than replacing it.
    println!(
        "cargo:rustc-link-arg-bin=ecr-login=-Wl,-T,{}",
        script.display()
    );
}
