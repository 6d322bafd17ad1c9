//! What a customer holds of the org's badges, badge by badge: all a list
//! call needs of the customer. It is kept as one row per customer
//! (`customer_states`), changed by every write in the transaction that writes
//! the awards or enrolments, so that a list call reads one row instead of the
//! customer's history. The awards and enrolments tables stay the source of
//! truth: [`Holdings::fold`] computes the same value from their rows, which is
//! what the rebuild, the verification and a reader that finds the row missing
//! or stale use.
//!
//! # The row's layout (version 1)
//! Integers are LEB128 varints (`u`), times zigzag-encoded first (`t`):
//! ```text
//! 0x01                      version
//! u  badges                 how many entries follow, by ascending badge id
//! per badge:
//!   u  len, len bytes       the badge id (UTF-8)
//!   u  earn_count           awards not revoked
//!   1 byte flags            1 latest award, 2 its expiry, 4 hold_until,
//!                           8 latest enrolment, 16 its expiry, 32 it is revoked
//!   [t awarded_at, t event_at, [t expires_at], t seq]   with flag 1
//!   [t hold_until]                                      with flag 4
//!   [t issued_at, [t expires_at], t seq]                with flag 8
//! ```
//! A badge whose state is the default (nothing held, never enrolled) has no
//! entry. A reader that meets another version refolds from the tables.

use std::collections::BTreeMap;

use super::Micros;
use super::catalogue::{
    AwardRow, BadgeState, Catalogue, CustomerState, EnrolmentRow, LatestAwardRow, LatestEnrolment,
};

/// The version of the layout [`Holdings::encode`] writes.
pub const LAYOUT: u8 = 1;

/// Per badge id, what the customer has of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holdings(BTreeMap<String, BadgeState>);

/// One write's effect on one customer's badges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// An award recorded, not revoked (earn, earnBulk, import).
    Earned(AwardRow),
    /// An enrolment recorded (enrol), revoked or not.
    Enrolled(EnrolmentRow),
    /// Enrolments of the badge revoked, by row id.
    EnrolmentsRevoked { badge_id: String, seqs: Vec<i64> },
    /// An award of the badge revoked; `remaining` are the customer's awards
    /// of it that are still not revoked, read in the same transaction (the
    /// next latest award and expiry are among them, not in the state).
    AwardRevoked {
        badge_id: String,
        remaining: Vec<AwardRow>,
    },
}

/// A row that does not read as a known layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undecodable(pub &'static str);

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "customer state row: {}", self.0)
    }
}

impl Holdings {
    /// The customer's holdings computed from their rows: every award not
    /// revoked and every enrolment.
    pub fn fold(rows: &CustomerState) -> Self {
        let mut badges: BTreeMap<String, BadgeState> = BTreeMap::new();
        for a in &rows.awards {
            badge_entry(&mut badges, &a.badge_id).add_award(a);
        }
        for e in &rows.enrolments {
            badge_entry(&mut badges, &e.badge_id).add_enrolment(e);
        }
        Holdings(badges)
    }

