//! Keyset paging: an opaque page token that carries where the previous page
//! ended (its last row's sort key and id), so any page costs what the first
//! does. The token also carries a fingerprint of the query it belongs to; a
//! token presented with other filters or another sort is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a page ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Zero-based number of the page that follows.
    #[serde(rename = "p")]
    pub page: i64,
    /// The last row's sort key (`None`: it had none).
    #[serde(rename = "k")]
    pub key: Option<i64>,
    /// The last row's badge id.
    #[serde(rename = "i")]
    pub id: String,
    /// Fingerprint of the query the token belongs to.
    #[serde(rename = "q")]
    pub query: String,
}

/// Keyset paging as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keyset {
    /// An empty token: the first page, in keyset mode.
    First,
    /// The page after `Cursor`.
    After(Cursor),
}

/// The deepest page a token may name: a page number fits the answer's
/// 32-bit field, and the next one still does.
pub const MAX_PAGE: i64 = i32::MAX as i64 - 1;

/// Longest accepted token.
pub const MAX_TOKEN_BYTES: usize = 512;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
        // Tokens are not signed: range-check what a forged one could carry.
        ((1..=MAX_PAGE).contains(&cursor.page) && super::ids::is_object_id(&cursor.id))
            .then_some(cursor)
    }
}

/// A short fingerprint of a query's filters and sort.
pub fn fingerprint(canonical: &str) -> String {
    hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let c = Cursor {
            page: 3,
            key: Some(-5),
            id: "0000000000000000000000b1".into(),
            query: fingerprint("x"),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c.clone()));
        assert_eq!(Cursor::decode("not a token"), None);
        assert_eq!(Cursor::decode(&"A".repeat(600)), None);
        let zero = Cursor {
            page: 0,
            ..c.clone()
        };
        assert_eq!(
            Cursor::decode(&zero.encode()),
            None,
            "page 0 is the empty token"
        );
        for page in [i64::MAX, MAX_PAGE + 1, -1] {
            let forged = Cursor { page, ..c.clone() };
            assert_eq!(Cursor::decode(&forged.encode()), None, "page {page}");
        }
        let nul = Cursor {
            id: "\0".into(),
            ..c
        };
        assert_eq!(Cursor::decode(&nul.encode()), None, "ids are badge ids");
    }
}
