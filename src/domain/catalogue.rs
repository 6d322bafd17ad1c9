//! An org's catalogue as the list call reads it, in two parts: the index,
//! every badge with what filtering, sorting, counting and paging need, kept
//! in memory per org and versioned; and the badges' rows (`Badge`), what only
//! a page shows, kept apart and fetched for a page's badges only
//! (`crate::catalogue`). A customer's own state, their awards and
//! enrolments, is read per call and joined to the index here.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Micros;
use super::badge::{Badge, Claim, Extras, Image, Tag};
use super::enums::{EarnType, Owner};
use super::ids::ObjectId;
use super::time::NEVER;

/// What the index holds of one badge, as the store reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedBadge {
    pub id: String,
    pub earn_type: EarnType,
    pub active: bool,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub last_updated_on: Micros,
    pub group_id: Option<String>,
    /// The name lower-cased (Unicode-aware), for the substring filter.
    pub name_lower: String,
    pub owners: OwnerSet,
    pub active_claims: OwnerSet,
    pub rank: Option<i32>,
}

/// What the index holds of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedGroup {
    pub name: String,
    pub rank: i32,
}

impl IndexedBadge {
    /// What the index holds of `badge`.
    pub fn of(badge: &Badge) -> Self {
        IndexedBadge {
            id: badge.id.clone(),
            earn_type: badge.earn_type,
            active: badge.active,
            starts_on: badge.starts_on,
            expires_on: badge.expires_on,
            last_updated_on: badge.last_updated_on,
            group_id: badge.group_id.clone(),
            name_lower: badge.name.to_lowercase(),
            owners: OwnerSet::of(badge.owners.iter().copied()),
            active_claims: OwnerSet::of(
                badge
                    .claims
                    .iter()
                    .filter(|c| c.is_active)
                    .map(|c| c.owner_type),
            ),
            rank: badge.rank,
        }
    }
}

/// A set of owners as bits, for filters that test membership per badge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerSet(pub(crate) u16);

impl OwnerSet {
    pub fn of(owners: impl IntoIterator<Item = Owner>) -> Self {
        OwnerSet(owners.into_iter().fold(0, |bits, o| bits | 1 << (o as u16)))
    }

    /// This set with `owner` in it.
    pub fn with(self, owner: Owner) -> Self {
        OwnerSet(self.0 | 1 << (owner as u16))
    }

    pub fn meets(self, other: OwnerSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// No group.
const NO_GROUP: u32 = u32::MAX;

/// One badge of the index: what filtering, sorting, counting and paging
/// need, in a few dozen bytes. What only a page's rows show (texts, images,
/// owner and claim lists) is not here: see [`crate::domain::badge::Badge`]
/// and the row cache (`crate::catalogue`).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub id: ObjectId,
    pub starts_on: Micros,
    pub expires_on: Micros,
    /// Moves with every change to the badge: the version of its row.
    pub last_updated_on: Micros,
    /// Index into the catalogue's groups, or `NO_GROUP`.
    group: u32,
    /// Where its folded name lies in the catalogue's `names`.
    name: (u32, u32),
    pub owners: OwnerSet,
    pub active_claims: OwnerSet,
    pub earn_type: EarnType,
    pub active: bool,
    pub rank: Option<i32>,
}

/// The index of one org's badges, at one version of its catalogue.
#[derive(Clone, Debug)]
pub struct Catalogue {
    org_id: i32,
    version: i64,
    /// Sorted by id.
    entries: Vec<Entry>,
    /// Every group a badge is in: its id and, when the org has it, its name
    /// and rank.
    groups: Vec<(String, Option<IndexedGroup>)>,
    /// The badges' folded names, one after another.
    names: String,
    bytes: usize,
    /// Each position's place in the rank order (see
    /// [`Catalogue::rank_order`]), computed once, by the first call that
    /// sorts by rank.
    rank_order: OnceLock<Vec<u32>>,
}

impl Catalogue {
    /// The index of `badges`, whose groups are `org_groups` (by id). An id
    /// that is not an object id is corrupt data.
    pub fn new(
        org_id: i32,
        version: i64,
        mut badges: Vec<IndexedBadge>,
        org_groups: &HashMap<String, IndexedGroup>,
    ) -> Result<Self, String> {
        badges.sort_by(|a, b| a.id.cmp(&b.id));
        let mut groups: Vec<(String, Option<IndexedGroup>)> = Vec::new();
        let mut group_of: HashMap<String, u32> = HashMap::new();
        let mut names = String::with_capacity(badges.iter().map(|b| b.name_lower.len()).sum());
        let mut entries = Vec::with_capacity(badges.len());
        for b in badges {
            let id = ObjectId::parse(&b.id).ok_or_else(|| format!("badge id {:?}", b.id))?;
            let group = match b.group_id {
                None => NO_GROUP,
                Some(g) => *group_of.entry(g.clone()).or_insert_with(|| {
                    let group = org_groups.get(&g).cloned();
                    groups.push((g, group));
                    (groups.len() - 1) as u32
                }),
            };
            let start = names.len() as u32;
            names.push_str(&b.name_lower);
            entries.push(Entry {
                id,
                starts_on: b.starts_on,
                expires_on: b.expires_on,
                last_updated_on: b.last_updated_on,
                group,
                name: (start, b.name_lower.len() as u32),
                owners: b.owners,
                active_claims: b.active_claims,
                earn_type: b.earn_type,
                active: b.active,
                rank: b.rank,
            });
        }
        Ok(Catalogue::assemble(org_id, version, entries, groups, names))
    }