    /// Applies one write. Applied in commit order, the changes give what
    /// [`Holdings::fold`] gives from the tables after them.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Earned(a) => badge_entry(&mut self.0, &a.badge_id).add_award(a),
            Change::Enrolled(e) => badge_entry(&mut self.0, &e.badge_id).add_enrolment(e),
            Change::EnrolmentsRevoked { badge_id, seqs } => {
                if let Some(l) = self
                    .0
                    .get_mut(badge_id)
                    .and_then(|s| s.latest_enrolment.as_mut())
                    .filter(|l| seqs.contains(&l.seq))
                {
                    l.revoked = true;
                }
            }
            Change::AwardRevoked {
                badge_id,
                remaining,
            } => {
                let enrolment = self.0.get(badge_id).and_then(|s| s.latest_enrolment);
                let mut state = BadgeState {
                    latest_enrolment: enrolment,
                    ..BadgeState::default()
                };
                remaining
                    .iter()
                    .filter(|a| a.badge_id == *badge_id)
                    .for_each(|a| state.add_award(a));
                if state == BadgeState::default() {
                    self.0.remove(badge_id);
                } else {
                    self.0.insert(badge_id.clone(), state);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Per badge id, the state.
    pub fn badges(&self) -> impl Iterator<Item = (&str, &BadgeState)> {
        self.0.iter().map(|(id, s)| (id.as_str(), s))
    }

    /// What the customer has of the badge `id`.
    pub fn of(&self, id: &str) -> BadgeState {
        self.0.get(id).copied().unwrap_or_default()
    }

    /// Per catalogue position, what the customer has of that badge; sorted
    /// by position. Badges no longer in the catalogue are left out.
    pub fn by_position(&self, catalogue: &Catalogue) -> Vec<(u32, BadgeState)> {
        let mut sorted: Vec<(u32, BadgeState)> = self
            .0
            .iter()
            .filter_map(|(id, s)| catalogue.position(id).map(|pos| (pos, *s)))
            .collect();
        sorted.sort_unstable_by_key(|(pos, _)| *pos);
        sorted
    }

    /// The row's bytes, in the layout of this module's documentation.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.0.len() * 64);
        out.push(LAYOUT);
        put_u(&mut out, self.0.len() as u64);
        for (id, s) in &self.0 {
            put_u(&mut out, id.len() as u64);
            out.extend_from_slice(id.as_bytes());
            put_u(&mut out, s.earn_count.max(0) as u64);
            let award = s.latest_award;
            let enrolment = s.latest_enrolment;
            let mut flags = 0u8;
            if let Some(a) = award {
                flags |= 1 | if a.expires_at.is_some() { 2 } else { 0 };
            }
            if s.hold_until.is_some() {
                flags |= 4;
            }
            if let Some(e) = enrolment {
                flags |= 8
                    | if e.expires_at.is_some() { 16 } else { 0 }
                    | if e.revoked { 32 } else { 0 };
            }
            out.push(flags);
            if let Some(a) = award {
                put_t(&mut out, a.awarded_at.0);
                put_t(&mut out, a.event_at.0);
                if let Some(x) = a.expires_at {
                    put_t(&mut out, x.0);
                }
                put_t(&mut out, a.seq);
            }
            if let Some(h) = s.hold_until {
                put_t(&mut out, h.0);
            }
            if let Some(e) = enrolment {
                put_t(&mut out, e.issued_at.0);
                if let Some(x) = e.expires_at {
                    put_t(&mut out, x.0);
                }
                put_t(&mut out, e.seq);
            }
        }
        out
    }

    /// Reads a row written by [`Holdings::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Undecodable> {
        let mut r = Reader(bytes);
        if r.byte()? != LAYOUT {
            return Err(Undecodable("unknown layout version"));
        }
        let n = r.u()?;
        let mut badges = BTreeMap::new();
        for _ in 0..n {
            let len = usize::try_from(r.u()?).map_err(|_| Undecodable("badge id too long"))?;
            let id = std::str::from_utf8(r.take(len)?)
                .map_err(|_| Undecodable("badge id not UTF-8"))?
                .to_owned();
            let earn_count =
                i64::try_from(r.u()?).map_err(|_| Undecodable("earn count out of range"))?;
            let flags = r.byte()?;
            if flags & !63 != 0 {
                return Err(Undecodable("unknown flags"));
            }
            let latest_award = if flags & 1 != 0 {
                let awarded_at = Micros(r.t()?);
                let event_at = Micros(r.t()?);
                let expires_at = if flags & 2 != 0 {
                    Some(Micros(r.t()?))
                } else {
                    None
                };
                Some(LatestAwardRow {
                    awarded_at,
                    event_at,
                    expires_at,
                    seq: r.t()?,
                })
            } else {
                None
            };
            let hold_until = if flags & 4 != 0 {
                Some(Micros(r.t()?))
            } else {
                None
            };
            let latest_enrolment = if flags & 8 != 0 {
                let issued_at = Micros(r.t()?);
                let expires_at = if flags & 16 != 0 {
                    Some(Micros(r.t()?))
                } else {
                    None
                };
                Some(LatestEnrolment {
                    issued_at,
                    expires_at,
                    revoked: flags & 32 != 0,
                    seq: r.t()?,
                })
            } else {
                None
            };
            let state = BadgeState {
                earn_count,
                latest_award,
                hold_until,
                latest_enrolment,
            };
            badges.insert(id, state);
        }
        if !r.0.is_empty() {
            return Err(Undecodable("trailing bytes"));
        }
        Ok(Holdings(badges))
    }
}

