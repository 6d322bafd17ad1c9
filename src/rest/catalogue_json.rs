//! The catalogue's answers in upstream's shapes (`upstream-badges.md` §1–§7,
//! §18): the badge as create, update, get and list show it, groups, custom
//! fields, and the small answers of activation and claims.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::{EpochSeconds, ExpiryJson, ImageJson, OwnershipJson};
use crate::application::{BadgePage, CatalogueBadge};
use crate::domain::Micros;
use crate::domain::admin::Group;
use crate::domain::badge::{Badge, Extras, Tag};
use crate::domain::constraints::{Constraint, Level};
use crate::domain::custom_fields::CustomField;
use crate::domain::enums::{BadgeStatus, DataType, EarnType, Owner};
use crate::domain::fixed_windows::FixedWindowPage;
use crate::store::Listed;

/// Which of upstream's badge answers a badge is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadgeView {
    /// Create and update: the stored badge.
    Written,
    /// Get by id: as written, with `badgeNumericId`, and the counts with
    /// statistics.
    Read,
    /// A row of the org's list: without the constraints and
    /// `issuedBadgeExpiry`, with `badgeGroupName` and the counts.
    Row,
}

/// A badge, as upstream answers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BadgeJson {
    id: String,
    org_id: i32,
    name: String,
    description: String,
    start_on: EpochSeconds,
    #[serde(rename = "startOnISO")]
    start_on_iso: String,
    expires_on: EpochSeconds,
    #[serde(rename = "expiresOnISO")]
    expires_on_iso: String,
    earned_badge_expiry: ExpiryJson,
    /// Null for EARN badges; absent from list rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_badge_expiry: Option<Option<ExpiryJson>>,
    images: Vec<ImageJson>,
    ownership: OwnershipJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_constraints: Option<Vec<Constraint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge_constraints: Option<Vec<Constraint>>,
    benefits: Vec<serde_json::Value>,
    tags: Vec<Tag>,
    badge_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge_group_name: Option<Option<String>>,
    badge_rank: Option<i32>,
    earn_type: EarnType,
    status: BadgeStatus,
    created_on: EpochSeconds,
    created_by: Option<i32>,
    last_updated_on: EpochSeconds,
    last_updated_by: Option<i32>,
    custom_fields: BTreeMap<String, String>,
    default_till_id: Option<i64>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge_numeric_id: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    earned_count: Option<i64>,
}

impl BadgeJson {
    /// `b` as `view` shows it at `now` (its status), with its group's name
    /// and counts where that view has them.
    pub fn of(b: &CatalogueBadge, view: BadgeView, now: Micros) -> Self {
        let CatalogueBadge {
            badge,
            group_name,
            counts,
        } = b;
        let Badge {
            id,
            org_id,
            name,
            description,
            earn_type,
            active,
            starts_on,
            expires_on,
            created_on,
            last_updated_on,
            group_id,
            rank,
            images,
            owners,
            claims,
            earned_badge_expiry,
            issued_badge_expiry,
            created_by,
            last_updated_by,
            extras,
        } = badge.as_ref().clone();
        let Extras {
            tags,
            custom_fields,
            benefits,
            default_till_id,
            customer_constraints,
            badge_constraints,
        } = extras;
        let row = view == BadgeView::Row;
        BadgeJson {
            id,
            org_id,
            name,
            description,
            start_on: EpochSeconds(starts_on),
            start_on_iso: starts_on.to_rfc3339(),
            expires_on: EpochSeconds(expires_on),
            expires_on_iso: expires_on.to_rfc3339(),
            earned_badge_expiry: earned_badge_expiry.into(),
            issued_badge_expiry: (!row)
                .then(|| (earn_type == EarnType::IssueEarn).then(|| issued_badge_expiry.into())),
            images: images.into_iter().map(ImageJson::from).collect(),
            ownership: OwnershipJson::of(owners, claims),
            customer_constraints: (!row).then_some(customer_constraints),
            badge_constraints: (!row).then_some(badge_constraints),
            benefits,
            tags,
            badge_group_id: group_id,
            badge_group_name: row.then(|| group_name.clone()),
            badge_rank: rank,
            earn_type,
            status: BadgeStatus::at(now, starts_on, expires_on),
            created_on: EpochSeconds(created_on),
            created_by,
            last_updated_on: EpochSeconds(last_updated_on),
            last_updated_by,
            custom_fields,
            default_till_id,
            active,
            badge_numeric_id: (view == BadgeView::Read).then_some(None),
            issued_count: counts.map(|c| c.issued),
            earned_count: counts.map(|c| c.earned),
        }
    }

    /// A badge just written, as create and update answer it.
    pub fn written(badge: Badge, now: Micros) -> Self {
        let b = CatalogueBadge {
            badge: std::sync::Arc::new(badge),
            group_name: None,
            counts: None,
        };
        BadgeJson::of(&b, BadgeView::Written, now)
    }
}

/// Upstream's paging of the org's lists: the page, the size asked for, the
/// rows in all and the pages they fill.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageJson {
    page: i64,
    size: i64,
    total: i64,
    total_pages: i64,
}

