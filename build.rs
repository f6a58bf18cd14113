//! Lays out the release binary's code for a fast start: on Linux musl release builds, the
//! functions a login or a credential-helper `get` runs are linked together at the start of the
//! code (`link/hot-text.ld`, made by `scripts/hot-text.sh`), so that the kernel maps them with
//! a few dozen page faults instead of a hundred scattered over 9 MB. Nothing else changes; a
//! function the list no longer names just stays where the linker puts it.

// Cargo reads a build script's instructions from its standard output.
#![allow(clippy::print_stdout)]

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-text.ld");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let musl = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "musl";
    if !musl || var("PROFILE") != "release" {
        return;
    }
    let script = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-text.ld");
    if !script.is_file() {
        println!(
            "cargo:warning={} is missing: the release binary's code is not laid out for start-up (scripts/hot-text.sh makes it)",
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
