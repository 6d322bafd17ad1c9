//! proto <-> domain. Enum values that are unspecified or unknown where a value
//! is required become problems, named by the upstream REST parameter so that a
//! gRPC caller sees what a REST caller sees.

use prost_types::Timestamp;

use crate::domain::admin::{ExpiryRule, RelativeUnit};
use crate::domain::badge::{Claim, Image};
use crate::domain::constraints::Standing;
use crate::domain::detail::{
    BadgeDetail, DetailParams, EarnedBadge, IssuedBadge, Statistics, TriggeredBy,
};
use crate::domain::enums::{
    Action, BadgeStatus, BadgeType, EarnType, IdentifierType, IssueStatus, OlderSortOn, Operator,
    Owner, SortOn, SortOrder,
};
use crate::domain::fields::{self, ExpiryKind, ExpiryParts, Field};
use crate::domain::list::{CustomerBadge, ListPage, ListParams, not_any_of, not_one_of};
use crate::domain::older_list::{OlderListParams, OlderPage, OlderRow};
use crate::domain::{Micros, Problem};
use crate::proto::{self, expiry_rule};
use crate::wire::{owner_to_proto, ts};

pub fn list_params(r: proto::ListCustomerBadgesRequest) -> ListParams {
    let proto::ListCustomerBadgesRequest {
        customer_id,
        identifier_type,
        page,
        size,
        sort_on: sort,
        order: direction,
        name,
        badge_type: badge_types,
        action: actions,
        badge_status: statuses,
        owner: owners,
        claimed_by,
        start_on,
        start_on_operator,
        expires_on,
        expires_on_operator,
        group_id,
        page_token,
    } = r;
    ListParams {
        customer_id,
        identifier_type: identifier(identifier_type),
        page: Ok(page.map(i64::from)),
        size: Ok(size.map(i64::from)),
        sort_on: optional(sort, "sortOn", sort_on, SortOn::expected),
        order: optional(direction, "order", sort_order, SortOrder::expected),
        name: Ok(name),
        badge_type: repeated(&badge_types, "badgeType", badge_type, BadgeType::expected),
        action: repeated(&actions, "action", action, Action::expected),
        badge_status: repeated(
            &statuses,
            "badgeStatus",
            badge_status,
            BadgeStatus::expected,
        ),
        owner: repeated(&owners, "owner", owner, Owner::expected),
        claimed_by: repeated(&claimed_by, "claimedBy", owner, Owner::expected),
        start_on: timestamp(start_on, "startOn"),
        start_on_operator: optional(
            start_on_operator,
            "startOnOperator",
            operator,
            Operator::expected,
        ),
        expires_on: timestamp(expires_on, "expiresOn"),
        expires_on_operator: optional(
            expires_on_operator,
            "expiresOnOperator",
            operator,
            Operator::expected,
        ),
        group_id: Ok(group_id),
        page_token: Ok(page_token),
        unknown: Vec::new(),
    }
}

/// What `customer_id` holds; unspecified means the numeric id.
pub(super) fn identifier(raw: i32) -> Field<Option<IdentifierType>> {
    use proto::CustomerIdentifierType as P;
    match P::try_from(raw) {
        Ok(P::Unspecified) => Ok(None),
        Ok(P::Email) => Ok(Some(IdentifierType::Email)),
        Ok(P::Mobile) => Ok(Some(IdentifierType::Mobile)),
        Ok(P::ExternalId) => Ok(Some(IdentifierType::ExternalId)),
        Ok(P::CardNumber) => Ok(Some(IdentifierType::CardNumber)),
        Err(_) => Err(Problem::invalid_identifier_type()),
    }
}

/// An enum field whose zero means "not given".
pub(super) fn optional<T>(
    raw: i32,
    name: &str,
    map: fn(i32) -> Option<T>,
    expected: fn() -> String,
) -> Field<Option<T>> {
    if raw == 0 {
        return Ok(None);
    }
    map(raw)
        .map(Some)
        .ok_or_else(|| not_one_of(name, &expected()))
}

/// A repeated enum filter; every element must be a real value.
pub(super) fn repeated<T>(
    raw: &[i32],
    name: &str,
    map: fn(i32) -> Option<T>,
    expected: fn() -> String,
) -> Field<Vec<T>> {
    raw.iter()
        .map(|&v| map(v).ok_or_else(|| not_any_of(name, &expected())))
        .collect()
}

pub fn timestamp(t: Option<Timestamp>, name: &str) -> Field<Option<Micros>> {
    t.map(|t| fields::timestamp(t.seconds, t.nanos, name))
        .transpose()
}

