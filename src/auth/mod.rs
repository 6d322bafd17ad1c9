//! Who is calling: credentials as they arrive, their checks, and the layer
//! that runs the checks before any handler.
//!
//! Secrets are stored only as argon2id hashes and verified on a fixed pool of
//! workers ([`hasher`]). A successful check is remembered as a SHA-256 of
//! (client id, stored hash, presented secret), so later calls with the same
//! secret skip argon2, while a rotated hash misses the memo at once. Failed
//! checks lock a username out for a while, from the address they came from
//! ([`lockout`]); a secret verified before still passes, so knowing a
//! username is not enough to lock its client out. OAuth tokens carry the
//! client's generation ([`token`]), checked against the client row, so
//! rotating, disabling or enabling a client ends every token it had.

pub mod gate;
pub mod hasher;
pub mod lockout;
pub mod token;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::domain::Micros;
pub use crate::domain::principal::{Access, Principal};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::entity::api_client;
pub use hasher::Hasher;
pub use lockout::Lockout;
pub use token::{IssuedToken, TOKEN_AUDIENCE, TokenKeys};

/// Longest accepted Basic username or OAuth key; longer ones are refused
/// before any lookup.
pub const MAX_USERNAME_BYTES: usize = 256;
/// Longest accepted secret.
pub const MAX_SECRET_BYTES: usize = 1024;
/// Longest accepted bearer token.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// A secret that never prints, and whose memory is wiped when dropped
/// (`secrecy`).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(SecretString::from(s.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

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

/// Whether a username and secret may be looked up at all: within their
/// lengths, and free of NUL, which no database column can hold.
fn plausible(username: &str, secret: &str) -> bool {
    !username.is_empty()
        && username.len() <= MAX_USERNAME_BYTES
        && secret.len() <= MAX_SECRET_BYTES
        && !username.contains('\0')
        && !secret.contains('\0')
}

impl Credentials {
    /// Credentials from the `X-CAP-API-OAUTH-TOKEN` header (upstream) or the
    /// `Authorization` header (Basic or Bearer). `None` when neither holds
    /// any in a form that could be valid.
    pub fn from_headers(authorization: Option<&str>, oauth_token: Option<&str>) -> Option<Self> {
        if let Some(token) = oauth_token.map(str::trim).filter(|t| !t.is_empty()) {
            return Self::bearer(token);
        }
        let authorization = authorization?;
        if let Some((scheme, token)) = authorization.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            return Self::bearer(token.trim());
        }
        Self::from_authorization(authorization)
    }

    fn bearer(token: &str) -> Option<Self> {
        (token.len() <= MAX_TOKEN_BYTES).then(|| Credentials::Bearer(Secret::new(token)))
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
        plausible(username, secret).then(|| Credentials::Basic {
            username: username.to_owned(),
            secret: Secret::new(secret),
        })
    }
}

/// The address a call came from (the TCP peer), which the lockout counts
/// failures by; `None` where the transport has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Source(pub Option<std::net::IpAddr>);

impl Source {
    /// The lockout's key for `username` from this address.
    fn lockout_key(self, username: &str) -> String {
        match self.0 {
            Some(ip) => format!("{ip} {username}"),
            None => format!("- {username}"),
        }
    }
}

