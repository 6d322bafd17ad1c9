//! `getFixedWindowDetails` (BEHAVIOUR.md §11, `upstream-badges.md` §17): a
//! badge's fixed-window cycles, for the badge's own constraint, a customer's,
//! or both, in time order and paged, each with its awards counted on request.
//! The cycles are computed, not stored: they follow one another from the
//! badge's start to its expiry.

use super::badge::Badge;
use super::constraints::{self, CycleSpan, Kind, Level, Span};
use super::enums::SortOrder;
use super::fields::Field;
use super::list::is_object_id;
use super::org_list::Paging;
use super::{Micros, Problem};

/// Which constraints' cycles a call lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Badge,
    Customer,
    All,
}

impl Which {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "BADGE" => Some(Which::Badge),
            "CUSTOMER" => Some(Which::Customer),
            "ALL" => Some(Which::All),
            _ => None,
        }
    }

    fn levels(self) -> &'static [Level] {
        match self {
            Which::Badge => &[Level::Badge],
            Which::Customer => &[Level::Customer],
            Which::All => &[Level::Badge, Level::Customer],
        }
    }
}

/// The call as a transport read it.
#[derive(Clone, Debug)]
pub struct FixedWindowParams {
    pub badge_id: Option<String>,
    pub which: Field<Option<Which>>,
    pub customer_id: Field<Option<i64>>,
    pub cycle_reference: Option<String>,
    pub include_earn_count: Field<bool>,
    pub start: Field<Option<Micros>>,
    pub end: Field<Option<Micros>>,
    pub paging: Result<Paging, Vec<Problem>>,
}

/// A cycle named by its reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleRef {
    pub badge_id: String,
    pub level: Level,
    pub number: i64,
}

/// The call, checked.
#[derive(Clone, Debug)]
pub struct FixedWindowQuery {
    pub badge_id: String,
    pub which: Which,
    pub customer_id: Option<i64>,
    pub cycle: Option<CycleRef>,
    pub include_earn_count: bool,
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub paging: Paging,
}

/// Every problem of the call at once.
pub fn validate(p: FixedWindowParams) -> Result<FixedWindowQuery, Vec<Problem>> {
    fn take<T>(f: Field<T>, problems: &mut Vec<Problem>) -> Option<T> {
        f.map_err(|e| problems.push(e)).ok()
    }
    let mut problems = Vec::new();
    let which = take(p.which, &mut problems).flatten();
    let customer_id = take(p.customer_id, &mut problems).flatten();
    let include_earn_count = take(p.include_earn_count, &mut problems);
    let start = take(p.start, &mut problems).flatten();
    let end = take(p.end, &mut problems).flatten();
    let paging = p.paging.map_err(|e| problems.extend(e)).ok();
    let which = which.unwrap_or(Which::All);
    let badge_id = match p.badge_id {
        Some(id) if is_object_id(&id) => Some(id),
        Some(_) => {
            problems.push(Problem::invalid(
                "badgeMetaId",
                "badgeMetaId must be 24 lower-case hex characters",
            ));
            None
        }
        None => {
            problems.push(Problem::invalid("badgeMetaId", "badgeMetaId is required"));
            None
        }
    };
    let cycle = match &p.cycle_reference {
        None => None,
        Some(r) => {
            let parsed = parse_reference(r);
            if parsed.is_none() {
                problems.push(Problem::invalid(
                    "fixedWindowCycleReferenceId",
                    "fixedWindowCycleReferenceId must be a reference this call answered \
                     (badge id, BADGE or CUSTOMER, cycle number)",
                ));
            }
            parsed
        }
    };
    if include_earn_count == Some(true) && which != Which::Badge && customer_id.is_none() {
        problems.push(Problem::invalid(
            "customerId",
            "customerId is required to count a customer's earns (constraintType CUSTOMER or ALL)",
        ));
    }
    if customer_id.is_some_and(|c| c < 1) {
        problems.push(Problem::invalid(
            "customerId",
            "customerId must be 1 or more",
        ));
    }
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        problems.push(Problem::invalid(
            "endDate",
            "endDate must not be before startDate",
        ));
    }
    match (problems.is_empty(), badge_id, include_earn_count, paging) {
        (true, Some(badge_id), Some(include_earn_count), Some(paging)) => Ok(FixedWindowQuery {
            badge_id,
            which,
            customer_id,
            cycle,
            include_earn_count,
            start,
            end,
            paging,
        }),
        _ => Err(problems),
    }
}