fn sort_on(v: i32) -> Option<SortOn> {
    use proto::SortOn as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::ExpiresOn => SortOn::ExpiresOn,
        P::LastModifiedDate => SortOn::LastModifiedDate,
        P::LastIssuedDate => SortOn::LastIssuedDate,
        P::LastExpiredBadge => SortOn::LastExpiredBadge,
        P::LastEarnedEventDate => SortOn::LastEarnedEventDate,
        P::LastEarnedOnDate => SortOn::LastEarnedOnDate,
    })
}

pub(super) fn sort_order(v: i32) -> Option<SortOrder> {
    use proto::SortOrder as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Desc => SortOrder::Desc,
        P::Asc => SortOrder::Asc,
    })
}

fn operator(v: i32) -> Option<Operator> {
    use proto::ComparisonOperator as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::LessThan => Operator::LessThan,
        P::GreaterThan => Operator::GreaterThan,
    })
}

fn badge_type(v: i32) -> Option<BadgeType> {
    use proto::BadgeType as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::AvailableToIssue => BadgeType::AvailableToIssue,
        P::Available => BadgeType::Available,
        P::Earned => BadgeType::Earned,
        P::Expired => BadgeType::Expired,
    })
}

pub(super) fn action(v: i32) -> Option<Action> {
    use proto::Action as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Activated => Action::Activated,
        P::Deactivated => Action::Deactivated,
    })
}

pub(super) fn badge_status(v: i32) -> Option<BadgeStatus> {
    use proto::BadgeStatus as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Upcoming => BadgeStatus::Upcoming,
        P::Live => BadgeStatus::Live,
        P::Expired => BadgeStatus::Expired,
    })
}

pub fn owner(v: i32) -> Option<Owner> {
    use proto::Owner as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Loyalty => Owner::Loyalty,
        P::LoyaltyPromotion => Owner::LoyaltyPromotion,
        P::ReferralCampaigns => Owner::ReferralCampaigns,
        P::Journeys => Owner::Journeys,
        P::AudienceCampaigns => Owner::AudienceCampaigns,
        P::RewardsCatalog => Owner::RewardsCatalog,
        P::GoodwillModule => Owner::GoodwillModule,
        P::Milestones => Owner::Milestones,
        P::HistoricalImport => Owner::HistoricalImport,
    })
}

pub fn images(images: Vec<Image>) -> Vec<proto::BadgeImage> {
    images
        .into_iter()
        .map(|i| {
            let Image {
                name,
                file_svc_handle,
                url,
                tag,
            } = i;
            proto::BadgeImage {
                name,
                file_svc_handle,
                url,
                tag,
            }
        })
        .collect()
}

pub fn ownership(owners: Vec<Owner>, claims: Vec<Claim>) -> proto::Ownership {
    proto::Ownership {
        restricted_to_owners: owners
            .into_iter()
            .map(|o| owner_to_proto(o) as i32)
            .collect(),
        claims: claims
            .into_iter()
            .map(|c| proto::Claim {
                owner_type: owner_to_proto(c.owner_type) as i32,
                reference_id: c.reference_id,
                is_active: c.is_active,
            })
            .collect(),
    }
}

pub fn list_response(page: ListPage) -> proto::ListCustomerBadgesResponse {
    let total_pages = page.total_pages();
    let ListPage {
        rows,
        page,
        requested_size: _,
        total,
        next_page_token,
    } = page;
    proto::ListCustomerBadgesResponse {
        pagination: Some(proto::Pagination {
            page: i32::try_from(page).unwrap_or(i32::MAX),
            size: rows.len() as i32,
            total,
            total_pages,
        }),
        next_page_token,
        customer_badges: rows.into_iter().map(badge).collect(),
        warnings: Vec::new(),
    }
}