fn badge_entry<'a>(badges: &'a mut BTreeMap<String, BadgeState>, id: &str) -> &'a mut BadgeState {
    if !badges.contains_key(id) {
        badges.insert(id.to_owned(), BadgeState::default());
    }
    badges.get_mut(id).expect("inserted above")
}

fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_t(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Undecodable> {
        let (&b, rest) = self.0.split_first().ok_or(Undecodable("truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Undecodable> {
        if self.0.len() < n {
            return Err(Undecodable("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u(&mut self) -> Result<u64, Undecodable> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Undecodable("varint too long"))
    }

    fn t(&mut self) -> Result<i64, Undecodable> {
        let u = self.u()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One write, as the tables see it.
    #[derive(Clone, Debug)]
    enum Op {
        Earn {
            badge: u8,
            at: i64,
            event: i64,
            expires: Option<i64>,
        },
        Enrol {
            badge: u8,
            at: i64,
            expires: Option<i64>,
            revoked: bool,
        },
        /// Revokes the enrolments of the badge not revoked yet (one of them,
        /// the `nth`, when `one`).
        RevokeEnrolments { badge: u8, one: bool, nth: usize },
        /// Revokes the `nth` of the badge's awards not revoked yet.
        RevokeAward { badge: u8, nth: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few badges and times, so that ties of time and revocations of the
        // latest row happen often.
        let time = 0i64..5;
        let expiry = prop::option::of(0i64..8);
        prop_oneof![
            3 => (0u8..3, time.clone(), time.clone(), expiry.clone())
                .prop_map(|(badge, at, event, expires)| Op::Earn { badge, at, event, expires }),
            2 => (0u8..3, time, expiry, any::<bool>())
                .prop_map(|(badge, at, expires, revoked)| Op::Enrol { badge, at, expires, revoked }),
            1 => (0u8..3, any::<bool>(), 0usize..4)
                .prop_map(|(badge, one, nth)| Op::RevokeEnrolments { badge, one, nth }),
            2 => (0u8..3, 0usize..4).prop_map(|(badge, nth)| Op::RevokeAward { badge, nth }),
        ]
    }

    /// The tables: every award (with whether it is revoked) and enrolment.
    #[derive(Default)]
    struct Tables {
        awards: Vec<(AwardRow, bool)>,
        enrolments: Vec<EnrolmentRow>,
        next_id: i64,
    }

    impl Tables {
        fn rows(&self) -> CustomerState {
            CustomerState {
                awards: self
                    .awards
                    .iter()
                    .filter(|(_, revoked)| !revoked)
                    .map(|(a, _)| a.clone())
                    .collect(),
                enrolments: self.enrolments.clone(),
            }
        }

        /// Writes `op` to the tables; the change a write would fold.
        fn write(&mut self, op: &Op) -> Option<Change> {
            self.next_id += 1;
            let seq = self.next_id;
            let id = |b: u8| format!("badge-{b}");
            match *op {
                Op::Earn {
                    badge,
                    at,
                    event,
                    expires,
                } => {
                    let a = AwardRow {
                        seq,
                        badge_id: id(badge),
                        awarded_at: Micros(at),
                        event_at: Micros(event),
                        expires_at: expires.map(Micros),
                    };
                    self.awards.push((a.clone(), false));
                    Some(Change::Earned(a))
                }
                Op::Enrol {
                    badge,
                    at,
                    expires,
                    revoked,
                } => {
                    let e = EnrolmentRow {
                        seq,
                        badge_id: id(badge),
                        issued_at: Micros(at),
                        expires_at: expires.map(Micros),
                        revoked,
                    };
                    self.enrolments.push(e.clone());
                    Some(Change::Enrolled(e))
                }
                Op::RevokeEnrolments { badge, one, nth } => {
                    let live: Vec<usize> = (0..self.enrolments.len())
                        .filter(|&i| {
                            self.enrolments[i].badge_id == id(badge) && !self.enrolments[i].revoked
                        })
                        .collect();
                    let chosen: Vec<usize> = match (one, live.get(nth)) {
                        (true, Some(&i)) => vec![i],
                        (true, None) => return None,
                        (false, _) => live,
                    };
                    let seqs = chosen
                        .into_iter()
                        .map(|i| {
                            self.enrolments[i].revoked = true;
                            self.enrolments[i].seq
                        })
                        .collect();
                    Some(Change::EnrolmentsRevoked {
                        badge_id: id(badge),
                        seqs,
                    })
                }
                Op::RevokeAward { badge, nth } => {
                    let i = (0..self.awards.len())
                        .filter(|&i| self.awards[i].0.badge_id == id(badge) && !self.awards[i].1)
                        .nth(nth)?;
                    self.awards[i].1 = true;
                    Some(Change::AwardRevoked {
                        badge_id: id(badge),
                        remaining: self
                            .rows()
                            .awards
                            .into_iter()
                            .filter(|a| a.badge_id == id(badge))
                            .collect(),
                    })
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// For random histories of earns, enrolments, revocations of either
        /// (imports are earns), the state kept by applying each write equals
        /// the state folded from the tables after it, and reads back from
        /// its bytes unchanged.
        #[test]
        fn the_kept_state_is_the_fold_of_the_tables(ops in prop::collection::vec(op(), 0..40)) {
            let mut tables = Tables::default();
            let mut kept = Holdings::default();
            for op in &ops {
                if let Some(change) = tables.write(op) {
                    kept.apply(&change);
                }
                let folded = Holdings::fold(&tables.rows());
                prop_assert_eq!(&kept, &folded, "after {:?}", op);
                prop_assert_eq!(Holdings::decode(&kept.encode()), Ok(kept.clone()));
            }
        }

        /// No bytes make the decoder panic; what it accepts re-encodes to
        /// the same bytes.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(h) = Holdings::decode(&bytes) {
                prop_assert_eq!(Holdings::decode(&h.encode()), Ok(h));
            }
        }
    }

    #[test]
    fn the_layout_is_as_documented() {
        let mut h = Holdings::default();
        h.apply(&Change::Earned(AwardRow {
            seq: 1,
            badge_id: "b".into(),
            awarded_at: Micros(2),
            event_at: Micros(-1),
            expires_at: None,
        }));
        // version, 1 badge, "b", count 1, flags (award, hold_until),
        // awarded 2, event -1, seq 1, hold_until NEVER (i64::MAX zigzagged).
        let mut want = vec![1, 1, 1, b'b', 1, 1 | 4, 4, 1, 2];
        want.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(h.encode(), want);
        assert_eq!(
            Holdings::decode(&[2, 0]),
            Err(Undecodable("unknown layout version"))
        );
        assert_eq!(Holdings::decode(&[1, 1]), Err(Undecodable("truncated")));
        assert_eq!(
            Holdings::decode(&[1, 0, 0]),
            Err(Undecodable("trailing bytes"))
        );
    }
}