/// `<badge id>:<BADGE|CUSTOMER>:<number>`.
fn parse_reference(r: &str) -> Option<CycleRef> {
    let mut parts = r.split(':');
    let (id, level, number) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_object_id(id) {
        return None;
    }
    let level = match level {
        "BADGE" => Level::Badge,
        "CUSTOMER" => Level::Customer,
        _ => return None,
    };
    Some(CycleRef {
        badge_id: id.to_owned(),
        level,
        number: number.parse().ok().filter(|n| *n >= 0)?,
    })
}

/// One cycle listed, and its earn count when asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedCycle {
    pub level: Level,
    pub reference: String,
    pub span: CycleSpan,
    pub earn_count: Option<u64>,
}

/// A page of cycles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedWindowPage {
    pub badge_id: String,
    pub org_id: i32,
    pub customer_id: Option<i64>,
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub cycles: Vec<ListedCycle>,
    pub paging: Paging,
    pub total: i64,
}

/// The cycles of `level`'s fixed window that the query covers: numbers
/// from the first to the last, none when the badge has no fixed window at
/// that level.
fn numbers(
    badge: &Badge,
    level: Level,
    q: &FixedWindowQuery,
) -> Option<(constraints::Cycle, i64, i64)> {
    let list = match level {
        Level::Customer => &badge.extras.customer_constraints,
        Level::Badge => &badge.extras.badge_constraints,
    };
    let cycle = list.iter().find_map(|c| match c.kind {
        Kind::FixedWindow { cycle, .. } => Some(cycle),
        _ => None,
    })?;
    let at = |t: Micros| constraints::cycle_at(cycle, badge.starts_on, t).number;
    let mut first = 0;
    let mut last = at(Micros(badge.expires_on.0.saturating_sub(1))).max(0);
    if let Some(s) = q.start {
        first = first.max(at(s));
    }
    if let Some(e) = q.end {
        last = last.min(at(e));
    }
    if let Some(r) = &q.cycle {
        // Another badge's cycle, or the other level's: none of these.
        if r.level != level || r.badge_id != badge.id {
            return None;
        }
        first = first.max(r.number);
        last = last.min(r.number);
    }
    (first <= last).then_some((cycle, first, last))
}

/// The query's page of cycles (counts still to fill, `earn_count: None`),
/// ordered by start (the badge's before the customer's on a tie), and how
/// many there are in all.
pub fn select(badge: &Badge, q: &FixedWindowQuery) -> (Vec<ListedCycle>, i64) {
    let ranges: Vec<(Level, constraints::Cycle, i64, i64)> = q
        .which
        .levels()
        .iter()
        .filter_map(|&l| numbers(badge, l, q).map(|(c, f, t)| (l, c, f, t)))
        .collect();
    let total: i64 = ranges.iter().map(|(_, _, f, t)| t - f + 1).sum();
    let skip = q.paging.page.saturating_mul(q.paging.size);
    if skip >= total {
        return (Vec::new(), total);
    }
    let descending = q.paging.order == SortOrder::Desc;
    // Walk the levels' cycles in order, merged by start (two at most).
    let mut next: Vec<(Level, constraints::Cycle, i64, i64)> = ranges;
    if descending {
        for r in &mut next {
            std::mem::swap(&mut r.2, &mut r.3);
        }
    }
    let mut out = Vec::new();
    let mut index = 0i64;
    loop {
        let candidates = next
            .iter()
            .enumerate()
            .filter(|(_, r)| if descending { r.2 >= r.3 } else { r.2 <= r.3 });
        let best = candidates
            .map(|(i, r)| (i, constraints::cycle_number(r.1, badge.starts_on, r.2)))
            .min_by_key(|(i, span)| {
                let start = i128::from(span.start.0);
                (if descending { -start } else { start }, *i)
            });
        let Some((i, span)) = best else { break };
        if index >= skip {
            let level = next[i].0;
            out.push(ListedCycle {
                level,
                reference: constraints::cycle_reference(&badge.id, level, span.number),
                span,
                earn_count: None,
            });
            if out.len() as i64 >= q.paging.size {
                break;
            }
        }
        index += 1;
        next[i].2 += if descending { -1 } else { 1 };
    }
    (out, total)
}