fn badge(b: CustomerBadge) -> proto::CustomerBadge {
    // Every field named: a new one does not compile until it is mapped.
    let CustomerBadge {
        id,
        name,
        description,
        earn_type,
        group_id,
        group_name,
        rank,
        created_on,
        last_updated_on,
        images: badge_images,
        status,
        starts_on,
        expires_on,
        earn_count,
        restricted_to_owners,
        claims,
        issue_status,
        active,
        latest_award,
    } = b;
    proto::CustomerBadge {
        name,
        description,
        badge_meta_id: id,
        badge_type: earn_type_to_proto(earn_type) as i32,
        badge_group_id: group_id,
        badge_group_name: group_name,
        badge_rank: rank,
        created_on: Some(ts(created_on)),
        last_updated_on: Some(ts(last_updated_on)),
        images: images(badge_images),
        badge_status: status_to_proto(status) as i32,
        last_earned_on: latest_award.map(|a| ts(a.awarded_at)),
        starts_on: Some(ts(starts_on)),
        expires_on: Some(ts(expires_on)),
        earn_count: i32::try_from(earn_count).unwrap_or(i32::MAX),
        ownership: Some(ownership(restricted_to_owners, claims)),
        issue_status: issue_status.map(|s| issue_status_to_proto(s) as i32),
        active,
        last_earned_on_date: latest_award.map(|a| ts(a.awarded_at)),
        last_earn_event_date: latest_award.map(|a| ts(a.event_at)),
    }
}

pub fn older_params(r: proto::GetBadgesForCustomerRequest) -> OlderListParams {
    let proto::GetBadgesForCustomerRequest {
        customer_id,
        identifier_type,
        badge_type: badge_types,
        sort_on,
        include_expired,
        limit,
        page,
        group_id,
    } = r;
    OlderListParams {
        customer_id,
        identifier_type: identifier(identifier_type),
        badge_type: repeated(&badge_types, "badgeType", badge_type, BadgeType::expected),
        sort_on: optional(sort_on, "sortOn", older_sort_on, OlderSortOn::expected),
        include_expired: Ok(include_expired),
        limit: Ok(limit.map(i64::from)),
        page: Ok(page.map(i64::from)),
        group_id: Ok(group_id),
        unknown: Vec::new(),
    }
}

fn older_sort_on(v: i32) -> Option<OlderSortOn> {
    use proto::OlderSortOn as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Rank => OlderSortOn::Rank,
        P::LastEarnedOnDate => OlderSortOn::LastEarnedOnDate,
        P::LastEarnedEventDate => OlderSortOn::LastEarnedEventDate,
    })
}

pub fn older_response(page: OlderPage) -> proto::GetBadgesForCustomerResponse {
    let total_pages = page.total_pages();
    let OlderPage {
        rows, page, total, ..
    } = page;
    proto::GetBadgesForCustomerResponse {
        pagination: Some(proto::Pagination {
            page: i32::try_from(page).unwrap_or(i32::MAX),
            size: rows.len() as i32,
            total,
            total_pages,
        }),
        badges: rows
            .into_iter()
            .map(|older| {
                let (earned_count, description) = (older.earned_count(), older.description());
                let OlderRow { badge, row } = older;
                let extras = &badge.extras;
                proto::OlderCustomerBadge {
                    badge_meta_id: row.id,
                    org_id: badge.org_id,
                    name: row.name,
                    description,
                    start_on: Some(ts(row.starts_on)),
                    expires_on: Some(ts(row.expires_on)),
                    images: images(row.images),
                    tags: extras
                        .tags
                        .iter()
                        .map(|t| proto::BadgeTag {
                            name: t.name.clone(),
                            value: t.value.clone(),
                        })
                        .collect(),
                    badge_group_id: row.group_id,
                    badge_group_name: row.group_name,
                    badge_rank: row.rank,
                    ownership: Some(ownership(row.restricted_to_owners, row.claims)),
                    earn_type: earn_type_to_proto(row.earn_type) as i32,
                    customer_constraints: extras
                        .customer_constraints
                        .iter()
                        .map(|c| super::structs::struct_out(c.to_json()))
                        .collect(),
                    badge_constraints: extras
                        .badge_constraints
                        .iter()
                        .map(|c| super::structs::struct_out(c.to_json()))
                        .collect(),
                    earned_count,
                    last_earned_on_date: row.latest_award.map(|a| ts(a.awarded_at)),
                    last_earn_event_date: row.latest_award.map(|a| ts(a.event_at)),
                    custom_fields: extras.custom_fields.clone().into_iter().collect(),
                    active: row.active,
                }
            })
            .collect(),
    }
}

pub fn detail_params(r: proto::GetCustomerBadgeRequest) -> DetailParams {
    let proto::GetCustomerBadgeRequest {
        customer_id,
        identifier_type,
        badge_id,
        include_statistics,
    } = r;
    DetailParams {
        customer_id,
        identifier_type: identifier(identifier_type),
        badge_id,
        include_statistics: Ok(include_statistics),
        unknown: Vec::new(),
    }
}