/// The caller of a client row.
fn principal_of(client: &api_client::Model) -> Principal {
    Principal {
        org_id: client.org_id,
        client_id: client.id,
        generation: client.generation,
        can_read: client.can_read,
        can_write: client.can_write,
    }
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
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// The hash of a random secret nobody kept, verified against when the
/// username is unknown, so that an unknown user costs what a wrong secret
/// costs. It has the parameters of [`hash_secret`] (a test checks), and is a
/// constant so that no process spends argon2's memory making one at start.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$1zfqAgD+d4fI0f3Wi563YA$EYHD+sHnUU0blgmRkNBkFBhsQTOX5Wk5Vp2U1MUTdAg";

/// At most this many remembered verifications; the memo starts over when full.
const MEMO_CAPACITY: usize = 10_000;
/// Most client rows kept in memory.
const CACHED_CLIENTS: u64 = 10_000;

/// One credential check that identical calls at once wait for together.
type SharedCheck = Arc<tokio::sync::OnceCell<Result<Principal>>>;

/// Checks credentials against the API clients of the store.
///
/// Client rows are cached in memory, so that a call whose secret was verified
/// before costs no database round trip to authenticate. A cached row may be
/// out of date: every call that reaches the database checks the row's
/// generation there, in the same round trip as its own work, and a call that
/// finds it moved is authenticated again from a fresh row
/// ([`gate`](crate::auth::gate)). Anything that would refuse a caller (an
/// unknown name, a disabled row, a secret that does not verify, a token of
/// another generation) is decided on a fresh row, never on the cache.
#[derive(Debug)]
pub struct Authenticator {
    store: Store,
    hasher: Hasher,
    verified: Mutex<HashSet<[u8; 32]>>,
    by_username: moka::sync::Cache<String, Arc<api_client::Model>>,
    by_id: moka::sync::Cache<i32, Arc<api_client::Model>>,
    keys: TokenKeys,
    lockout: Lockout,
    dummy: Arc<str>,
    checking: Mutex<HashMap<[u8; 32], SharedCheck>>,
}

impl Authenticator {
    pub fn new(store: Store, keys: TokenKeys, hasher: Hasher, lockout: Lockout) -> Self {
        Authenticator {
            store,
            hasher,
            verified: Mutex::new(HashSet::new()),
            by_username: moka::sync::Cache::new(CACHED_CLIENTS),
            by_id: moka::sync::Cache::new(CACHED_CLIENTS),
            keys,
            lockout,
            dummy: DUMMY_HASH.into(),
            checking: Mutex::new(HashMap::new()),
        }
    }

    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    pub fn lockout(&self) -> &Lockout {
        &self.lockout
    }

    /// Checks credentials; `Unauthenticated` for anything but a known, enabled
    /// client presenting its secret or a valid token of its own; `Throttled`
    /// while its username is locked out from `source` (unless the secret was
    /// verified before) or the argon2 queue is full. `now` is the service
    /// clock, against which token times are judged. With `fresh`, the client
    /// row is read from the database, not the cache.
    pub async fn authenticate(
        &self,
        credentials: Option<&Credentials>,
        source: Source,
        now: Micros,
        fresh: bool,
    ) -> Result<Principal> {
        match credentials {
            Some(Credentials::Basic { username, secret }) => {
                self.basic(username, secret, source, now, fresh).await
            }
            Some(Credentials::Bearer(token)) => self.bearer(token, now, fresh).await,
            None => Err(Error::Unauthenticated),
        }
    }

    /// Drops a client's cached row, found out of date.
    pub fn forget(&self, client_id: i32) {
        if let Some(row) = self.by_id.remove(&client_id) {
            self.by_username.invalidate(&row.username);
        }
    }

    /// Trades a client's key and secret for a token.
    pub async fn issue_token(
        &self,
        key: &str,
        secret: Secret,
        source: Source,
        now: Micros,
    ) -> Result<IssuedToken> {
        if !plausible(key, secret.expose()) {
            return Err(Error::Unauthenticated);
        }
        // A token outlives this call: its generation comes from a fresh row.
        let p = self.basic(key, &secret, source, now, true).await?;
        self.keys.issue(p.org_id, p.client_id, p.generation, now)
    }

    fn remember(&self, row: api_client::Model) -> Arc<api_client::Model> {
        let row = Arc::new(row);
        self.by_username.insert(row.username.clone(), row.clone());
        self.by_id.insert(row.id, row.clone());
        row
    }

    async fn bearer(&self, token: &Secret, now: Micros, fresh: bool) -> Result<Principal> {
        let claims = self.keys.verify(token, now)?;
        let fits = |c: &api_client::Model| {
            !c.disabled && c.org_id == claims.org_id && c.generation == claims.generation
        };
        if !fresh
            && let Some(row) = self.by_id.get(&claims.client_id)
            && fits(&row)
        {
            return Ok(principal_of(&row));
        }
        let row = self
            .store
            .find_api_client_by_id(claims.client_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let row = self.remember(row);
        if fits(&row) {
            Ok(principal_of(&row))
        } else {
            Err(Error::Unauthenticated)
        }
    }

    async fn basic(
        &self,
        username: &str,
        secret: &Secret,
        source: Source,
        now: Micros,
        fresh: bool,
    ) -> Result<Principal> {
        // A secret verified before, against the cached row: no database, no
        // argon2, and no lockout: a lockout stops guessing, and this is no
        // guess, so failures of others cannot shut the client out.
        if !fresh && let Some(p) = self.remembered_caller(username, secret) {
            return Ok(p);
        }
        // Identical checks at once (a client's burst of calls on a cold
        // cache) share one: one argon2 run, one attempt against the lockout.
        // Different secrets for one name are each their own attempt.
        let key: [u8; 32] = Sha256::new()
            .chain_update(username.as_bytes())
            .chain_update([0u8])
            .chain_update(secret.expose().as_bytes())
            .finalize()
            .into();
        let cell = match self.checking.lock() {
            Ok(mut checking) => checking.entry(key).or_default().clone(),
            Err(_) => Arc::default(),
        };
        let outcome = cell
            .get_or_init(|| self.counted_check(username, secret, source, now))
            .await
            .clone();
        if let Ok(mut checking) = self.checking.lock()
            && checking.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell))
        {
            checking.remove(&key);
        }
        outcome
    }

    /// One check on a fresh row, as one attempt against the lockout of
    /// `username` from `source`. A secret verified before (by a check from
    /// anywhere) passes while that is locked out.
    async fn counted_check(
        &self,
        username: &str,
        secret: &Secret,
        source: Source,
        now: Micros,
    ) -> Result<Principal> {
        let attempt = match self.lockout.begin(&source.lockout_key(username), now) {
            Ok(attempt) => attempt,
            // Only the cached row is consulted: a locked-out guess costs no
            // database read.
            Err(locked) => return self.remembered_caller(username, secret).ok_or(locked),
        };
        match self.check_basic(username, secret).await {
            Ok(p) => {
                attempt.succeeded(now);
                Ok(p)
            }
            Err(Error::Unauthenticated) => {
                attempt.failed(now);
                Err(Error::Unauthenticated)
            }
            // Not an answer about the secret (a full queue, the database):
            // the attempt counts as neither.
            Err(e) => Err(e),
        }
    }

    fn memo_key(row: &api_client::Model, secret: &Secret) -> [u8; 32] {
        Sha256::new()
            .chain_update(row.id.to_be_bytes())
            .chain_update(row.secret_hash.as_bytes())
            .chain_update([0u8])
            .chain_update(secret.expose().as_bytes())
            .finalize()
            .into()
    }

    /// The caller whose cached, enabled row has this secret verified before.
    fn remembered_caller(&self, username: &str, secret: &Secret) -> Option<Principal> {
        let row = self.by_username.get(username)?;
        (!row.disabled && self.remembered(&row, secret)).then(|| principal_of(&row))
    }

    fn remembered(&self, row: &api_client::Model, secret: &Secret) -> bool {
        let key = Self::memo_key(row, secret);
        self.verified
            .lock()
            .map(|m| m.contains(&key))
            .unwrap_or(false)
    }

    /// The check on a fresh row.
    async fn check_basic(&self, username: &str, secret: &Secret) -> Result<Principal> {
        let row = self.store.find_api_client(username).await?;
        let Some(row) = row.filter(|c| !c.disabled) else {
            // The outcome is ignored: this only spends what a real check would.
            self.hasher
                .verify(secret.clone(), self.dummy.clone())
                .await?;
            return Err(Error::Unauthenticated);
        };
        let row = self.remember(row);
        if !self.remembered(&row, secret) {
            let ok = self
                .hasher
                .verify(secret.clone(), row.secret_hash.as_str().into())
                .await?;
            if !ok {
                return Err(Error::Unauthenticated);
            }
            if let Ok(mut memo) = self.verified.lock() {
                if memo.len() >= MEMO_CAPACITY {
                    memo.clear();
                }
                memo.insert(Self::memo_key(&row, secret));
            }
        }
        Ok(principal_of(&row))
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
    fn hashes_are_argon2id_with_the_dummy_s_parameters() {
        let phc = hash_secret("right").unwrap();
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert!(phc.starts_with("$argon2id$"));
        assert_eq!(params(&phc), params(DUMMY_HASH));
        assert_eq!(phc.len(), DUMMY_HASH.len());
    }

    #[test]
    fn credentials_that_cannot_be_valid_are_not_read() {
        let basic =
            |raw: &str| Credentials::from_authorization(&format!("Basic {}", STANDARD.encode(raw)));
        assert!(basic("demo:demo").is_some());
        assert_eq!(
            basic(&format!("{}:x", "u".repeat(MAX_USERNAME_BYTES + 1))),
            None
        );
        assert_eq!(
            basic(&format!("u:{}", "s".repeat(MAX_SECRET_BYTES + 1))),
            None
        );
        assert_eq!(basic("de\0mo:demo"), None);
        assert_eq!(basic("demo:de\0mo"), None);
        assert_eq!(
            Credentials::from_headers(None, Some(&"t".repeat(MAX_TOKEN_BYTES + 1))),
            None
        );
    }
}
