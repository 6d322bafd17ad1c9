//! Ids of badges, groups and awards: 24 lower-case hex characters, as upstream.
//! The first four bytes are the creation second, so ids roughly follow time;
//! the other eight are random.

use rand::RngCore;

use super::Micros;

/// Whether `s` is a badge or group id: 24 lower-case hex characters.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An object id in 12 bytes, as the in-memory catalogue keeps it. Its order
/// is the order of its hex spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId([u8; 12]);

impl ObjectId {
    /// The id spelled `s`, when `s` is an object id.
    pub fn parse(s: &str) -> Option<ObjectId> {
        if !is_object_id(s) {
            return None;
        }
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(s, &mut bytes).ok()?;
        Some(ObjectId(bytes))
    }
}

impl ObjectId {
    pub fn bytes(self) -> [u8; 12] {
        self.0
    }

    pub fn from_bytes(bytes: [u8; 12]) -> Self {
        ObjectId(bytes)
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut hex = [0u8; 24];
        // Infallible: the buffer is twice the bytes.
        hex::encode_to_slice(self.0, &mut hex).map_err(|_| std::fmt::Error)?;
        f.write_str(std::str::from_utf8(&hex).map_err(|_| std::fmt::Error)?)
    }
}

pub fn new_object_id(now: Micros) -> String {
    let mut bytes = [0u8; 12];
    let secs = now.seconds_nanos().0.clamp(0, i64::from(u32::MAX)) as u32;
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    rand::rng().fill_bytes(&mut bytes[4..]);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_object_ids_and_distinct() {
        let a = new_object_id(Micros(1_700_000_000_000_000));
        let b = new_object_id(Micros(1_700_000_000_000_000));
        assert!(is_object_id(&a), "{a}");
        assert!(a.starts_with("6553f100"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn object_ids_round_trip_and_order_as_their_spelling() {
        let (a, b) = ("00000000000000000000000a", "0000000000000000000000b1");
        let (x, y) = (ObjectId::parse(a).unwrap(), ObjectId::parse(b).unwrap());
        assert_eq!(x.to_string(), a);
        assert_eq!(x.cmp(&y), a.cmp(b));
        assert_eq!(ObjectId::parse("0000000000000000000000B1"), None);
        assert_eq!(ObjectId::parse("abc"), None);
    }
}