fn issue_status_to_proto(s: IssueStatus) -> proto::IssueStatus {
    match s {
        IssueStatus::Live => proto::IssueStatus::Live,
        IssueStatus::Expired => proto::IssueStatus::Expired,
        IssueStatus::Revoked => proto::IssueStatus::Revoked,
    }
}

fn triggered_by_out(t: TriggeredBy) -> proto::TriggeredBy {
    proto::TriggeredBy {
        owner_type: owner_to_proto(t.owner_type) as i32,
        reference_id: t.reference_id.unwrap_or_default(),
    }
}

/// The detail in upstream's shape; every field named, so that a new one
/// does not compile until it is mapped.
pub fn detail_response(d: BadgeDetail) -> proto::GetCustomerBadgeResponse {
    let BadgeDetail {
        row,
        claimed_by,
        earned_badge_expiry,
        issued_badge_expiry,
        active_earned_count,
        custom_fields,
        statistics,
    } = d;
    let CustomerBadge {
        id,
        name,
        description,
        earn_type,
        group_id,
        group_name,
        rank,
        created_on,
        last_updated_on,
        images: badge_images,
        status,
        starts_on,
        expires_on,
        earn_count: _,
        restricted_to_owners,
        claims: _,
        issue_status: _,
        active,
        latest_award,
    } = row;
    let badge_id = id.clone();
    let standing = |s: Vec<Standing>| -> Vec<prost_types::Struct> {
        s.iter()
            .map(|s| super::structs::struct_out(s.to_json(&badge_id)))
            .collect()
    };
    proto::GetCustomerBadgeResponse {
        id,
        name,
        description,
        created_on: Some(ts(created_on)),
        last_updated_on: Some(ts(last_updated_on)),
        starts_on: Some(ts(starts_on)),
        expires_on: Some(ts(expires_on)),
        action: if active {
            proto::Action::Activated
        } else {
            proto::Action::Deactivated
        } as i32,
        badge_type: earn_type_to_proto(earn_type) as i32,
        badge_status: status_to_proto(status) as i32,
        owner: restricted_to_owners
            .into_iter()
            .map(|o| owner_to_proto(o) as i32)
            .collect(),
        claimed_by: claimed_by
            .into_iter()
            .map(|c| proto::TriggeredBy {
                owner_type: owner_to_proto(c.owner_type) as i32,
                reference_id: c.reference_id,
            })
            .collect(),
        images: images(badge_images),
        earn_expiry: Some(expiry_out(earned_badge_expiry)),
        issue_expiry: issued_badge_expiry.map(expiry_out),
        badge_group_id: group_id,
        badge_group_name: group_name,
        badge_rank: rank,
        active_earned_count,
        custom_fields: custom_fields.into_iter().collect(),
        last_earned_on: latest_award.map(|a| ts(a.awarded_at)),
        last_earn_event_date: latest_award.map(|a| ts(a.event_at)),
        statistics: statistics.map(|s| {
            let Statistics {
                issued_count,
                issuals,
                issuals_truncated,
                issued_status,
                earn_count,
                earns,
                earns_truncated,
                customer_constraints,
                badge_constraints,
            } = s;
            proto::CustomerBadgeStatistics {
                issued_count,
                issuals: issuals
                    .into_iter()
                    .map(|(e, status)| {
                        let IssuedBadge {
                            issued_badge_id,
                            issued_on,
                            event_at,
                            expires_at,
                            revoked: _,
                            revoked_at,
                            triggered_by,
                        } = e;
                        proto::IssualDetail {
                            issue_id: issued_badge_id,
                            issued_on: Some(ts(issued_on)),
                            issue_event_date: event_at.map(ts),
                            issue_expires_on: expires_at.map(ts),
                            issued_status: issue_status_to_proto(status) as i32,
                            revoked_on: revoked_at.map(ts),
                            owner: triggered_by.map(triggered_by_out),
                        }
                    })
                    .collect(),
                issuals_truncated,
                issued_status: issued_status.map(|s| issue_status_to_proto(s) as i32),
                earn_count,
                earns: earns
                    .into_iter()
                    .map(|(a, is_active)| {
                        let EarnedBadge {
                            earned_badge_id,
                            earned_on,
                            event_at,
                            expires_at,
                            revoked: _,
                            revoked_at,
                            triggered_by,
                        } = a;
                        proto::EarnDetail {
                            earned_badge_id,
                            earned_on: Some(ts(earned_on)),
                            earn_event_date: Some(ts(event_at)),
                            expires_on: expires_at.map(ts),
                            is_active,
                            revoked_on: revoked_at.map(ts),
                            owner: triggered_by.map(triggered_by_out),
                        }
                    })
                    .collect(),
                earns_truncated,
                customer_constraints: standing(customer_constraints),
                badge_constraints: standing(badge_constraints),
            }
        }),
    }
}

