//! One module per command. Each receives resolved objects (the platform, the identity plan,
//! the printer), never clap types or the raw environment, and wires `platform/`, `aws/` and
//! `docker/` together for its use case.

pub mod doctor;
pub mod fetch;
pub mod helper;
pub mod kubelet;
pub mod login;
pub mod logout;
pub mod policy;
pub mod status;
