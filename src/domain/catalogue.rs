//! An org's catalogue as the list call reads it: every badge with everything
//! a row shows. It changes only through the admin API and is kept in memory
//! (`crate::catalogue`), versioned; a customer's own state, their awards and
//! enrolments, is read per call and joined to it here.

use std::collections::HashMap;

use super::Micros;
use super::badge::{Badge, Claim, Image};
use super::enums::Owner;
use super::time::NEVER;

/// One badge of the catalogue: the badge, with the name of its group that
/// its rows show and the folded name its name filter tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueBadge {
    pub badge: Badge,
    pub group_name: Option<String>,
    /// `badge.name` lower-cased (Unicode-aware), for the substring filter.
    pub name_lower: String,
}

/// A set of owners as bits, for filters that test membership per badge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerSet(u16);

impl OwnerSet {
    pub fn of(owners: impl IntoIterator<Item = Owner>) -> Self {
        OwnerSet(owners.into_iter().fold(0, |bits, o| bits | 1 << (o as u16)))
    }

    pub fn meets(self, other: OwnerSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// A badge with what the filters test precomputed.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub badge: CatalogueBadge,
    pub owners: OwnerSet,
    pub active_claims: OwnerSet,
    /// About how many bytes its row takes in an answer.
    pub answer_bytes: u32,
}

/// Every badge of one org, at one version of its catalogue.
#[derive(Clone, Debug)]
pub struct Catalogue {
    org_id: i32,
    version: i64,
    /// Sorted by id.
    entries: Vec<Entry>,
    positions: HashMap<String, u32>,
    bytes: usize,
}

impl Catalogue {
    pub fn new(org_id: i32, version: i64, mut badges: Vec<CatalogueBadge>) -> Self {
        badges.sort_by(|a, b| a.badge.id.cmp(&b.badge.id));
        let bytes =
            std::mem::size_of::<Catalogue>() + badges.iter().map(approximate_bytes).sum::<usize>();
        let entries: Vec<Entry> = badges
            .into_iter()
            .map(|badge| Entry {
                answer_bytes: answer_bytes(&badge),
                owners: OwnerSet::of(badge.badge.owners.iter().copied()),
                active_claims: OwnerSet::of(
                    badge
                        .badge
                        .claims
                        .iter()
                        .filter(|c| c.is_active)
                        .map(|c| c.owner_type),
                ),
                badge,
            })
            .collect();
        let positions = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.badge.badge.id.clone(), i as u32))
            .collect();
        Catalogue {
            org_id,
            version,
            entries,
            positions,
            bytes,
        }
    }

    pub fn org_id(&self) -> i32 {
        self.org_id
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What it takes in memory, roughly: the budget of the cache counts this.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn badge(&self, id: &str) -> Option<&CatalogueBadge> {
        self.position(id).map(|i| &self.entries[i as usize].badge)
    }

    pub(crate) fn position(&self, id: &str) -> Option<u32> {
        self.positions.get(id).copied()
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// About how many bytes the badge's row takes in a JSON answer (the larger
/// of the two wire forms): the fields' names and numbers, and its texts.
fn answer_bytes(entry: &CatalogueBadge) -> u32 {
    let b = &entry.badge;
    const ROW: usize = 640;
    const IMAGE: usize = 64;
    const OWNER: usize = 24;
    const CLAIM: usize = 64;
    let opt = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    let bytes = ROW
        + b.id.len()
        + b.name.len()
        + b.description.len()
        + opt(&b.group_id)
        + opt(&entry.group_name)
        + b.images
            .iter()
            .map(|i| IMAGE + i.name.len() + i.file_svc_handle.len() + i.url.len() + i.tag.len())
            .sum::<usize>()
        + b.owners.len() * OWNER
        + b.claims
            .iter()
            .map(|c| CLAIM + c.reference_id.len())
            .sum::<usize>();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Heap and inline bytes of one badge, with the index entry that finds it.
fn approximate_bytes(entry: &CatalogueBadge) -> usize {
    let b = &entry.badge;
    let text = |s: &str| s.len();
    let opt = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    std::mem::size_of::<Entry>()
        + 2 * b.id.len()
        + std::mem::size_of::<(String, u32)>()
        + text(&b.name)
        + text(&entry.name_lower)
        + text(&b.description)
        + opt(&b.group_id)
        + opt(&entry.group_name)
        + b.images
            .iter()
            .map(|i| {
                std::mem::size_of::<Image>()
                    + i.name.len()
                    + i.file_svc_handle.len()
                    + i.url.len()
                    + i.tag.len()
            })
            .sum::<usize>()
        + b.owners.len() * std::mem::size_of::<Owner>()
        + b.claims
            .iter()
            .map(|c| std::mem::size_of::<Claim>() + c.reference_id.len())
            .sum::<usize>()
}

/// One of the customer's awards that is not revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwardRow {
    /// The order awards were recorded in: breaks ties of `awarded_at`.
    pub seq: i64,
    pub badge_id: String,
    pub awarded_at: Micros,
    pub event_at: Micros,
    pub expires_at: Option<Micros>,
}

/// One of the customer's enrolments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentRow {
    /// The order enrolments were recorded in: breaks ties of `issued_at`.
    pub seq: i64,
    pub badge_id: String,
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
}

/// What one customer has of the org's badges: read per call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerState {
    pub awards: Vec<AwardRow>,
    pub enrolments: Vec<EnrolmentRow>,
}

