//! AWS regions and partitions: which regions exist, which partition (and so which DNS suffix
//! and ARN prefix) each belongs to. Used to check `--region` and registry hosts up front, so
//! that a typo fails in milliseconds with a suggestion instead of as a DNS error after retries.

/// An AWS partition: its ARN prefix and the DNS suffix of its ECR registry hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Partition {
    pub arn: &'static str,
    pub dns_suffix: &'static str,
    /// The suffix of dual-stack hosts (`dkr-ecr.<region>.<suffix>`), where the partition has them.
    pub dual_stack_suffix: Option<&'static str>,
}

const AWS: Partition = Partition {
    arn: "aws",
    dns_suffix: "amazonaws.com",
    dual_stack_suffix: Some("on.aws"),
};
const AWS_CN: Partition = Partition {
    arn: "aws-cn",
    dns_suffix: "amazonaws.com.cn",
    dual_stack_suffix: Some("on.amazonwebservices.com.cn"),
};
const AWS_US_GOV: Partition = Partition {
    arn: "aws-us-gov",
    dns_suffix: "amazonaws.com",
    dual_stack_suffix: Some("on.aws"),
};
const AWS_ISO: Partition = Partition {
    arn: "aws-iso",
    dns_suffix: "c2s.ic.gov",
    dual_stack_suffix: None,
};
const AWS_ISO_B: Partition = Partition {
    arn: "aws-iso-b",
    dns_suffix: "sc2s.sgov.gov",
    dual_stack_suffix: None,
};
const AWS_ISO_E: Partition = Partition {
    arn: "aws-iso-e",
    dns_suffix: "cloud.adc-e.uk",
    dual_stack_suffix: None,
};
const AWS_ISO_F: Partition = Partition {
    arn: "aws-iso-f",
    dns_suffix: "csp.hci.ic.gov",
    dual_stack_suffix: None,
};
const AWS_EUSC: Partition = Partition {
    arn: "aws-eusc",
    dns_suffix: "amazonaws.eu",
    dual_stack_suffix: None,
};

/// Every partition, for matching hosts and ARNs.
pub(crate) const PARTITIONS: &[Partition] = &[
    AWS, AWS_CN, AWS_US_GOV, AWS_ISO, AWS_ISO_B, AWS_ISO_E, AWS_ISO_F, AWS_EUSC,
];

/// Regions known to this release.
pub(crate) const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

/// Whether `region` has the shape of a region name (`xx-name-N`).
pub(crate) fn is_region_shaped(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn is_known(region: &str) -> bool {
    KNOWN_REGIONS.contains(&region)
}

/// The partition a region belongs to, by its prefix (so it also works for new regions).
pub(crate) fn partition_of(region: &str) -> Partition {
    if region.starts_with("cn-") {
        AWS_CN
    } else if region.starts_with("us-gov-") {
        AWS_US_GOV
    } else if region.starts_with("us-isob-") {
        AWS_ISO_B
    } else if region.starts_with("us-isof-") {
        AWS_ISO_F
    } else if region.starts_with("us-iso-") {
        AWS_ISO
    } else if region.starts_with("eu-isoe-") {
        AWS_ISO_E
    } else if region.starts_with("eusc-") {
        AWS_EUSC
    } else {
        AWS
    }
}

/// The known region closest to `region` (edit distance at most 3), for "did you mean".
pub(crate) fn suggest(region: &str) -> Option<String> {
    KNOWN_REGIONS
        .iter()
        .map(|known| (edit_distance(region, known), *known))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Checks `region`: it must be region-shaped and, unless `allow_unknown`, known to this release.
pub(crate) fn check(region: &str, allow_unknown: bool) -> Result<(), crate::error::UsageError> {
    if is_known(region) || (allow_unknown && is_region_shaped(region)) {
        return Ok(());
    }
    Err(crate::error::UsageError::UnknownRegion {
        region: region.to_string(),
        suggestion: suggest(region),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "ap-southeast-7",
        ] {
            assert!(is_region_shaped(ok), "{ok}");
        }
        for bad in [
            "us-east1",
            "useast-1",
            "US-EAST-1",
            "us--1",
            "us-east-",
            "",
            "x",
        ] {
            assert!(!is_region_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("cn-north-1").dns_suffix, "amazonaws.com.cn");
        assert_eq!(partition_of("us-gov-west-1").arn, "aws-us-gov");
        assert_eq!(partition_of("us-isob-east-1").dns_suffix, "sc2s.sgov.gov");
        assert_eq!(partition_of("us-iso-east-1").dns_suffix, "c2s.ic.gov");
        assert_eq!(partition_of("eusc-de-east-1").dns_suffix, "amazonaws.eu");
        assert_eq!(partition_of("eu-west-1").arn, "aws");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("us-east1").as_deref(), Some("us-east-1"));
        assert_eq!(suggest("eu-wset-1").as_deref(), Some("eu-west-1"));
        assert_eq!(suggest("mars-north-9"), None);
    }
}
