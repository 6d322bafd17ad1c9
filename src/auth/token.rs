//! OAuth tokens: HS256 JWTs that carry the client, its org and the client's
//! generation. Rotating, disabling or enabling a client moves its generation,
//! so every token it had stops working at once, on every process.
//!
//! Only HS256 is accepted (`alg: none` and other algorithms are refused).
//! Times are judged on the service's own clock: a token whose `exp` lies
//! further ahead than the configured lifetime, or whose `iat` or `nbf` lies in
//! the future (beyond a small skew), was not issued by this service as
//! configured, and is refused.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::Secret;
use crate::domain::Micros;
use crate::error::{Error, Result};

/// The audience of every token this service issues.
pub const TOKEN_AUDIENCE: &str = "badges";

/// How far clocks of different processes may disagree (s).
pub const CLOCK_SKEW_SECONDS: i64 = 30;

/// The key that signs and checks tokens, and their lifetime.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_seconds: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKeys(***, ttl {}s)", self.ttl_seconds)
    }
}

/// What a valid token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub org_id: i32,
    pub client_id: i32,
    /// The client's generation when the token was issued.
    #[serde(rename = "gen")]
    pub generation: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(flatten)]
    claims: Claims,
    aud: String,
}

/// An issued token.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub access_token: Secret,
    pub ttl_seconds: u64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_seconds: u64) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_seconds,
        }
    }

    /// A random key: tokens signed with it do not survive a restart.
    pub fn random(ttl_seconds: u64) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::new(&key, ttl_seconds)
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// A token for the client, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        org_id: i32,
        client_id: i32,
        generation: i64,
        now: Micros,
    ) -> Result<IssuedToken> {
        let iat = now.seconds_nanos().0;
        let wire = Wire {
            claims: Claims {
                org_id,
                client_id,
                generation,
                iat,
                nbf: None,
                exp: iat.saturating_add(self.ttl_seconds as i64),
            },
            aud: TOKEN_AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &self.encoding)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(IssuedToken {
            access_token: Secret::new(token),
            ttl_seconds: self.ttl_seconds,
        })
    }

    /// The claims of a token this service signed and that is valid at `now`;
    /// `Unauthenticated` otherwise.
    pub fn verify(&self, token: &Secret, now: Micros) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[TOKEN_AUDIENCE]);
        // Times are judged below, on the service's own (injected) clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = ["exp", "aud", "iat"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let claims = jsonwebtoken::decode::<Wire>(token.expose(), &self.decoding, &validation)
            .map_err(|_| Error::Unauthenticated)?
            .claims
            .claims;
        let now = now.seconds_nanos().0;
        let latest_exp = now
            .saturating_add(self.ttl_seconds as i64)
            .saturating_add(CLOCK_SKEW_SECONDS);
        let future = now.saturating_add(CLOCK_SKEW_SECONDS);
        let valid = claims.exp > now
            && claims.exp <= latest_exp
            && claims.iat <= future
            && claims.nbf.is_none_or(|nbf| nbf <= future);
        if valid {
            Ok(claims)
        } else {
            Err(Error::Unauthenticated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = Micros(1_735_689_600_000_000);

    fn forged(keys: &TokenKeys, iat: i64, nbf: Option<i64>, exp: i64) -> Secret {
        let wire = Wire {
            claims: Claims {
                org_id: 1,
                client_id: 2,
                generation: 3,
                iat,
                nbf,
                exp,
            },
            aud: TOKEN_AUDIENCE.to_owned(),
        };
        Secret::new(
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &keys.encoding).unwrap(),
        )
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let t = keys.issue(1, 2, 3, NOW).unwrap();
        let claims = keys.verify(&t.access_token, NOW).unwrap();
        assert_eq!(
            (claims.org_id, claims.client_id, claims.generation),
            (1, 2, 3)
        );
        assert!(
            keys.verify(&t.access_token, Micros(NOW.0 + 59_000_000))
                .is_ok()
        );
        assert!(
            keys.verify(&t.access_token, Micros(NOW.0 + 60_000_000))
                .is_err()
        );
        let other = TokenKeys::new(b"another key, another key, another", 60);
        assert!(other.verify(&t.access_token, NOW).is_err());
    }

    #[test]
    fn times_beyond_what_this_service_issues_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let now = NOW.seconds_nanos().0;
        assert!(
            keys.verify(&forged(&keys, now, None, now + 60), NOW)
                .is_ok()
        );
        // Year 9999.
        assert!(
            keys.verify(&forged(&keys, now, None, 253_402_300_799), NOW)
                .is_err()
        );
        assert!(
            keys.verify(&forged(&keys, now + 3600, None, now + 60), NOW)
                .is_err(),
            "issued in the future"
        );
        assert!(
            keys.verify(&forged(&keys, now, Some(now + 3600), now + 60), NOW)
                .is_err(),
            "not valid before a future time"
        );
        assert!(
            keys.verify(&forged(&keys, now + 10, Some(now + 10), now + 60), NOW)
                .is_ok(),
            "within the skew"
        );
    }
}
