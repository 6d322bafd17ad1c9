//! The requestId a write may carry: the first call with it is written and its
//! answer kept with the id; a retry with the same body gets that answer, and a
//! call that reuses the id for another body gets 809.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::domain::principal::Principal;
use crate::domain::{Micros, Problem};
use crate::error::{Error, Result};
use crate::store::{Claimed, RequestKey, Store, Tx};

/// SHA-256 hex of a command's canonical JSON.
fn fingerprint<T: Serialize>(command: &T) -> Result<String> {
    let json = serde_json::to_vec(command).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(json)))
}

/// How a write that may carry a requestId starts.
pub(super) enum Begun<'s, 'r, T> {
    /// A transaction of this call's own, with the key it claimed, whose
    /// answer [`commit`] keeps.
    Fresh(Tx<'s>, Option<RequestKey<'r>>),
    /// A previous call with the same requestId and body answered this.
    Replay(T),
}

/// Begins a write of `kind`: with a requestId, claims it for `command`'s
/// fingerprint, or answers what the call that claimed it answered, or 809
/// when that call's body differed.
pub(super) async fn begin<'s, 'r, T: DeserializeOwned, C: Serialize>(
    store: &'s Store,
    p: &Principal,
    kind: &'static str,
    request_id: Option<&'r str>,
    command: &C,
    now: Micros,
) -> Result<Begun<'s, 'r, T>> {
    let Some(request_id) = request_id else {
        return Ok(Begun::Fresh(store.begin(p).await?, None));
    };
    let key = RequestKey {
        kind,
        request_id,
        fingerprint: fingerprint(command)?,
    };
    match store.begin_claiming(p, &key, now).await? {
        Claimed::Fresh(tx) => Ok(Begun::Fresh(tx, Some(key))),
        Claimed::Taken {
            fingerprint,
            answer,
        } => {
            if fingerprint != key.fingerprint {
                return Err(Error::Conflict(vec![Problem::request_id_reused()]));
            }
            let answer = serde_json::from_str(&answer)
                .map_err(|e| Error::Internal(format!("stored answer: {e}")))?;
            Ok(Begun::Replay(answer))
        }
    }
}

/// Keeps `answer` with the claimed key (when there is one) and commits.
pub(super) async fn commit<T: Serialize>(
    tx: Tx<'_>,
    key: Option<RequestKey<'_>>,
    answer: &T,
) -> Result<()> {
    if let Some(key) = key {
        let json = serde_json::to_string(answer).map_err(|e| Error::Internal(e.to_string()))?;
        tx.store_answer(&key, json).await?;
    }
    tx.commit().await
}