impl PageJson {
    pub fn of(page: i64, size: i64, total: i64) -> Self {
        PageJson {
            page,
            size,
            total,
            total_pages: (total + size - 1) / size.max(1),
        }
    }
}

/// The org's badge list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BadgeListJson {
    meta_basic_details: Vec<BadgeJson>,
    pagination: PageJson,
}

impl BadgeListJson {
    pub fn of(p: &BadgePage, now: Micros) -> Self {
        BadgeListJson {
            meta_basic_details: p
                .rows
                .iter()
                .map(|b| BadgeJson::of(b, BadgeView::Row, now))
                .collect(),
            pagination: PageJson::of(p.page, p.size, p.total),
        }
    }
}

/// Activate and deactivate's answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationJson {
    pub id: String,
    pub is_active: bool,
}

/// Claim's answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedJson {
    pub badge_meta_id: String,
    pub owner_type: Owner,
    pub reference_id: String,
}

/// Unclaim's answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnclaimedJson {
    pub owner_type: Owner,
    pub reference_id: String,
    pub is_active: bool,
}

/// A group, as upstream answers it. Groups are never deactivated here, so
/// `isActive` is always true.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupJson {
    id: String,
    org_id: i32,
    name: String,
    rank: i32,
    created_by: Option<i32>,
    created_on: EpochSeconds,
    last_updated_by: Option<i32>,
    last_updated_on: EpochSeconds,
    is_active: bool,
}

impl From<Group> for GroupJson {
    fn from(g: Group) -> Self {
        let Group {
            id,
            org_id,
            name,
            rank,
            created_on,
            created_by,
            last_updated_on,
            last_updated_by,
        } = g;
        GroupJson {
            id,
            org_id,
            name,
            rank,
            created_by,
            created_on: EpochSeconds(created_on),
            last_updated_by,
            last_updated_on: EpochSeconds(last_updated_on),
            is_active: true,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupListJson {
    badge_groups: Vec<GroupJson>,
    pagination: PageJson,
}

impl GroupListJson {
    pub fn of(l: Listed<Group>, page: i64, size: i64) -> Self {
        GroupListJson {
            badge_groups: l.rows.into_iter().map(GroupJson::from).collect(),
            pagination: PageJson::of(page, size, l.total),
        }
    }
}

/// A custom field, as upstream answers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldJson {
    id: String,
    org_id: i32,
    name: String,
    is_mandatory: bool,
    default_value: Option<String>,
    is_active: bool,
    data_type: DataType,
    created_on: EpochSeconds,
    created_by: Option<i32>,
    last_updated_on: EpochSeconds,
    last_updated_by: Option<i32>,
}

impl From<CustomField> for CustomFieldJson {
    fn from(f: CustomField) -> Self {
        let CustomField {
            id,
            org_id,
            name,
            data_type,
            is_mandatory,
            default_value,
            is_active,
            created_on,
            created_by,
            last_updated_on,
            last_updated_by,
        } = f;
        CustomFieldJson {
            id,
            org_id,
            name,
            is_mandatory,
            default_value,
            is_active,
            data_type,
            created_on: EpochSeconds(created_on),
            created_by,
            last_updated_on: EpochSeconds(last_updated_on),
            last_updated_by,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldListJson {
    #[serde(rename = "customFieldROList")]
    custom_fields: Vec<CustomFieldJson>,
    pagination: PageJson,
}

impl CustomFieldListJson {
    pub fn of(l: Listed<CustomField>, page: i64, size: i64) -> Self {
        CustomFieldListJson {
            custom_fields: l.rows.into_iter().map(CustomFieldJson::from).collect(),
            pagination: PageJson::of(page, size, l.total),
        }
    }
}

/// `getFixedWindowDetails`' answer, in upstream's shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixedWindowJson {
    badge_meta_id: String,
    org_id: i32,
    start_date: Option<EpochSeconds>,
    end_date: Option<EpochSeconds>,
    customer_id: Option<i64>,
    fixed_window_cycles: Vec<CycleJson>,
    pagination: PageJson,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CycleJson {
    fixed_window_cycle_reference_id: String,
    start_date: EpochSeconds,
    end_date: EpochSeconds,
    /// Null unless `includeEarnCount`.
    earn_count: Option<u64>,
    constraint_type: &'static str,
}

impl FixedWindowJson {
    pub fn of(p: FixedWindowPage) -> Self {
        FixedWindowJson {
            badge_meta_id: p.badge_id,
            org_id: p.org_id,
            start_date: p.start.map(EpochSeconds),
            end_date: p.end.map(EpochSeconds),
            customer_id: p.customer_id,
            fixed_window_cycles: p
                .cycles
                .into_iter()
                .map(|c| CycleJson {
                    fixed_window_cycle_reference_id: c.reference,
                    start_date: EpochSeconds(c.span.start),
                    end_date: EpochSeconds(c.span.end),
                    earn_count: c.earn_count,
                    constraint_type: match c.level {
                        Level::Customer => "CUSTOMER_BADGE_FIXED_WINDOW",
                        Level::Badge => "BADGE_FIXED_WINDOW",
                    },
                })
                .collect(),
            pagination: PageJson::of(p.paging.page, p.paging.size, p.total),
        }
    }
}
