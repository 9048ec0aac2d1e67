//! Keys and secrets: the at-rest cipher (AES-256-GCM) and the session signing key, both
//! derived with HKDF-SHA256 from `KICKIN_SECRET_KEY`; SHA-256 digests; API key material.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Key material derived from the operator's secret key. Never printed.
#[derive(Clone)]
pub struct Keys {
    cipher: Aes256Gcm,
    session_key: [u8; 32],
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Derives independent keys for encryption at rest and for session signing.
    pub fn derive(secret_key: &str) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"kickin"), secret_key.as_bytes());
        let mut at_rest = [0u8; 32];
        let mut session_key = [0u8; 32];
        let mut lookup_key = [0u8; 32];
        hk.expand(b"kickin/at-rest/aes-256-gcm/v1", &mut at_rest)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"kickin/session/hs256/v1", &mut session_key)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"kickin/lookup/hmac-sha256/v1", &mut lookup_key)
            .expect("32 bytes is a valid HKDF length");
        let cipher = Aes256Gcm::new_from_slice(&at_rest).expect("32-byte key");
        Self {
            cipher,
            session_key,
            lookup_key,
        }
    }

    /// A keyed hash (HMAC-SHA256, as HKDF-Extract computes it) of an identifier kept
    /// sealed, so equal identifiers can be found without storing them in the clear.
    pub fn lookup_hash(&self, value: &str) -> String {
        let (prk, _) = Hkdf::<Sha256>::extract(Some(&self.lookup_key), value.as_bytes());
        hex::encode(prk)
    }

    pub fn session_key(&self) -> &[u8] {
        &self.session_key
    }

    /// Encrypts with a fresh random nonce; the result is `base64(nonce || ciphertext)`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption cannot fail for in-memory data");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        STANDARD.encode(out)
    }

    /// Decrypts what `seal` produced; fails on tampering or a different key.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| CryptoError)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| CryptoError)
    }

    pub fn seal_json(&self, value: &serde_json::Value) -> String {
        self.seal(value.to_string().as_bytes())
    }

    pub fn open_json(&self, sealed: &str) -> Result<serde_json::Value, CryptoError> {
        serde_json::from_slice(&self.open(sealed)?).map_err(|_| CryptoError)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value could not be decrypted")]
pub struct CryptoError;

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new API key: `kk_` + base64url of 32 random bytes. Returns (key, visible prefix).
pub fn generate_api_key() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let key = format!("kk_{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = key[..11].to_string();
    (key, prefix)
}

/// A random secret for generated passwords and keys: base64url of `n` bytes.
pub fn random_token(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_hide_the_plaintext() {
        let keys = Keys::derive("a-secret-key-that-is-long-enough-000");
        let sealed = keys.seal(b"EAAB-token");
        assert!(!sealed.contains("EAAB"));
        assert_eq!(keys.open(&sealed).unwrap(), b"EAAB-token");
        assert_ne!(sealed, keys.seal(b"EAAB-token"), "nonces must differ");
    }

    #[test]
    fn a_different_secret_key_cannot_open_a_sealed_value() {
        let sealed = Keys::derive("a-secret-key-that-is-long-enough-000").seal(b"x");
        assert!(
            Keys::derive("another-secret-key-that-is-long-enough")
                .open(&sealed)
                .is_err()
        );
    }

    #[test]
    fn lookup_hashes_are_stable_keyed_and_hide_the_value() {
        let keys = Keys::derive("a-secret-key-that-is-long-enough-000");
        let h = keys.lookup_hash("fb.1.1707499000.123");
        assert_eq!(h, keys.lookup_hash("fb.1.1707499000.123"));
        assert_ne!(h, keys.lookup_hash("fb.1.1707499000.124"));
        assert_ne!(h, sha256_hex(b"fb.1.1707499000.123"));
        let other = Keys::derive("another-secret-key-that-is-long-enough");
        assert_ne!(h, other.lookup_hash("fb.1.1707499000.123"));
    }

    #[test]
    fn api_keys_have_32_random_bytes_and_a_prefix() {
        let (key, prefix) = generate_api_key();
        assert_eq!(URL_SAFE_NO_PAD.decode(&key[3..]).unwrap().len(), 32);
        assert!(key.starts_with(&prefix));
        assert_ne!(key, generate_api_key().0);
    }

    #[test]
    fn sha256_hex_matches_a_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
