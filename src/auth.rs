//! Credentials: parsing, secret hashing, and checking a caller against the
//! API clients of the store.
//!
//! Secrets are stored only as argon2id hashes. Verifying one costs tens of
//! milliseconds by design, so a successful check is remembered as a SHA-256 of
//! (client id, stored hash, presented secret): a later call with the same
//! secret skips argon2, while a rotated or changed hash misses the memo at once.
//! The client row is read on every call, so a disabled client is refused at once.
//!
//! OAuth: a client trades its key and secret for a signed JWT (HS256) carrying
//! `org_id`, `client_id`, `iat`, `exp` and the audience `badges`. Only HS256
//! is accepted, so `alg: none` and tokens of other algorithms are refused; the
//! client row is read again on every call, so a disabled client's tokens stop
//! working at once.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Micros;
use crate::error::{Error, Result};
use crate::limits::FailureThrottle;
use crate::store::Store;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a caller presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Basic { username: String, secret: Secret },
    Bearer(Secret),
}

impl Credentials {
    /// Credentials from the `X-CAP-API-OAUTH-TOKEN` header (upstream) or the
    /// `Authorization` header (Basic or Bearer). `None` when neither holds any.
    pub fn from_headers(authorization: Option<&str>, oauth_token: Option<&str>) -> Option<Self> {
        if let Some(token) = oauth_token.map(str::trim).filter(|t| !t.is_empty()) {
            return Some(Credentials::Bearer(Secret::new(token)));
        }
        let authorization = authorization?;
        if let Some((scheme, token)) = authorization.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            return Some(Credentials::Bearer(Secret::new(token.trim())));
        }
        Self::from_authorization(authorization)
    }

    /// Reads an `Authorization` header value. `None` when it is not Basic
    /// credentials in the standard form.
    pub fn from_authorization(value: &str) -> Option<Self> {
        let (scheme, rest) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, secret) = decoded.split_once(':')?;
        if username.is_empty() {
            return None;
        }
        Some(Credentials::Basic {
            username: username.to_owned(),
            secret: Secret::new(secret),
        })
    }
}

/// Who is calling, once credentials are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub org_id: i32,
    pub client_id: i32,
    pub can_read: bool,
    pub can_write: bool,
}

/// Hashes a secret with argon2id and a random salt, as a PHC string.
pub fn hash_secret(secret: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_string())
}

/// A new random secret: 32 bytes, base64url.
pub fn generate_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret(URL_SAFE_NO_PAD.encode(bytes))
}

fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random secret, verified against when the username is unknown so
/// that an unknown user costs what a wrong secret costs.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_secret(generate_secret().expose()).unwrap_or_default())
}

/// At most this many remembered verifications; the memo starts over when full.
const MEMO_CAPACITY: usize = 10_000;

/// The audience of every token this service issues.
pub const TOKEN_AUDIENCE: &str = "badges";

/// The key that signs and checks tokens.
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
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    org_id: i32,
    client_id: i32,
    iat: i64,
    exp: i64,
    aud: String,
}

/// An issued token.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub access_token: Secret,
    pub ttl_seconds: u64,
}

#[derive(Debug)]
pub struct Authenticator {
    store: Store,
    verified: Mutex<HashSet<[u8; 32]>>,
    keys: TokenKeys,
    throttle: FailureThrottle,
}

impl Authenticator {
    pub fn new(store: Store, keys: TokenKeys, throttle: FailureThrottle) -> Self {
        Authenticator {
            store,
            verified: Mutex::new(HashSet::new()),
            keys,
            throttle,
        }
    }

    /// Checks credentials; `Unauthenticated` for anything but a known, enabled
    /// client presenting its secret or a valid token of its own.
    /// `now` is the service clock, against which token expiry is judged.
    pub async fn authenticate(
        &self,
        credentials: Option<Credentials>,
        now: Micros,
    ) -> Result<Principal> {
        match credentials {
            Some(Credentials::Basic { username, secret }) => {
                self.basic(&username, secret, now).await
            }
            Some(Credentials::Bearer(token)) => self.bearer(&token, now).await,
            None => Err(Error::Unauthenticated),
        }
    }

