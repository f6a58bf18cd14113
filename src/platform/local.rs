//! No CI platform: a laptop, a build host, EC2, ECS, CodeBuild, EKS Pod Identity. No identity
//! token; credentials come from the standard AWS credential chain.

use futures::future::BoxFuture;

use super::Platform;
use crate::error::TokenError;
use crate::id_token::IdToken;

pub struct Local;

impl Local {
    pub const NAME: &'static str = "local";
}

impl Platform for Local {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn id_token<'a>(
        &'a self,
        _audience: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>> {
        Box::pin(async { Ok(None) })
    }
}
