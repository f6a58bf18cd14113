//! One module per command. Each receives resolved objects (the platform, the identity plan,
//! the printer), never clap types or the raw environment, and wires `platform/`, `aws/` and
//! `docker/` together for its use case.

pub(crate) mod doctor;
pub(crate) mod fetch;
pub(crate) mod helper;
pub(crate) mod kubelet;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod policy;
pub(crate) mod status;
