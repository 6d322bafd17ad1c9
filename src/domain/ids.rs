//! Ids of badges, groups and awards: 24 lower-case hex characters, as upstream.
//! The first four bytes are the creation second, so ids roughly follow time;
//! the other eight are random.

use rand::RngCore;

use super::Micros;

/// Whether `s` is a badge or group id: 24 lower-case hex characters.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
}
