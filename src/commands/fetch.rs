//! The part of `login`, the credential helper and the kubelet provider that talks to AWS, in
//! one place: prove the identity for the fleet cache (its key is what STS will see), then the
//! credentials and the registry tokens, reusing the proof (the CI token is fetched once).

use aws_config::SdkConfig;

use crate::aws::{self, ecr::RegistryToken, registry::Registry};
use crate::cache::{Cache, Entry, Keys};
use crate::error::Error;
use crate::identity::{self, Plan, Proof, Resolved};
use crate::platform::Platform;

/// An identity proven for the fleet cache: the SDK configuration and the proof, kept for the
/// fetch that follows a miss.
pub struct Proven {
    sdk: SdkConfig,
    proof: Proof,
}

/// When `cache` has a fleet: proves `plan`'s identity (no AWS API call: the CI token is
/// fetched, or the chain's credentials resolved) and fills `keys`' fleet halves. `None`
/// without a fleet cache.
pub async fn prove(
    cache: &Cache,
    plan: &Plan,
    platform: &dyn Platform,
    sts_region: &str,
    keys: &mut [Keys],
) -> Result<Option<Proven>, Error> {
    if !cache.has_fleet() {
        return Ok(None);
    }
    let sdk = aws::sdk_config(sts_region, plan.profile.as_deref(), plan.uses_chain());
    let (sdk, proof) = identity::sdk_and_proof(plan, platform, sdk).await?;
    cache.prove(plan, &proof, keys);
    Ok(Some(Proven { sdk, proof }))
}

/// The tokens of `registries` (none: the identity's own registry in `region`), with the
/// credentials they were fetched with. `proven`: the identity was proven already.
pub async fn tokens(
    plan: &Plan,
    platform: &dyn Platform,
    registries: &[Registry],
    region: Option<&str>,
    sts_region: &str,
    proven: Option<Proven>,
) -> Result<(Vec<RegistryToken>, Resolved), Error> {
    let warm = |sdk: &SdkConfig| aws::warm_up_ecr(sdk, registries);
    let (sdk, who) = match proven {
        Some(Proven { sdk, proof }) => {
            let who = identity::credentials_proven(plan, platform, &sdk, proof, warm).await?;
            (sdk, who)
        }
        None => {
            let sdk = aws::sdk_config(sts_region, plan.profile.as_deref(), plan.uses_chain());
            identity::sdk_and_credentials(plan, platform, sdk, warm).await?
        }
    };
    if let Some(arn) = &who.arn {
        tracing::info!("acting as {arn}");
    }
    let tokens = aws::ecr::tokens(
        &sdk,
        Some(&who.credentials),
        registries,
        region,
        who.arn.as_deref(),
    )
    .await?;
    Ok((tokens, who))
}

/// The cache entry of a fetched `token` (`None` when ECR gave no expiry: not cached).
pub fn entry(token: &RegistryToken, who: &Resolved) -> Option<Entry> {
    Some(Entry {
        registry: token.host.clone(),
        username: token.username.clone(),
        password: token.password.clone(),
        expires_at: token.expires_at?,
        identity: who.arn.clone(),
        sub: who.sub.clone(),
    })
}