    /// Trades a client's key and secret for a token.
    pub async fn issue_token(&self, key: &str, secret: Secret, now: Micros) -> Result<IssuedToken> {
        let principal = self.basic(key, secret, now).await?;
        let now_seconds = now.seconds_nanos().0;
        let claims = Claims {
            org_id: principal.org_id,
            client_id: principal.client_id,
            iat: now_seconds,
            exp: now_seconds.saturating_add(self.keys.ttl_seconds as i64),
            aud: TOKEN_AUDIENCE.to_owned(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.keys.encoding)
                .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(IssuedToken {
            access_token: Secret::new(token),
            ttl_seconds: self.keys.ttl_seconds,
        })
    }

    async fn bearer(&self, token: &Secret, now: Micros) -> Result<Principal> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[TOKEN_AUDIENCE]);
        // Expiry is judged against the service's own (injected) clock below.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "aud"].iter().map(|s| s.to_string()).collect();
        let claims =
            jsonwebtoken::decode::<Claims>(token.expose(), &self.keys.decoding, &validation)
                .map_err(|_| Error::Unauthenticated)?
                .claims;
        if claims.exp <= now.seconds_nanos().0 {
            return Err(Error::Unauthenticated);
        }
        let client = self
            .store
            .find_api_client_by_id(claims.client_id)
            .await?
            .filter(|c| !c.disabled && c.org_id == claims.org_id)
            .ok_or(Error::Unauthenticated)?;
        Ok(Principal {
            org_id: client.org_id,
            client_id: client.id,
            can_read: client.can_read,
            can_write: client.can_write,
        })
    }

    async fn basic(&self, username: &str, secret: Secret, now: Micros) -> Result<Principal> {
        if let Some(retry_after_seconds) = self.throttle.locked(username, now) {
            return Err(Error::Throttled {
                retry_after_seconds,
            });
        }
        let outcome = self.check_basic(username, secret).await;
        match &outcome {
            Ok(_) => self.throttle.succeeded(username),
            Err(Error::Unauthenticated) => self.throttle.failed(username, now),
            Err(_) => {}
        }
        outcome
    }

    async fn check_basic(&self, username: &str, secret: Secret) -> Result<Principal> {
        let client = self.store.find_api_client(username).await?;
        let Some(client) = client.filter(|c| !c.disabled) else {
            let secret = secret.clone();
            // The outcome is ignored: this only spends the time a real check would.
            let _ =
                tokio::task::spawn_blocking(move || verify(secret.expose(), dummy_hash())).await;
            return Err(Error::Unauthenticated);
        };

        let memo_key: [u8; 32] = Sha256::new()
            .chain_update(client.id.to_be_bytes())
            .chain_update(client.secret_hash.as_bytes())
            .chain_update([0u8])
            .chain_update(secret.expose().as_bytes())
            .finalize()
            .into();
        let remembered = self
            .verified
            .lock()
            .map(|m| m.contains(&memo_key))
            .unwrap_or(false);
        if !remembered {
            let phc = client.secret_hash.clone();
            let ok = tokio::task::spawn_blocking(move || verify(secret.expose(), &phc))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
            if !ok {
                return Err(Error::Unauthenticated);
            }
            if let Ok(mut memo) = self.verified.lock() {
                if memo.len() >= MEMO_CAPACITY {
                    memo.clear();
                }
                memo.insert(memo_key);
            }
        }
        Ok(Principal {
            org_id: client.org_id,
            client_id: client.id,
            can_read: client.can_read,
            can_write: client.can_write,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_credentials() {
        let header = format!("Basic {}", STANDARD.encode("demo:s3:cret"));
        assert_eq!(
            Credentials::from_authorization(&header),
            Some(Credentials::Basic {
                username: "demo".into(),
                secret: Secret::new("s3:cret"),
            })
        );
        assert_eq!(Credentials::from_authorization("Bearer abc"), None);
        assert_eq!(Credentials::from_authorization("Basic !!!"), None);
        assert_eq!(
            Credentials::from_authorization(&format!("Basic {}", STANDARD.encode(":x"))),
            None
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }

    #[test]
    fn hashes_verify_only_their_secret() {
        let phc = hash_secret("right").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("right", &phc));
        assert!(!verify("wrong", &phc));
    }
}
