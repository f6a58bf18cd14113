//! Registry names: what the user may write in `--registries`, and the ECR host forms we
//! accept (commercial, FIPS, dual-stack, China, GovCloud, EUSC and ISO partitions, ECR Public).
//!
//! Everything else is refused up front with a message that says what was expected, so a typo
//! never turns into a login to the wrong host.

use crate::aws::{is_account_id, regions};
use crate::error::UsageError;

/// The host of Amazon ECR Public.
pub(crate) const PUBLIC_HOST: &str = "public.ecr.aws";

/// ECR Public's dual-stack (IPv4 and IPv6) host: the same registry, the same token.
pub(crate) const PUBLIC_DUAL_STACK_HOST: &str = "ecr-public.aws.com";

/// A registry to log in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Registry {
    /// A private registry: an account in a region, reached under `host`.
    Private {
        account: String,
        region: String,
        host: String,
    },
    /// Amazon ECR Public (tokens from us-east-1), under the host it was named by:
    /// [`PUBLIC_HOST`] or its dual-stack name [`PUBLIC_DUAL_STACK_HOST`].
    Public { host: String },
}

/// A registry as the user named it: complete, or an account id waiting for a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RegistryRequest {
    Registry(Registry),
    /// A 12-digit account id, in the region the command settles on.
    Account(String),
}

impl Registry {
    /// The host name that goes into the auth file.
    pub(crate) fn host(&self) -> &str {
        match self {
            Registry::Private { host, .. } => host,
            Registry::Public { host } => host,
        }
    }

    #[cfg(test)]
    /// ECR Public under its usual host, `public.ecr.aws`.
    pub(crate) fn public() -> Registry {
        Registry::Public {
            host: PUBLIC_HOST.to_string(),
        }
    }

    /// The dual-stack (IPv4 and IPv6) host of the same registry:
    /// `<account>.dkr-ecr[-fips].<region>.<dual-stack suffix>` for a private registry (`None`
    /// in a partition without dual-stack registries), `ecr-public.aws.com` for ECR Public.
    pub(crate) fn dual_stack_host(&self) -> Option<String> {
        match self {
            Registry::Private {
                account,
                region,
                host,
            } => {
                let suffix = regions::partition_of(region).dual_stack_suffix?;
                let fips = host.contains(".dkr.ecr-fips.") || host.contains(".dkr-ecr-fips.");
                let service = if fips { "dkr-ecr-fips" } else { "dkr-ecr" };
                Some(format!("{account}.{service}.{region}.{suffix}"))
            }
            Registry::Public { .. } => Some(PUBLIC_DUAL_STACK_HOST.to_string()),
        }
    }

    /// The standard host of an account's registry in a region.
    pub(crate) fn private(account: &str, region: &str) -> Registry {
        let suffix = regions::partition_of(region).dns_suffix;
        Registry::Private {
            account: account.to_string(),
            region: region.to_string(),
            host: format!("{account}.dkr.ecr.{region}.{suffix}"),
        }
    }
}