    fn assemble(
        org_id: i32,
        version: i64,
        entries: Vec<Entry>,
        groups: Vec<(String, Option<IndexedGroup>)>,
        names: String,
    ) -> Self {
        let bytes = std::mem::size_of::<Catalogue>()
            + entries.len() * (std::mem::size_of::<Entry>() + std::mem::size_of::<u32>())
            + names.len()
            + groups
                .iter()
                .map(|(id, g)| 56 + id.len() + g.as_ref().map_or(0, |g| g.name.len()))
                .sum::<usize>();
        Catalogue {
            org_id,
            version,
            entries,
            groups,
            names,
            bytes,
            rank_order: OnceLock::new(),
        }
    }

    /// The place of the badge at `pos` in the rank order: the group's rank,
    /// then the badge's, ascending; grouped badges before ungrouped ones and
    /// ranked before unranked; then the badge id.
    pub(crate) fn rank_order(&self, pos: u32) -> u32 {
        let order = self.rank_order.get_or_init(|| {
            let mut by_rank: Vec<u32> = (0..self.entries.len() as u32).collect();
            by_rank.sort_by_key(|&pos| {
                let e = &self.entries[pos as usize];
                let group = self.group_rank(e);
                (group.is_none(), group, e.rank.is_none(), e.rank, e.id)
            });
            let mut order = vec![0; by_rank.len()];
            for (place, pos) in by_rank.into_iter().enumerate() {
                order[pos as usize] = place as u32;
            }
            order
        });
        order[pos as usize]
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

    /// The position of the badge `id`, when the org has it.
    pub(crate) fn position(&self, id: &str) -> Option<u32> {
        let id = ObjectId::parse(id)?;
        self.entries
            .binary_search_by(|e| e.id.cmp(&id))
            .ok()
            .map(|i| i as u32)
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn entry(&self, pos: u32) -> &Entry {
        &self.entries[pos as usize]
    }

    /// The badge's name, folded.
    pub(crate) fn name_lower(&self, e: &Entry) -> &str {
        let (start, len) = (e.name.0 as usize, e.name.1 as usize);
        &self.names[start..start + len]
    }

    /// The badge's group id.
    pub(crate) fn group_id(&self, e: &Entry) -> Option<&str> {
        self.groups.get(e.group as usize).map(|(id, _)| id.as_str())
    }

    /// The name of the badge's group.
    pub(crate) fn group_name(&self, e: &Entry) -> Option<&str> {
        self.groups
            .get(e.group as usize)
            .and_then(|(_, g)| g.as_ref())
            .map(|g| g.name.as_str())
    }

    /// The rank of the badge's group.
    pub(crate) fn group_rank(&self, e: &Entry) -> Option<i32> {
        self.groups
            .get(e.group as usize)
            .and_then(|(_, g)| g.as_ref())
            .map(|g| g.rank)
    }
}

/// The encoding [`Catalogue::encode`] writes and [`Catalogue::decode`] reads.
pub const SNAPSHOT_FORMAT: i32 = 2;

/// Bytes of one encoded entry.
const ENTRY_BYTES: usize = 59;

impl Catalogue {
    /// The index as bytes (format [`SNAPSHOT_FORMAT`], little-endian): the
    /// groups (id, whether the org has it, name, rank), the folded names,
    /// then each entry
    /// in [`ENTRY_BYTES`]. The org and version are kept beside it, not in it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.names.len() + self.entries.len() * ENTRY_BYTES);
        let text = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        out.extend_from_slice(&(self.groups.len() as u32).to_le_bytes());
        for (id, group) in &self.groups {
            text(&mut out, id);
            out.push(u8::from(group.is_some()));
            text(&mut out, group.as_ref().map_or("", |g| g.name.as_str()));
            out.extend_from_slice(&group.as_ref().map_or(0, |g| g.rank).to_le_bytes());
        }
        text(&mut out, &self.names);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.id.bytes());
            for t in [e.starts_on, e.expires_on, e.last_updated_on] {
                out.extend_from_slice(&t.0.to_le_bytes());
            }
            out.extend_from_slice(&e.group.to_le_bytes());
            out.extend_from_slice(&e.name.0.to_le_bytes());
            out.extend_from_slice(&e.name.1.to_le_bytes());
            out.extend_from_slice(&e.owners.0.to_le_bytes());
            out.extend_from_slice(&e.active_claims.0.to_le_bytes());
            out.push(match e.earn_type {
                EarnType::Earn => 0,
                EarnType::IssueEarn => 1,
            });
            out.push(u8::from(e.active));
            out.push(u8::from(e.rank.is_some()));
            out.extend_from_slice(&e.rank.unwrap_or_default().to_le_bytes());
        }
        out
    }