/// The customer's latest award of a badge: the non-revoked one awarded last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatestAwardRow {
    pub awarded_at: Micros,
    pub event_at: Micros,
    pub expires_at: Option<Micros>,
    seq: i64,
}

/// The customer's latest enrolment in a badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatestEnrolment {
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
    seq: i64,
}

/// What the customer has of one badge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BadgeState {
    /// Awards that are not revoked (expired ones count).
    pub earn_count: i64,
    pub latest_award: Option<LatestAwardRow>,
    /// The last instant any non-revoked award lasts to (`NEVER` when one never
    /// expires); the customer holds the badge before it.
    pub hold_until: Option<Micros>,
    pub latest_enrolment: Option<LatestEnrolment>,
}

impl BadgeState {
    pub fn holds(&self, now: Micros) -> bool {
        self.hold_until.is_some_and(|h| h > now)
    }

    /// Held once, held no more (its awards have all expired).
    pub fn held_once(&self, now: Micros) -> bool {
        self.hold_until.is_some_and(|h| h <= now)
    }
}

impl CustomerState {
    /// Per catalogue position, what the customer has of that badge; sorted by
    /// position. Rows of badges not in the catalogue are ignored.
    pub(crate) fn by_position(&self, catalogue: &Catalogue) -> Vec<(u32, BadgeState)> {
        let mut states: HashMap<u32, BadgeState> = HashMap::new();
        for a in &self.awards {
            let Some(pos) = catalogue.position(&a.badge_id) else {
                continue;
            };
            let s = states.entry(pos).or_default();
            s.earn_count += 1;
            let hold = a.expires_at.unwrap_or(NEVER);
            s.hold_until = Some(s.hold_until.map_or(hold, |h| h.max(hold)));
            let candidate = LatestAwardRow {
                awarded_at: a.awarded_at,
                event_at: a.event_at,
                expires_at: a.expires_at,
                seq: a.seq,
            };
            if s.latest_award
                .is_none_or(|l| (a.awarded_at, a.seq) > (l.awarded_at, l.seq))
            {
                s.latest_award = Some(candidate);
            }
        }
        for e in &self.enrolments {
            let Some(pos) = catalogue.position(&e.badge_id) else {
                continue;
            };
            let s = states.entry(pos).or_default();
            if s.latest_enrolment
                .is_none_or(|l| (e.issued_at, e.seq) > (l.issued_at, l.seq))
            {
                s.latest_enrolment = Some(LatestEnrolment {
                    issued_at: e.issued_at,
                    expires_at: e.expires_at,
                    revoked: e.revoked,
                    seq: e.seq,
                });
            }
        }
        let mut sorted: Vec<(u32, BadgeState)> = states.into_iter().collect();
        sorted.sort_unstable_by_key(|(pos, _)| *pos);
        sorted
    }

    /// What the customer has of the badge `id`.
    pub fn of_badge(&self, catalogue: &Catalogue, id: &str) -> BadgeState {
        let Some(pos) = catalogue.position(id) else {
            return BadgeState::default();
        };
        self.by_position(catalogue)
            .into_iter()
            .find(|(p, _)| *p == pos)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }
}