/// The spans whose awards a page's counts need, per level, in page order.
pub fn spans(cycles: &[ListedCycle], level: Level) -> Vec<Span> {
    cycles
        .iter()
        .filter(|c| c.level == level)
        .map(|c| Span {
            from: Some(c.span.start),
            until: Some(c.span.end),
        })
        .collect()
}

/// Fills a level's counts, in the order of [`spans`].
pub fn fill(cycles: &mut [ListedCycle], level: Level, counts: &[u64]) {
    for (c, n) in cycles.iter_mut().filter(|c| c.level == level).zip(counts) {
        c.earn_count = Some(*n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::admin::{Author, NewBadgeRequest, validate_badge};
    use crate::domain::badge::Extras;
    use crate::domain::enums::{EarnType, Owner};
    use crate::domain::expiry::ExpiryRule;
    use serde_json::json;

    const DAY: i64 = 86_400_000_000;
    // 2026-01-01T00:00:00Z, a Thursday.
    const T0: i64 = 1_767_225_600_000_000;

    fn badge() -> Badge {
        let extras: Extras<serde_json::Value> = Extras {
            customer_constraints: vec![json!({"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW",
                "maxEarnLimit": 1, "durationType": "WEEKLY"})],
            badge_constraints: vec![json!({"constraintType": "BADGE_FIXED_WINDOW",
                "maxEarnLimit": 9, "durationType": "DAILY", "refreshRate": 10})],
            ..Default::default()
        };
        validate_badge(
            NewBadgeRequest {
                name: "Weekly".into(),
                description: String::new(),
                earn_type: Ok(EarnType::Earn),
                starts_on: Ok(Some(Micros(T0))),
                expires_on: Ok(Some(Micros(T0 + 30 * DAY))),
                active: true,
                group_id: None,
                rank: None,
                images: vec![],
                owners: vec![Ok(Owner::Loyalty)],
                earned_badge_expiry: Ok(ExpiryRule::Never),
                issued_badge_expiry: Ok(ExpiryRule::Never),
                extras,
                migration: true,
            },
            "a".repeat(24),
            Author {
                org_id: 1,
                client_id: 1,
                now: Micros(T0),
            },
        )
        .unwrap()
    }

    fn query(which: Which, page: i64, size: i64, order: SortOrder) -> FixedWindowQuery {
        FixedWindowQuery {
            badge_id: "a".repeat(24),
            which,
            customer_id: None,
            cycle: None,
            include_earn_count: false,
            start: None,
            end: None,
            paging: Paging { page, size, order },
        }
    }

    #[test]
    fn cycles_run_from_the_start_to_the_expiry_merged_by_start_and_paged() {
        let b = badge();
        // Weekly from Monday 2025-12-29 to the week holding 2026-01-30: 5;
        // every 10 days from 2026-01-01: 3.
        let (all, total) = select(&b, &query(Which::All, 0, 100, SortOrder::Asc));
        assert_eq!(total, 8);
        let starts: Vec<(Level, i64)> = all
            .iter()
            .map(|c| (c.level, (c.span.start.0 - T0) / DAY))
            .collect();
        assert_eq!(
            starts,
            [
                (Level::Customer, -3),
                (Level::Badge, 0),
                (Level::Customer, 4),
                (Level::Badge, 10),
                (Level::Customer, 11),
                (Level::Customer, 18),
                (Level::Badge, 20),
                (Level::Customer, 25),
            ]
        );
        let (page, _) = select(&b, &query(Which::All, 1, 3, SortOrder::Asc));
        assert_eq!(page, all[3..6]);
        let (desc, _) = select(&b, &query(Which::All, 0, 100, SortOrder::Desc));
        assert_eq!(desc.iter().rev().cloned().collect::<Vec<_>>(), all);
        let (badge_only, total) = select(&b, &query(Which::Badge, 0, 2, SortOrder::Asc));
        assert_eq!((badge_only.len(), total), (2, 3));
        // One cycle by its reference.
        let mut q = query(Which::All, 0, 10, SortOrder::Asc);
        q.cycle = parse_reference(&all[4].reference);
        assert_eq!(select(&b, &q).0, [all[4].clone()]);
        // A range of dates.
        let mut q = query(Which::Customer, 0, 10, SortOrder::Asc);
        q.start = Some(Micros(T0 + 5 * DAY));
        q.end = Some(Micros(T0 + 11 * DAY));
        assert_eq!(select(&b, &q).1, 2);
    }
}