    /// The index of org `org_id` at `version` that `data` encodes, or why it
    /// cannot be (a snapshot that does not read is rebuilt, never trusted).
    pub fn decode(org_id: i32, version: i64, data: &[u8]) -> Result<Self, String> {
        let mut r = Reader(data);
        let groups = (0..r.u32()?)
            .map(|_| {
                let id = r.text()?;
                let known = r.u8()? == 1;
                let name = r.text()?;
                let rank = r.i32()?;
                Ok((id, known.then_some(IndexedGroup { name, rank })))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let names = r.text()?;
        let count = r.u32()? as usize;
        if count > r.0.len() / ENTRY_BYTES {
            return Err(format!("{count} entries in {} bytes", r.0.len()));
        }
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let id = ObjectId::from_bytes(r.take(12)?.try_into().map_err(|_| "id")?);
            let [starts_on, expires_on, last_updated_on] =
                [r.i64()?, r.i64()?, r.i64()?].map(Micros);
            let group = r.u32()?;
            let name = (r.u32()?, r.u32()?);
            let (owners, active_claims) = (OwnerSet(r.u16()?), OwnerSet(r.u16()?));
            let earn_type = match r.u8()? {
                0 => EarnType::Earn,
                1 => EarnType::IssueEarn,
                other => return Err(format!("earn type {other}")),
            };
            let active = r.u8()? == 1;
            let ranked = r.u8()? == 1;
            let rank = r.i32()?;
            let rank = ranked.then_some(rank);
            let end = name.0 as usize + name.1 as usize;
            if end > names.len()
                || !names.is_char_boundary(name.0 as usize)
                || !names.is_char_boundary(end)
            {
                return Err("a name outside the names".into());
            }
            if group != NO_GROUP && group as usize >= groups.len() {
                return Err(format!("group {group} of {}", groups.len()));
            }
            if entries.last().is_some_and(|p: &Entry| p.id >= id) {
                return Err("entries out of order".into());
            }
            entries.push(Entry {
                id,
                starts_on,
                expires_on,
                last_updated_on,
                group,
                name,
                owners,
                active_claims,
                earn_type,
                active,
                rank,
            });
        }
        if !r.0.is_empty() {
            return Err(format!("{} bytes past the end", r.0.len()));
        }
        Ok(Catalogue::assemble(org_id, version, entries, groups, names))
    }

    /// Every badge of the index as the store reads it, with their groups:
    /// what [`Catalogue::new`] takes, to build a changed index.
    pub fn indexed(&self) -> (Vec<IndexedBadge>, HashMap<String, IndexedGroup>) {
        let badges = self
            .entries
            .iter()
            .map(|e| IndexedBadge {
                id: e.id.to_string(),
                earn_type: e.earn_type,
                active: e.active,
                starts_on: e.starts_on,
                expires_on: e.expires_on,
                last_updated_on: e.last_updated_on,
                group_id: self.group_id(e).map(str::to_owned),
                name_lower: self.name_lower(e).to_owned(),
                owners: e.owners,
                active_claims: e.active_claims,
                rank: e.rank,
            })
            .collect();
        let groups = self
            .groups
            .iter()
            .filter_map(|(id, g)| Some((id.clone(), g.clone()?)))
            .collect();
        (badges, groups)
    }
}

/// Reads an encoded index, failing on a short read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("{n} bytes wanted, {} left", self.0.len()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().map_err(|_| "u16")?,
        ))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "u32")?,
        ))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "i32")?,
        ))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "i64")?,
        ))
    }

    fn text(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| e.to_string())
    }
}