/// Splits a `--registries` value on commas, newlines and spaces.
pub(crate) fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses one registry as the user wrote it: a 12-digit account id (in `default_region`), a
/// registry host (optionally with `https://` and an image path after it), or ECR Public
/// (`public.ecr.aws` or its dual-stack name `ecr-public.aws.com`).
pub(crate) fn parse(
    input: &str,
    default_region: Option<&str>,
    allow_unknown_region: bool,
) -> Result<Registry, UsageError> {
    let err = |reason: &str| UsageError::Registry {
        input: shown(input),
        reason: reason.to_string(),
    };
    let trimmed = input.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    // An image reference or pull-through cache path: the registry is the part before the '/'.
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();

    if host.is_empty() {
        return Err(err("it is empty"));
    }
    if is_account_id(&host) {
        let region = default_region.ok_or(UsageError::NoRegion)?;
        return Ok(Registry::private(&host, region));
    }
    if host.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("an account id has exactly 12 digits"));
    }
    if host == PUBLIC_HOST || host == PUBLIC_DUAL_STACK_HOST {
        return Ok(Registry::Public { host });
    }
    if host.contains(':') {
        return Err(err("ECR registries are reached on port 443; drop the port"));
    }

    let (account, rest) = host
        .split_once('.')
        .ok_or_else(|| err("it is neither an account id nor a registry host"))?;
    if !is_account_id(account) {
        return Err(err(
            "an ECR registry host starts with the 12-digit account id, like 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ));
    }
    let (service, rest) = rest
        .split_once('.')
        .ok_or_else(|| err("the host is incomplete"))?;
    let (region, suffix) = match service {
        // <account>.dkr.ecr[-fips].<region>.<suffix>
        "dkr" => {
            let (ecr, rest) = rest
                .split_once('.')
                .ok_or_else(|| err("the host is incomplete"))?;
            if ecr != "ecr" && ecr != "ecr-fips" {
                return Err(err("expected dkr.ecr or dkr.ecr-fips after the account id"));
            }
            let (region, suffix) = rest
                .split_once('.')
                .ok_or_else(|| err("the host has no region"))?;
            let partition = regions::partition_of(region);
            if suffix != partition.dns_suffix {
                return Err(err(&format!(
                    "registries in {} end in .{}",
                    shown(region),
                    partition.dns_suffix
                )));
            }
            (region, suffix)
        }
        // <account>.dkr-ecr[-fips].<region>.<dual-stack suffix>
        "dkr-ecr" | "dkr-ecr-fips" => {
            let (region, suffix) = rest
                .split_once('.')
                .ok_or_else(|| err("the host has no region"))?;
            match regions::partition_of(region).dual_stack_suffix {
                Some(ds) if ds == suffix => (region, suffix),
                Some(ds) => {
                    return Err(err(&format!(
                        "dual-stack registries in {} end in .{ds}",
                        shown(region)
                    )))
                }
                None => {
                    return Err(err(&format!(
                        "{} has no dual-stack registries",
                        shown(region)
                    )))
                }
            }
        }
        _ => {
            return Err(err(
                "not an ECR host: expected <account>.dkr.ecr.<region>.amazonaws.com (or its FIPS, dual-stack or partition form)",
            ))
        }
    };
    debug_assert!(!suffix.is_empty());
    if region.len() > 64 || !regions::is_region_shaped(region) {
        return Err(err(&format!("{:?} is not a region", shown(region))));
    }
    regions::check(region, allow_unknown_region)?;
    Ok(Registry::Private {
        account: account.to_string(),
        region: region.to_string(),
        host,
    })
}

/// `input` as an error message shows it: whole when it is short, else its first 100
/// characters and its length (a registry is under 100 characters; a megabyte pasted by
/// mistake must not become a megabyte of error).
pub(crate) fn shown(input: &str) -> String {
    const KEEP: usize = 100;
    match input.char_indices().nth(KEEP) {
        None => input.to_string(),
        Some((end, _)) => format!("{}... ({} bytes)", &input[..end], input.len()),
    }
}

/// The registry of a `proxyEndpoint` from ECR's `GetAuthorizationToken` answer in `region`,
/// checked like user input: it goes into config.json and CI outputs, so anything but an ECR
/// registry host of that region (an empty value, control characters, another region, another
/// service) is refused with the reason.
pub(crate) fn from_endpoint(endpoint: &str, region: &str) -> Result<Registry, String> {
    if endpoint.trim().is_empty() {
        return Err("it is empty".into());
    }
    if endpoint
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err("it holds whitespace or control characters".into());
    }
    match parse(endpoint, None, true) {
        Ok(r @ Registry::Private { .. }) => match &r {
            Registry::Private {
                region: r_region, ..
            } if r_region != region => Err(format!(
                "it is a registry in {r_region}, not in {region} where the token was issued"
            )),
            _ => Ok(r),
        },
        Ok(Registry::Public { .. }) => Err("it is ECR Public, not a private registry".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(account: &str, region: &str, host: &str) -> Registry {
        Registry::Private {
            account: account.into(),
            region: region.into(),
            host: host.into(),
        }
    }

    fn public_ds() -> Registry {
        Registry::Public {
            host: "ecr-public.aws.com".into(),
        }
    }

    #[test]
    fn accepted_forms() {
        let table: &[(&str, Registry)] = &[
            (
                "123456789012",
                private(
                    "123456789012",
                    "eu-west-1",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                private(
                    "123456789012",
                    "us-east-1",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                ),
            ),
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
                private(
                    "123456789012",
                    "us-east-1",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0",
                private(
                    "123456789012",
                    "us-east-1",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM",
                private(
                    "123456789012",
                    "us-east-1",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
                private(
                    "123456789012",
                    "us-east-2",
                    "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr-ecr.eu-central-1.on.aws",
                private(
                    "123456789012",
                    "eu-central-1",
                    "123456789012.dkr-ecr.eu-central-1.on.aws",
                ),
            ),
            (
                "123456789012.dkr-ecr-fips.us-west-2.on.aws",
                private(
                    "123456789012",
                    "us-west-2",
                    "123456789012.dkr-ecr-fips.us-west-2.on.aws",
                ),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                private(
                    "123456789012",
                    "cn-north-1",
                    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                ),
            ),
            (
                "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                private(
                    "123456789012",
                    "cn-northwest-1",
                    "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                private(
                    "123456789012",
                    "us-gov-west-1",
                    "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                private(
                    "123456789012",
                    "us-gov-east-1",
                    "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                ),
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                private(
                    "123456789012",
                    "eusc-de-east-1",
                    "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                private(
                    "123456789012",
                    "us-iso-east-1",
                    "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                private(
                    "123456789012",
                    "us-isob-east-1",
                    "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                ),
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                private(
                    "123456789012",
                    "eu-isoe-west-1",
                    "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                ),
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                private(
                    "123456789012",
                    "us-isof-south-1",
                    "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                ),
            ),
            ("public.ecr.aws", Registry::public()),
            ("public.ecr.aws/nginx/nginx", Registry::public()),
            ("https://public.ecr.aws/nginx/nginx:1", Registry::public()),
            ("ecr-public.aws.com", public_ds()),
            ("ECR-Public.AWS.com", public_ds()),
            ("https://ecr-public.aws.com", public_ds()),
            ("ecr-public.aws.com/nginx/nginx:latest", public_ds()),
        ];
        for (input, want) in table {
            assert_eq!(
                &parse(input, Some("eu-west-1"), false).unwrap(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn china_account_id_gets_the_china_suffix() {
        assert_eq!(
            parse("123456789012", Some("cn-north-1"), false)
                .unwrap()
                .host(),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn rejected_forms() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("12345", "12 digits"),
            ("docker.io", "account id"),
            ("ghcr.io/owner/image", "account id"),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com:443", "port"),
            (
                "123456789012.dkr.ecr.us-east-1.example.com",
                "end in .amazonaws.com",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
                "end in .amazonaws.com.cn",
            ),
            (
                "123456789012.ecr.us-east-1.amazonaws.com",
                "not an ECR host",
            ),
            ("123456789012.dkr.s3.us-east-1.amazonaws.com", "dkr.ecr"),
            (
                "123456789012.dkr-ecr.us-iso-east-1.c2s.ic.gov",
                "no dual-stack",
            ),
            (
                "12345678901x.dkr.ecr.us-east-1.amazonaws.com",
                "starts with the 12-digit",
            ),
            ("123456789012.dkr.ecr", "incomplete"),
            ("ecr-public.aws", "account id"),
            ("public.ecr.aws.evil.example", "account id"),
            ("ecr-public.aws.com:443", "port"),
        ];
        for (input, want) in table {
            let e = parse(input, Some("us-east-1"), false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn endpoints_from_ecr() {
        assert_eq!(
            from_endpoint(
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "us-east-1"
            ),
            Ok(Registry::private("123456789012", "us-east-1"))
        );
        assert_eq!(
            from_endpoint(
                "https://123456789012.dkr.ecr.ap-east-9.amazonaws.com/",
                "ap-east-9"
            )
            .map(|r| r.host().to_string()),
            Ok("123456789012.dkr.ecr.ap-east-9.amazonaws.com".into())
        );
        for (endpoint, why) in [
            ("", "empty"),
            ("  ", "empty"),
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com\nEVIL=1",
                "control",
            ),
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/x\ny",
                "control",
            ),
            (
                "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "in eu-west-1",
            ),
            ("https://evil.example.com", "account id"),
            ("https://public.ecr.aws", "ECR Public"),
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:8443",
                "port",
            ),
        ] {
            let e = from_endpoint(endpoint, "us-east-1").unwrap_err();
            assert!(e.contains(why), "{endpoint:?}: {e}");
        }
    }

    #[test]
    fn public_keeps_the_host_it_was_named_by() {
        assert_eq!(Registry::public().host(), "public.ecr.aws");
        let ds = parse("https://ecr-public.aws.com/x/y", None, false).unwrap();
        assert_eq!(ds.host(), "ecr-public.aws.com");
    }

    #[test]
    fn dual_stack_hosts() {
        let table: &[(&str, Option<&str>)] = &[
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                Some("123456789012.dkr-ecr.us-east-1.on.aws"),
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
                Some("123456789012.dkr-ecr-fips.us-east-2.on.aws"),
            ),
            (
                "123456789012.dkr-ecr.eu-central-1.on.aws",
                Some("123456789012.dkr-ecr.eu-central-1.on.aws"),
            ),
            (
                "123456789012.dkr-ecr-fips.us-west-2.on.aws",
                Some("123456789012.dkr-ecr-fips.us-west-2.on.aws"),
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                Some("123456789012.dkr-ecr.us-gov-west-1.on.aws"),
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                Some("123456789012.dkr-ecr-fips.us-gov-east-1.on.aws"),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                Some("123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn"),
            ),
            ("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", None),
            ("123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", None),
            ("123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", None),
            ("123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", None),
            ("123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", None),
            ("public.ecr.aws", Some("ecr-public.aws.com")),
            ("ecr-public.aws.com", Some("ecr-public.aws.com")),
        ];
        for (input, want) in table {
            let r = parse(input, None, false).unwrap();
            assert_eq!(r.dual_stack_host().as_deref(), *want, "{input}");
        }
        assert_eq!(
            Registry::private("123456789012", "ap-southeast-2").dual_stack_host(),
            Some("123456789012.dkr-ecr.ap-southeast-2.on.aws".into())
        );
    }

    #[test]
    fn unknown_region_in_a_host_is_refused_unless_allowed() {
        let host = "123456789012.dkr.ecr.us-nowhere-9.amazonaws.com";
        assert!(matches!(
            parse(host, None, false),
            Err(UsageError::UnknownRegion { .. })
        ));
        assert!(parse(host, None, true).is_ok());
    }

    #[test]
    fn account_id_without_region_is_a_no_region_error() {
        assert!(matches!(
            parse("123456789012", None, false),
            Err(UsageError::NoRegion)
        ));
    }

    /// Hostile inputs found by hand or by the properties below, kept as regression cases:
    /// each is refused with a reason, or accepted as the registry it names.
    #[test]
    fn hostile_corpus() {
        let refused: &[&str] = &[
            "\0",
            "\u{feff}123456789012",
            "123456789012\n.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\nEVIL=1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example",
            "123456789012.dkr.ecr.US-EAST-1\u{130}.amazonaws.com",
            "１２３４５６７８９０１２",
            "https://",
            "https:///public.ecr.aws",
            "public.ecr.aws.",
            "public.ecr.aws:443",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\\x",
            "123456789012.dkr.ecr.us-east-999.amazonaws.com",
        ];
        for input in refused {
            let e = parse(input, Some("us-east-1"), true).unwrap_err();
            assert!(!e.to_string().is_empty(), "{input:?}");
        }
        let a_mb = "a".repeat(1 << 20);
        for huge in [
            format!("123456789012.dkr.ecr.{a_mb}.amazonaws.com"),
            format!("123456789012.dkr.ecr.{a_mb}-x-1.example.com"),
            format!("123456789012.dkr-ecr.{a_mb}.example.com"),
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com{a_mb}"),
            a_mb.clone(),
        ] {
            let e = parse(&huge, Some("us-east-1"), false)
                .unwrap_err()
                .to_string();
            assert!(
                e.len() < 1000,
                "the message repeats a megabyte: {} bytes",
                e.len()
            );
            assert!(e.contains("bytes)"), "{e}");
        }
    }

    #[test]
    fn split_list_takes_commas_newlines_and_spaces() {
        let got: Vec<&str> = split_list(" a,b\nc  d,,\n").collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Strings shaped like registry references, right and wrong in every part.
        fn registry_like() -> impl Strategy<Value = String> {
            let scheme = prop_oneof!["", "https://", "http://", "HTTPS://", "ftp://"];
            let account = prop_oneof!["123456789012", "[0-9]{0,14}", "\\PC{0,3}"];
            let service = prop_oneof![
                "dkr.ecr",
                "dkr.ecr-fips",
                "dkr-ecr",
                "dkr-ecr-fips",
                "dkr",
                "[a-z.-]{0,8}"
            ];
            let region = prop_oneof![
                prop::sample::select(crate::aws::regions::KNOWN_REGIONS),
                Just("us-nowhere-9"),
                Just(""),
                Just("US-EAST-1"),
            ]
            .prop_map(str::to_string)
            .boxed()
            .prop_union("[a-z0-9-]{0,14}".boxed());
            let suffix = prop_oneof![
                prop::sample::select(
                    crate::aws::regions::PARTITIONS
                        .iter()
                        .flat_map(|p| [Some(p.dns_suffix), p.dual_stack_suffix])
                        .flatten()
                        .collect::<Vec<_>>()
                )
                .prop_map(str::to_string),
                "[a-z.]{0,12}",
            ];
            let tail = prop_oneof!["", "/", "/team/app:1.0", ":443", ":8443/x", "\\PC{0,4}"];
            (scheme, account, service, region, suffix, tail).prop_map(
                |(scheme, account, service, region, suffix, tail)| {
                    format!("{scheme}{account}.{service}.{region}.{suffix}{tail}")
                },
            )
        }

        /// An accepted registry: a clean lowercase host that parses back to itself, and whose
        /// dual-stack host parses too.
        fn check_accepted(r: &Registry) -> Result<(), TestCaseError> {
            let host = r.host();
            prop_assert!(!host.is_empty());
            prop_assert!(
                host.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'-'),
                "host {host:?}"
            );
            prop_assert_eq!(&parse(host, None, true).unwrap(), r);
            if let Some(ds) = r.dual_stack_host() {
                prop_assert!(parse(&ds, None, true).is_ok(), "dual-stack {ds:?}");
            }
            Ok(())
        }

        fn check_refused(input: &str, e: &UsageError) -> Result<(), TestCaseError> {
            let text = e.to_string();
            prop_assert!(!text.is_empty());
            prop_assert!(text.len() < 2_000, "{} bytes of message", text.len());
            if let UsageError::Registry { reason, .. } = e {
                prop_assert!(!reason.is_empty(), "no reason for {input:?}");
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn any_text_is_parsed_or_refused_with_a_reason(input in "\\PC{0,80}|.{0,80}") {
                for (region, allow) in [(Some("us-east-1"), false), (None, true)] {
                    match parse(&input, region, allow) {
                        Ok(r) => check_accepted(&r)?,
                        Err(e) => check_refused(&input, &e)?,
                    }
                }
                if let Ok(r) = from_endpoint(&input, "us-east-1") {
                    check_accepted(&r)?;
                }
                for item in split_list(&input) {
                    prop_assert!(!item.is_empty() && !item.contains(char::is_whitespace));
                }
            }

            #[test]
            fn registry_like_text_is_parsed_or_refused_with_a_reason(input in registry_like()) {
                match parse(&input, Some("eu-west-1"), true) {
                    Ok(r) => check_accepted(&r)?,
                    Err(e) => check_refused(&input, &e)?,
                }
                if let Ok(r) = from_endpoint(&input, "us-east-1") {
                    check_accepted(&r)?;
                    let in_region = matches!(&r, Registry::Private { region, .. } if region == "us-east-1");
                    prop_assert!(in_region, "{:?}", r);
                }
            }

            #[test]
            fn long_inputs_make_short_messages(
                input in registry_like(),
                at in any::<prop::sample::Index>(),
                filler in any::<char>(),
                n in 200usize..3000,
            ) {
                let mut chars: Vec<char> = input.chars().collect();
                let at = at.index(chars.len() + 1);
                chars.splice(at..at, std::iter::repeat_n(filler, n));
                let long: String = chars.into_iter().collect();
                if let Err(e) = parse(&long, Some("us-east-1"), true) {
                    check_refused(&long, &e)?;
                }
            }

            #[test]
            fn every_known_region_and_account_makes_a_registry(
                account in "[0-9]{12}",
                region in prop::sample::select(crate::aws::regions::KNOWN_REGIONS),
            ) {
                let r = parse(&account, Some(region), false).unwrap();
                check_accepted(&r)?;
                prop_assert_eq!(parse(&format!("https://{}/a/b:c", r.host()), None, false).unwrap(), r);
            }
        }
    }
}
