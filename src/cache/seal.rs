//! Sealing for the fleet cache: whoever can read Redis (its operators, a snapshot, a replica)
//! must see only ciphertext, and whoever can write it must not be able to plant a token or move
//! one to another identity. Each value is AES-256-GCM under the fleet's key
//! (`ECR_LOGIN_CACHE_KEY`: 32 random bytes in base64), with a fresh random nonce, and the token
//! key (identity + partition + region + registry) as associated data: a value copied under
//! another key, altered, or sealed with another key does not open.
//!
//! Two more keys are derived from the fleet's (HMAC-SHA256 with a label each), so that what
//! Redis shows names nothing: the Redis key names ([`Sealer::name_of`]: a reader of Redis
//! cannot tell which pipelines, roles or registries use it) and the digests of the AWS
//! credentials a chain identity is keyed by ([`Sealer::credential_digest`]).

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, KeyInit as _, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// The first byte of a sealed value: its layout (version, nonce, ciphertext + tag).
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// How to make a key, for messages.
pub(crate) const MAKE_A_KEY: &str = "make one with `openssl rand -base64 32`";

/// The fleet's key, ready to seal and open, and the keys derived from it.
#[derive(Clone)]
pub(crate) struct Sealer {
    aead: Aes256Gcm,
    names: [u8; 32],
    credentials: [u8; 32],
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // Invariant: HMAC takes a key of any length, so `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

/// Why `text` is not a key (32 bytes in standard base64, as `openssl rand -base64 32` prints
/// them), if it is not.
pub(crate) fn check(text: &Secret) -> Result<(), String> {
    Sealer::new(text).map(|_| ())
}

impl Sealer {
    /// The sealer for the key `text` (32 bytes in base64; surrounding whitespace ignored).
    pub(crate) fn new(text: &Secret) -> Result<Sealer, String> {
        let text = text.expose().trim();
        if text.is_empty() {
            return Err(format!("it is empty: {MAKE_A_KEY}"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| format!("it is not base64: {MAKE_A_KEY}"))?;
        if bytes.len() != KEY_LEN {
            return Err(format!(
                "it holds {} bytes, not {KEY_LEN}: {MAKE_A_KEY}",
                bytes.len()
            ));
        }
        let aead = <Aes256Gcm as aes_gcm::KeyInit>::new_from_slice(&bytes)
            .map_err(|_| format!("it is not an AES-256 key: {MAKE_A_KEY}"))?;
        Ok(Sealer {
            aead,
            names: hmac(&bytes, b"ecr-login fleet cache v2: key names"),
            credentials: hmac(&bytes, b"ecr-login fleet cache v2: credentials"),
        })
    }

    /// The name `key_text` is stored under: an HMAC under the names' key, hex.
    pub(crate) fn name_of(&self, key_text: &[u8]) -> String {
        hex(&hmac(&self.names, key_text))
    }

    /// A digest of AWS credentials (key id and secret) that only holders of the fleet's key
    /// can make: an HMAC under the credentials' key, hex.
    pub(crate) fn credential_digest(&self, data: &[u8]) -> String {
        hex(&hmac(&self.credentials, data))
    }

    /// `plain` sealed, bound to `aad`. `None` only if the system's random source fails.
    pub(crate) fn seal(&self, plain: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .aead
            .encrypt(&nonce, Payload { msg: plain, aad })
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(out)
    }

    /// What `sealed` holds, if it was sealed with this key and `aad` and not altered.
    pub(crate) fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let (version, rest) = sealed.split_first()?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, msg) = rest.split_at(NONCE_LEN);
        self.aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg, aad })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "q83vEjRWeJq8/ur/ABEiM0RVZneImaq7zN3u/wARIjM=";
    const OTHER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn only_32_bytes_of_base64_are_a_key() {
        assert!(check(&Secret::new(KEY)).is_ok());
        assert!(check(&Secret::new(format!("  {KEY}\n"))).is_ok());
        assert!(check(&Secret::new(""))
            .unwrap_err()
            .contains("openssl rand -base64 32"));
        assert!(check(&Secret::new("not base64!!"))
            .unwrap_err()
            .contains("not base64"));
        assert!(check(&Secret::new("AAECAwQFBgcICQoLDA0ODw=="))
            .unwrap_err()
            .contains("16 bytes, not 32"));
    }

    #[test]
    fn sealed_opens_only_with_its_key_and_aad_unaltered() {
        let s = Sealer::new(&Secret::new(KEY)).unwrap();
        let sealed = s.seal(b"the-token", b"key-1").unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"the-token"));
        assert_eq!(s.open(&sealed, b"key-1").unwrap(), b"the-token");
        // A fresh nonce each time.
        assert_ne!(s.seal(b"the-token", b"key-1").unwrap(), sealed);
        assert!(s.open(&sealed, b"key-2").is_none());
        let other = Sealer::new(&Secret::new(OTHER)).unwrap();
        assert!(other.open(&sealed, b"key-1").is_none());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(s.open(&altered, b"key-1").is_none());
        assert!(s.open(b"", b"key-1").is_none());
        assert!(s.open(b"\x01short", b"key-1").is_none());
        assert!(s.open(b"plain text, not ours", b"key-1").is_none());
    }

    #[test]
    fn derived_names_and_digests_depend_on_the_key_and_the_input() {
        let s = Sealer::new(&Secret::new(KEY)).unwrap();
        let other = Sealer::new(&Secret::new(OTHER)).unwrap();
        assert_eq!(s.name_of(b"k"), s.name_of(b"k"));
        assert_eq!(s.name_of(b"k").len(), 64);
        assert_ne!(s.name_of(b"k"), s.name_of(b"k2"));
        assert_ne!(s.name_of(b"k"), other.name_of(b"k"));
        // The two derived keys differ: a name never equals a digest of the same bytes.
        assert_ne!(s.name_of(b"k"), s.credential_digest(b"k"));
        assert_ne!(s.credential_digest(b"k"), other.credential_digest(b"k"));
    }
}
