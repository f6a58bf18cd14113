//! No CI platform: a laptop, a build host, EC2, ECS, CodeBuild, EKS Pod Identity. No identity
//! token; credentials come from the standard AWS credential chain.

use futures::future::BoxFuture;

use super::Platform;
use crate::error::TokenError;
use crate::id_token::IdToken;

pub const NAME: &str = "local";

pub struct Local;

impl Platform for Local {
    fn name(&self) -> &'static str {
        NAME
    }

    fn id_token<'a>(
        &'a self,
        _audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>> {
        Box::pin(async { Ok(None) })
    }
}
