//! No CI platform: a laptop, a build host, EC2, ECS, CodeBuild, EKS Pod Identity. No identity
//! token; credentials come from the standard AWS credential chain.

use super::{CacheHome, Platform};
use crate::error::TokenError;
use crate::id_token::TokenSource;

pub(super) const NAME: &str = "local";

pub(super) struct Local;

impl Platform for Local {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, _audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        Ok(None)
    }

    fn cache_home(&self) -> CacheHome {
        CacheHome::User
    }
}