/// About how many bytes the row of `badge` takes in a JSON answer (the
/// larger of the two wire forms): the fields' names and numbers, and its
/// texts.
pub fn answer_bytes(badge: &Badge, group_name: Option<&str>) -> usize {
    const ROW: usize = 640;
    const IMAGE: usize = 64;
    const OWNER: usize = 24;
    const CLAIM: usize = 64;
    ROW + badge.id.len()
        + badge.name.len()
        + badge.description.len()
        + badge.group_id.as_deref().map_or(0, str::len)
        + group_name.map_or(0, str::len)
        + badge
            .images
            .iter()
            .map(|i| IMAGE + i.name.len() + i.file_svc_handle.len() + i.url.len() + i.tag.len())
            .sum::<usize>()
        + badge.owners.len() * OWNER
        + badge
            .claims
            .iter()
            .map(|c| CLAIM + c.reference_id.len())
            .sum::<usize>()
}

/// Heap and inline bytes of a badge's row as the row cache holds it.
pub fn row_bytes(b: &Badge) -> usize {
    let opt = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    std::mem::size_of::<Badge>()
        + 64
        + b.id.len()
        + b.name.len()
        + b.description.len()
        + opt(&b.group_id)
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
        + extras_bytes(&b.extras)
}

/// What a badge's extras take in memory, about: tags and custom field
/// values by their texts, the JSON values kept as given at four times their
/// text (a `serde_json::Value` tree's nodes and maps), constraints by their
/// size with up to three windows.
fn extras_bytes(e: &Extras) -> usize {
    let json = |v: &[serde_json::Value]| {
        if v.is_empty() {
            0
        } else {
            4 * serde_json::to_vec(v).map_or(0, |t| t.len())
        }
    };
    e.tags
        .iter()
        .map(|t| std::mem::size_of::<Tag>() + t.name.len() + t.value.len())
        .sum::<usize>()
        + e.custom_fields
            .iter()
            .map(|(k, v)| 64 + k.len() + v.len())
            .sum::<usize>()
        + json(&e.benefits)
        + (e.customer_constraints.len() + e.badge_constraints.len())
            * (std::mem::size_of::<super::constraints::Constraint>()
                + 3 * std::mem::size_of::<super::constraints::Roll>())
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
    /// The award's row id: breaks ties of `awarded_at`.
    pub seq: i64,
}

