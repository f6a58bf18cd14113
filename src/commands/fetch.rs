//! The part of `login`, the credential helper and the kubelet provider that talks to AWS, in
//! one place: prove the identity for the fleet cache (its key is what STS will see), then the
//! credentials and the registry tokens, reusing the proof (the CI token is fetched once). And
//! the one cache-or-fetch path of a single registry's token that the helper and the kubelet
//! provider share ([`through_fleet`], after [`Cache::local_turn`]).

use std::time::Instant;

use aws_config::SdkConfig;

use crate::aws::{self, ecr::RegistryToken, registry::Registry};
use crate::cache::{redis, Cache, Claim, Entry, Keys, Lookup, Turn};
use crate::error::Error;
use crate::identity::{self, Plan, Proof, Resolved};
use crate::platform::Platform;

/// An identity proven for the fleet cache: the SDK configuration and the proof, kept for the
/// fetch that follows a miss.
pub(crate) struct Proven {
    sdk: SdkConfig,
    proof: Proof,
}

/// When `cache` has a fleet: proves `plan`'s identity (no AWS API call: the CI token is
/// fetched, or the chain's credentials resolved) and fills `keys`' fleet halves. `None`
/// without a fleet cache.
pub(crate) async fn prove(
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
pub(crate) async fn tokens(
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
pub(crate) fn entry(token: &RegistryToken, who: &Resolved) -> Option<Entry> {
    Some(Entry {
        registry: token.host.clone(),
        username: token.username.clone(),
        password: token.password.clone(),
        expires_at: token.expires_at?,
        identity: who.arn.clone(),
        sub: who.sub.clone(),
    })
}

/// How long a token may take to come: no limit (the credential helper: Docker waits), or until
/// an instant, after which `expired` is the error (the kubelet's deadline).
pub(crate) enum Limit<'a> {
    None,
    Until(Instant, &'a dyn Fn() -> Error),
}

impl Limit<'_> {
    /// What is left of it (for waits that end on their own).
    fn left(&self) -> std::time::Duration {
        match self {
            Limit::None => redis::CLAIM,
            Limit::Until(at, _) => at.saturating_duration_since(Instant::now()),
        }
    }

    /// `work`'s result, or the limit's error once it is up.
    async fn within<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match self {
            Limit::None => work.await,
            Limit::Until(_, expired) => tokio::time::timeout(self.left(), work)
                .await
                .unwrap_or_else(|_| Err(expired())),
        }
    }
}

/// Where a registry's STS calls go: its region (ECR Public's tokens come from us-east-1).
pub(crate) fn sts_region(registry: &Registry) -> &str {
    match registry {
        Registry::Private { region, .. } => region,
        Registry::Public { .. } => "us-east-1",
    }
}

/// A cached entry as the token of `registry`: the host asked for (the cache admitted the entry
/// only for it).
pub(crate) fn token_of(entry: &Entry, registry: &Registry) -> RegistryToken {
    RegistryToken {
        host: registry.host().to_string(),
        region: match registry {
            Registry::Private { region, .. } => Some(region.clone()),
            Registry::Public { .. } => None,
        },
        username: entry.username.clone(),
        password: entry.password.clone(),
        expires_at: Some(entry.expires_at),
    }
}

/// One registry's token after this machine's files had none fresh ([`Cache::local_turn`]):
/// the fleet cache once the identity is proven, its single flight (another machine's fetch,
/// or the `stale` entry while another machine refreshes it), else a fetch of our own, cached
/// in both layers. A refresh that fails serves `stale` while it is valid, with a warning
/// (`warn`). Without a cache: a fetch. Inside `limit`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn through_fleet(
    cache: Option<&Cache>,
    keys: &mut Keys,
    stale: Option<Entry>,
    plan: &Plan,
    platform: &dyn Platform,
    registry: &Registry,
    limit: &Limit<'_>,
    warn: &dyn Fn(&str),
) -> Result<RegistryToken, Error> {
    let mut claim = Claim::default();
    let mut proven = None;
    if let Some(c) = cache {
        let proving = prove(
            c,
            plan,
            platform,
            sts_region(registry),
            std::slice::from_mut(keys),
        );
        proven = limit.within(proving).await?;
        if let Lookup::Fresh(e) = c.get_fleet(keys).await {
            return Ok(token_of(&e, registry));
        }
        match c.fleet_turn(keys, stale.as_ref(), limit.left()).await {
            Turn::Serve(e) => return Ok(token_of(&e, registry)),
            Turn::Fetch(won) => claim = won,
        }
    }
    let fetched = limit.within(one(plan, platform, registry, proven)).await;
    if let Some(c) = cache {
        let entry = fetched.as_ref().ok().and_then(|(t, who)| entry(t, who));
        c.settle(keys, claim, entry.as_ref()).await;
    }
    match (fetched, stale) {
        (Ok((token, _)), _) => Ok(token),
        (Err(e), Some(old)) => {
            warn(&format!(
                "refreshing the cached token for {} failed ({e}); serving the cached one, which is still valid",
                registry.host()
            ));
            Ok(token_of(&old, registry))
        }
        (Err(e), None) => Err(e),
    }
}

/// One registry's token, fetched (`proven`: the identity was proven for the fleet already).
async fn one(
    plan: &Plan,
    platform: &dyn Platform,
    registry: &Registry,
    proven: Option<Proven>,
) -> Result<(RegistryToken, Resolved), Error> {
    let (tokens, who) = tokens(
        plan,
        platform,
        std::slice::from_ref(registry),
        None,
        sts_region(registry),
        proven,
    )
    .await?;
    let token = tokens
        .into_iter()
        .find(|t| t.host == registry.host())
        .ok_or_else(|| {
            Error::Internal(format!(
                "ECR answered with no token for {}",
                registry.host()
            ))
        })?;
    Ok((token, who))
}