pub fn status_to_proto(s: BadgeStatus) -> proto::BadgeStatus {
    match s {
        BadgeStatus::Upcoming => proto::BadgeStatus::Upcoming,
        BadgeStatus::Live => proto::BadgeStatus::Live,
        BadgeStatus::Expired => proto::BadgeStatus::Expired,
    }
}

pub fn earn_type_to_proto(t: EarnType) -> proto::EarnType {
    match t {
        EarnType::Earn => proto::EarnType::Earn,
        EarnType::IssueEarn => proto::EarnType::IssueEarn,
    }
}

/// A rule of the request, read by the same rules as REST's.
pub(super) fn expiry_in(rule: Option<proto::ExpiryRule>, field: &str) -> Field<ExpiryRule> {
    use expiry_rule::{ExpiryType as T, RelativeUnit as U};
    let Some(r) = rule else {
        return Ok(ExpiryRule::Never);
    };
    let kind = match T::try_from(r.expiry_type) {
        Ok(T::Unspecified) => None,
        Ok(T::Never) => Some(Ok(ExpiryKind::Never)),
        Ok(T::Relative) => Some(Ok(ExpiryKind::Relative)),
        Ok(T::Absolute) => Some(Ok(ExpiryKind::Absolute)),
        Ok(T::WithBadge) => Some(Ok(ExpiryKind::WithBadge)),
        Err(_) => Some(Err(())),
    };
    let unit = match U::try_from(r.relative_expiry_type) {
        Ok(U::Unspecified) => None,
        Ok(U::Days) => Some(Ok(RelativeUnit::Days)),
        Ok(U::Weeks) => Some(Ok(RelativeUnit::Weeks)),
        Ok(U::Months) => Some(Ok(RelativeUnit::Months)),
        Err(_) => Some(Err(())),
    };
    fields::expiry(
        ExpiryParts {
            kind,
            unit,
            value: (r.value != 0 || unit.is_some()).then_some(r.value),
            expires_on: r.expires_on.map(|t| t.seconds),
            absolute_type: None,
            with_badge_meta: None,
        },
        field,
    )
}

/// A badge's expiry rule as the API writes it.
pub(super) fn expiry_out(rule: ExpiryRule) -> proto::ExpiryRule {
    use proto::expiry_rule::{ExpiryType as T, RelativeUnit as U};
    let mut out = proto::ExpiryRule::default();
    match rule {
        ExpiryRule::Never => out.expiry_type = T::Never as i32,
        ExpiryRule::WithBadge => out.expiry_type = T::WithBadge as i32,
        ExpiryRule::Absolute { expires_on } => {
            out.expiry_type = T::Absolute as i32;
            out.expires_on = Some(Timestamp {
                seconds: expires_on,
                nanos: 0,
            });
        }
        ExpiryRule::Relative {
            relative_expiry_type,
            value,
        } => {
            out.expiry_type = T::Relative as i32;
            out.value = value;
            out.relative_expiry_type = match relative_expiry_type {
                RelativeUnit::Days => U::Days,
                RelativeUnit::Weeks => U::Weeks,
                RelativeUnit::Months => U::Months,
            } as i32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any request message, unknown enum numbers and extreme times
        /// included, converts without panicking.
        #[test]
        fn any_request_converts_without_panicking(
            customer_id in ".{0,40}",
            ints in proptest::collection::vec(any::<i32>(), 12),
            lists in proptest::collection::vec(proptest::collection::vec(any::<i32>(), 0..4), 5),
            secs in any::<i64>(),
            nanos in any::<i32>(),
        ) {
            let r = proto::ListCustomerBadgesRequest {
                customer_id,
                identifier_type: ints[0],
                page: Some(ints[1]),
                size: Some(ints[2]),
                sort_on: ints[3],
                order: ints[4],
                name: None,
                badge_type: lists[0].clone(),
                action: lists[1].clone(),
                badge_status: lists[2].clone(),
                owner: lists[3].clone(),
                claimed_by: lists[4].clone(),
                start_on: Some(Timestamp { seconds: secs, nanos }),
                start_on_operator: ints[5],
                expires_on: Some(Timestamp { seconds: -secs, nanos: ints[6] }),
                expires_on_operator: ints[7],
                group_id: None,
                page_token: None,
            };
            let _ = crate::domain::list::validate(list_params(r));
        }
    }
}
