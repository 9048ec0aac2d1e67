//! Admin session tokens: HS256 JWTs signed with a key derived from `KICKIN_SECRET_KEY`,
//! valid for `SESSION_TTL_MS`. The admin is re-read on every request, so disabling an
//! admin ends their sessions at once.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::MS_PER_HOUR;
use crate::crypto::Keys;
use crate::error::{AppError, AppResult};

pub const SESSION_TTL_MS: i64 = 12 * MS_PER_HOUR;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    /// Seconds since the epoch, as JWT requires.
    pub iat: i64,
    pub exp: i64,
}

/// Issues a token for an admin; returns it with its expiry (ms).
pub fn issue(keys: &Keys, admin_id: Uuid, role: &str, now_ms: i64) -> AppResult<(String, i64)> {
    let expires_at = now_ms + SESSION_TTL_MS;
    let claims = Claims {
        sub: admin_id,
        role: role.to_string(),
        iat: now_ms / 1000,
        exp: expires_at / 1000,
    };
    let key = EncodingKey::from_secret(keys.session_key())
        .map_err(|_| AppError::internal("session key unusable"))?;
    let token = encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|_| AppError::internal("could not sign the session"))?;
    Ok((token, expires_at))
}

/// Verifies signature and expiry against the application clock.
pub fn verify(keys: &Keys, token: &str, now_ms: i64) -> AppResult<Claims> {
    let key = DecodingKey::from_secret(keys.session_key())
        .map_err(|_| AppError::internal("session key unusable"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false; // checked below against the injectable clock
    validation.required_spec_claims = ["exp".to_string()].into_iter().collect();
    let data = decode::<Claims>(token, &key, &validation)
        .map_err(|_| AppError::unauthorized("session is not valid"))?;
    if data.claims.exp * 1000 <= now_ms {
        return Err(AppError::unauthorized("session has expired, log in again"));
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = Keys::derive("0123456789abcdef0123456789abcdef");
        let id = Uuid::now_v7();
        let (token, expires) = issue(&keys, id, "admin", 1_000_000).unwrap();
        assert_eq!(verify(&keys, &token, 1_000_000).unwrap().sub, id);
        assert!(verify(&keys, &token, expires).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let (token, _) = issue(
            &Keys::derive("0123456789abcdef0123456789abcdef"),
            Uuid::now_v7(),
            "admin",
            0,
        )
        .unwrap();
        assert!(verify(&Keys::derive("fedcba9876543210fedcba9876543210"), &token, 0).is_err());
    }
}