/// The customer's latest enrolment in a badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatestEnrolment {
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
    /// The enrolment's row id: breaks ties of `issued_at`.
    pub seq: i64,
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

    /// Folds in one of the customer's awards of the badge that is not
    /// revoked. The result does not depend on the order awards are folded
    /// in: what a list call needs of a customer's badge is a function of the
    /// set of its rows, so it could be kept up to date by each write.
    pub fn add_award(&mut self, a: &AwardRow) {
        self.earn_count += 1;
        let hold = a.expires_at.unwrap_or(NEVER);
        self.hold_until = Some(self.hold_until.map_or(hold, |h| h.max(hold)));
        if self
            .latest_award
            .is_none_or(|l| (a.awarded_at, a.seq) > (l.awarded_at, l.seq))
        {
            self.latest_award = Some(LatestAwardRow {
                awarded_at: a.awarded_at,
                event_at: a.event_at,
                expires_at: a.expires_at,
                seq: a.seq,
            });
        }
    }

    /// Folds in one of the customer's enrolments in the badge (revoked or
    /// not); order-independent like [`BadgeState::add_award`].
    pub fn add_enrolment(&mut self, e: &EnrolmentRow) {
        if self
            .latest_enrolment
            .is_none_or(|l| (e.issued_at, e.seq) > (l.issued_at, l.seq))
        {
            self.latest_enrolment = Some(LatestEnrolment {
                issued_at: e.issued_at,
                expires_at: e.expires_at,
                revoked: e.revoked,
                seq: e.seq,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(i: u32, group: Option<&str>) -> IndexedBadge {
        IndexedBadge {
            id: format!("{i:024x}"),
            earn_type: if i.is_multiple_of(2) {
                EarnType::Earn
            } else {
                EarnType::IssueEarn
            },
            active: !i.is_multiple_of(3),
            starts_on: Micros(i64::from(i) * 1000),
            expires_on: Micros(i64::MAX - i64::from(i)),
            last_updated_on: Micros(-i64::from(i)),
            group_id: group.map(str::to_owned),
            name_lower: format!("bädge {i}"),
            owners: OwnerSet::of([Owner::Loyalty, Owner::Journeys]),
            active_claims: OwnerSet::of([Owner::Milestones]),
            rank: (i % 2 == 1).then_some(i as i32 - 2),
        }
    }

    #[test]
    fn an_index_round_trips_through_its_encoding() {
        let groups = HashMap::from([(
            "g1".to_owned(),
            IndexedGroup {
                name: "Group One".to_owned(),
                rank: -3,
            },
        )]);
        let index = Catalogue::new(
            7,
            42,
            vec![badge(3, Some("g1")), badge(1, None), badge(2, Some("g2"))],
            &groups,
        )
        .unwrap();
        let decoded = Catalogue::decode(7, 42, &index.encode()).unwrap();
        assert_eq!(decoded.indexed().0, index.indexed().0);
        assert_eq!(decoded.indexed().1, groups);
        assert_eq!(decoded.bytes(), index.bytes());
        let e = decoded.entry(decoded.position(&format!("{:024x}", 3)).unwrap());
        assert_eq!(decoded.group_name(e), Some("Group One"));
        assert_eq!((decoded.group_rank(e), e.rank), (Some(-3), Some(1)));
        assert_eq!(decoded.name_lower(e), "bädge 3");
    }

    #[test]
    fn a_snapshot_that_does_not_read_is_refused_not_trusted() {
        let index =
            Catalogue::new(1, 1, vec![badge(1, None), badge(2, None)], &HashMap::new()).unwrap();
        let data = index.encode();
        for cut in 0..data.len() {
            assert!(
                Catalogue::decode(1, 1, &data[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = data.clone();
        longer.push(0);
        assert!(Catalogue::decode(1, 1, &longer).is_err());
        // Every single-byte change either fails or decodes without panicking.
        for i in 0..data.len() {
            let mut bent = data.clone();
            bent[i] ^= 0xff;
            let _ = Catalogue::decode(1, 1, &bent);
        }
    }

    fn award_row() -> impl proptest::strategy::Strategy<Value = AwardRow> {
        use proptest::prelude::*;
        // Few distinct times and sequence numbers, so that ties happen.
        (0i64..6, 0i64..4, 0i64..4, prop::option::of(0i64..5)).prop_map(
            |(seq, awarded, event, expires)| AwardRow {
                seq,
                badge_id: "b".into(),
                awarded_at: Micros(awarded),
                event_at: Micros(event),
                expires_at: expires.map(Micros),
            },
        )
    }

    fn enrolment_row() -> impl proptest::strategy::Strategy<Value = EnrolmentRow> {
        use proptest::prelude::*;
        (0i64..6, 0i64..4, prop::option::of(0i64..5), any::<bool>()).prop_map(
            |(seq, issued, expires, revoked)| EnrolmentRow {
                seq,
                badge_id: "b".into(),
                issued_at: Micros(issued),
                expires_at: expires.map(Micros),
                revoked,
            },
        )
    }

    proptest::proptest! {
        /// What a customer's badge state holds is a function of the set of
        /// its rows: folded in any order, the rows give the same state (the
        /// ties of time broken by the order rows were recorded in).
        #[test]
        fn a_badge_s_state_does_not_depend_on_the_order_rows_are_folded_in(
            awards in proptest::collection::vec(award_row(), 0..8),
            enrolments in proptest::collection::vec(enrolment_row(), 0..6),
            rotation in 0usize..8,
        ) {
            // Sequence numbers are unique, as the tables' ids are.
            let mut awards = awards;
            for (i, a) in awards.iter_mut().enumerate() {
                a.seq = i as i64;
            }
            let mut enrolments = enrolments;
            for (i, e) in enrolments.iter_mut().enumerate() {
                e.seq = i as i64;
            }
            let fold = |awards: &[AwardRow], enrolments: &[EnrolmentRow]| {
                let mut s = BadgeState::default();
                awards.iter().for_each(|a| s.add_award(a));
                enrolments.iter().for_each(|e| s.add_enrolment(e));
                s
            };
            let forward = fold(&awards, &enrolments);
            let mut reversed = (awards.clone(), enrolments.clone());
            reversed.0.reverse();
            reversed.1.reverse();
            proptest::prop_assert_eq!(forward, fold(&reversed.0, &reversed.1));
            let mut rotated = (awards.clone(), enrolments.clone());
            if !rotated.0.is_empty() {
                let n = rotation % rotated.0.len();
                rotated.0.rotate_left(n);
            }
            if !rotated.1.is_empty() {
                let n = rotation % rotated.1.len();
                rotated.1.rotate_left(n);
            }
            proptest::prop_assert_eq!(forward, fold(&rotated.0, &rotated.1));
            proptest::prop_assert_eq!(forward.earn_count, awards.len() as i64);
        }
    }
}
