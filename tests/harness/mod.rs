//! The test world, for every test module through `use crate::harness::*;`: local servers
//! started once per test process (servers), a proxy per test in front of moto (proxy), a temp
//! dir per test and a builder that runs the binary with a clean environment (sandbox), HTTPS
//! release sites for the installer (release), a release made by scripts/release.sh (released),
//! the local ECR registries (registry), and readers for what the code under test writes (files).

mod files;
mod proxy;
mod registry;
mod release;
mod released;
mod sandbox;
mod servers;

pub use files::*;
pub use proxy::*;
pub use registry::*;
pub use release::*;
pub use released::*;
pub use sandbox::*;
pub use servers::*;
