//! The upstream wire shape: field names, order and types as in the upstream
//! examples, one definition of each JSON shape. Times are JSON numbers of
//! epoch seconds with a nine-digit fraction (`1702280977.051000000`);
//! `lastEarnedOnDate` and `lastEarnEventDate` are whole seconds and are left
//! out without an award.

use std::collections::BTreeMap;

use axum::Json;
use serde::ser::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::admin::ExpiryRule;
use crate::domain::badge::Tag;
use crate::domain::badge::{Claim, Image};
use crate::domain::constraints::{Constraint, Standing};
use crate::domain::detail::{BadgeDetail, Statistics};
use crate::domain::enums::{BadgeStatus, EarnType, IssueStatus, Owner};
use crate::domain::list::{CustomerBadge, ListPage};
use crate::domain::older_list::{OlderPage, OlderRow};
use crate::domain::{Micros, Problem};

/// An instant written as epoch seconds with nine fractional digits.
#[derive(Clone, Copy, Debug)]
pub struct EpochSeconds(pub Micros);

impl EpochSeconds {
    fn text(&self) -> String {
        let m = self.0.0;
        let sign = if m < 0 { "-" } else { "" };
        let abs = m.unsigned_abs();
        format!("{sign}{}.{:09}", abs / 1_000_000, (abs % 1_000_000) * 1_000)
    }
}

impl Serialize for EpochSeconds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.text())
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

/// Whole epoch seconds, rounded down.
fn whole_seconds(m: Micros) -> i64 {
    m.0.div_euclid(1_000_000)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T: Serialize> {
    pub data: Option<T>,
    pub errors: Vec<ErrorJson>,
    pub warnings: Vec<ErrorJson>,
}

impl<T: Serialize> Envelope<T> {
    /// A success envelope.
    pub fn of(data: T) -> Self {
        Envelope {
            data: Some(data),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// An envelope of one item's problems (batch answers).
    pub fn failed(problems: Vec<Problem>) -> Self {
        Envelope {
            data: None,
            errors: problems.into_iter().map(ErrorJson::from).collect(),
            warnings: Vec::new(),
        }
    }
}

/// A success answer.
pub fn ok<T: Serialize>(data: T) -> Json<Envelope<T>> {
    Json(Envelope::of(data))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorJson {
    pub code: u32,
    pub message: String,
    pub reference: Option<String>,
}

impl From<Problem> for ErrorJson {
    fn from(p: Problem) -> Self {
        ErrorJson {
            code: p.code,
            message: p.message,
            reference: p.reference,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListData {
    customer_badges: Vec<CustomerBadgeJson>,
    pagination: PaginationJson,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaginationJson {
    page: i64,
    size: usize,
    total: i64,
    total_pages: i64,
    /// Keyset paging only: absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomerBadgeJson {
    name: String,
    description: String,
    badge_meta_id: String,
    badge_type: EarnType,
    badge_group_id: Option<String>,
    badge_group_name: Option<String>,
    badge_rank: Option<i32>,
    created_on: EpochSeconds,
    last_updated_on: EpochSeconds,
    images: Vec<ImageJson>,
    badge_status: BadgeStatus,
    last_earned_on: Option<EpochSeconds>,
    starts_on: EpochSeconds,
    expires_on: EpochSeconds,
    earn_count: i64,
    ownership: OwnershipJson,
    issue_status: Option<IssueStatus>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earned_on_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earn_event_date: Option<i64>,
}

/// The older customer list's answer (upstream "Get badges for customer").
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OlderListData {
    badges: Vec<OlderRowJson>,
    pagination: PaginationJson,
}

/// One row of the older list, in upstream's field order (`upstream-badges.md`
/// §14): the badge's own fields, and the customer's `earnedCount` (null
/// when they have no award of it) and latest award's times.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OlderRowJson {
    badge_meta_id: String,
    org_id: i32,
    name: String,
    description: Option<String>,
    start_on: EpochSeconds,
    expires_on: EpochSeconds,
    images: Vec<ImageJson>,
    tags: Vec<Tag>,
    badge_group_id: Option<String>,
    badge_group_name: Option<String>,
    badge_rank: Option<i32>,
    ownership: OwnershipJson,
    earn_type: EarnType,
    customer_constraints: Vec<Constraint>,
    badge_constraints: Vec<Constraint>,
    earned_count: Option<i64>,
    last_earned_on_date: Option<i64>,
    last_earn_event_date: Option<i64>,
    custom_fields: BTreeMap<String, String>,
    active: bool,
}

impl From<OlderPage> for OlderListData {
    fn from(page: OlderPage) -> Self {
        let total_pages = page.total_pages();
        OlderListData {
            pagination: PaginationJson {
                page: page.page,
                size: page.rows.len(),
                total: page.total,
                total_pages,
                next_page_token: None,
            },
            badges: page
                .rows
                .into_iter()
                .map(|older| {
                    let (earned_count, description) = (older.earned_count(), older.description());
                    let OlderRow { badge, row } = older;
                    let extras = &badge.extras;
                    OlderRowJson {
                        badge_meta_id: row.id,
                        org_id: badge.org_id,
                        name: row.name,
                        description,
                        start_on: EpochSeconds(row.starts_on),
                        expires_on: EpochSeconds(row.expires_on),
                        images: row.images.into_iter().map(ImageJson::from).collect(),
                        tags: extras.tags.clone(),
                        badge_group_id: row.group_id,
                        badge_group_name: row.group_name,
                        badge_rank: row.rank,
                        ownership: OwnershipJson::of(row.restricted_to_owners, row.claims),
                        earn_type: row.earn_type,
                        customer_constraints: extras.customer_constraints.clone(),
                        badge_constraints: extras.badge_constraints.clone(),
                        earned_count,
                        last_earned_on_date: row.latest_award.map(|a| whole_seconds(a.awarded_at)),
                        last_earn_event_date: row.latest_award.map(|a| whole_seconds(a.event_at)),
                        custom_fields: extras.custom_fields.clone(),
                        active: row.active,
                    }
                })
                .collect(),
        }
    }
}

/// One image of a badge, in and out.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageJson {
    name: String,
    file_svc_handle: String,
    url: String,
    tag: String,
}

impl From<Image> for ImageJson {
    fn from(i: Image) -> Self {
        let Image {
            name,
            file_svc_handle,
            url,
            tag,
        } = i;
        ImageJson {
            name,
            file_svc_handle,
            url,
            tag,
        }
    }
}

impl From<ImageJson> for Image {
    fn from(i: ImageJson) -> Self {
        let ImageJson {
            name,
            file_svc_handle,
            url,
            tag,
        } = i;
        Image {
            name,
            file_svc_handle,
            url,
            tag,
        }
    }
}

/// Who may use a badge, and who does.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnershipJson {
    restricted_to_owners: Vec<Owner>,
    claims: Vec<ClaimJson>,
}

impl OwnershipJson {
    pub fn of(owners: Vec<Owner>, claims: Vec<Claim>) -> Self {
        OwnershipJson {
            restricted_to_owners: owners,
            claims: claims.into_iter().map(ClaimJson::from).collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimJson {
    owner_type: Owner,
    reference_id: String,
    is_active: bool,
}

impl From<Claim> for ClaimJson {
    fn from(c: Claim) -> Self {
        let Claim {
            owner_type,
            reference_id,
            is_active,
        } = c;
        ClaimJson {
            owner_type,
            reference_id,
            is_active,
        }
    }
}

impl From<ListPage> for ListData {
    fn from(page: ListPage) -> Self {
        let total_pages = page.total_pages();
        ListData {
            pagination: PaginationJson {
                page: page.page,
                size: page.rows.len(),
                total: page.total,
                total_pages,
                next_page_token: page.next_page_token,
            },
            customer_badges: page.rows.into_iter().map(CustomerBadgeJson::from).collect(),
        }
    }
}

impl From<CustomerBadge> for CustomerBadgeJson {
    fn from(b: CustomerBadge) -> Self {
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
            images,
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
        CustomerBadgeJson {
            name,
            description,
            badge_meta_id: id,
            badge_type: earn_type,
            badge_group_id: group_id,
            badge_group_name: group_name,
            badge_rank: rank,
            created_on: EpochSeconds(created_on),
            last_updated_on: EpochSeconds(last_updated_on),
            images: images.into_iter().map(ImageJson::from).collect(),
            badge_status: status,
            last_earned_on: latest_award.map(|a| EpochSeconds(a.awarded_at)),
            starts_on: EpochSeconds(starts_on),
            expires_on: EpochSeconds(expires_on),
            earn_count,
            ownership: OwnershipJson::of(restricted_to_owners, claims),
            issue_status,
            active,
            last_earned_on_date: latest_award.map(|a| whole_seconds(a.awarded_at)),
            last_earn_event_date: latest_award.map(|a| whole_seconds(a.event_at)),
        }
    }
}

/// The module that caused a write (`triggeredBy`), or a claim of a badge.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggeredByJson {
    pub owner_type: Owner,
    pub reference_id: Option<String>,
}

/// The detail call's answer (BEHAVIOUR.md §7): the badge seen from the
/// customer, in upstream's shape and field order; the statistics keys
/// only with `includeStatistics=true`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailData {
    id: String,
    name: String,
    description: String,
    created_on: EpochSeconds,
    last_updated_on: EpochSeconds,
    starts_on: EpochSeconds,
    expires_on: EpochSeconds,
    action: &'static str,
    badge_type: EarnType,
    badge_status: BadgeStatus,
    owner: Vec<Owner>,
    claimed_by: Vec<TriggeredByJson>,
    images: Vec<ImageJson>,
    earn_expiry: ExpiryJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue_expiry: Option<ExpiryJson>,
    badge_group_id: Option<String>,
    badge_group_name: Option<String>,
    badge_rank: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_constraints: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge_constraints: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issual_details: Option<IssualDetailsJson>,
    /// With statistics: the latest enrolment's status (null without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_status: Option<Option<IssueStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    earn_details: Option<EarnDetailsJson>,
    active_earned_count: i64,
    custom_fields: BTreeMap<String, String>,
    last_earned_on: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earned_on_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earn_event_date: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssualDetailsJson {
    issued_count: i64,
    issuals: Vec<IssualJson>,
    /// More than the 100 newest exist.
    issuals_truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssualJson {
    issue_id: String,
    issued_on: EpochSeconds,
    issue_event_date: Option<EpochSeconds>,
    issue_expires_on: Option<EpochSeconds>,
    issued_status: IssueStatus,
    revoked_on: Option<EpochSeconds>,
    owner_type: Option<Owner>,
    owner_reference_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EarnDetailsJson {
    earn_count: i64,
    earns: Vec<EarnJson>,
    /// More than the 100 newest exist.
    earns_truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EarnJson {
    earned_badge_id: String,
    earned_on: EpochSeconds,
    earn_event_date: EpochSeconds,
    expires_on: Option<EpochSeconds>,
    is_active: bool,
    revoked_on: Option<EpochSeconds>,
    owner_type: Option<Owner>,
    owner_reference_id: Option<String>,
}

impl DetailData {
    pub fn of(d: BadgeDetail) -> Self {
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
            images,
            status,
            starts_on,
            expires_on,
            restricted_to_owners,
            claims: _,
            active,
            latest_award,
            ..
        } = row;
        let (customer_constraints, badge_constraints, issual_details, issued_status, earn_details) =
            match statistics {
                None => (None, None, None, None, None),
                Some(st) => {
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
                    } = st;
                    let issuals = issuals
                        .into_iter()
                        .map(|(e, issued_status)| IssualJson {
                            issued_status,
                            issue_id: e.issued_badge_id,
                            issued_on: EpochSeconds(e.issued_on),
                            issue_event_date: e.event_at.map(EpochSeconds),
                            issue_expires_on: e.expires_at.map(EpochSeconds),
                            revoked_on: e.revoked_at.map(EpochSeconds),
                            owner_type: e.triggered_by.as_ref().map(|t| t.owner_type),
                            owner_reference_id: e.triggered_by.and_then(|t| t.reference_id),
                        })
                        .collect();
                    let earns = earns
                        .into_iter()
                        .map(|(a, is_active)| EarnJson {
                            is_active,
                            earned_badge_id: a.earned_badge_id,
                            earned_on: EpochSeconds(a.earned_on),
                            earn_event_date: EpochSeconds(a.event_at),
                            expires_on: a.expires_at.map(EpochSeconds),
                            revoked_on: a.revoked_at.map(EpochSeconds),
                            owner_type: a.triggered_by.as_ref().map(|t| t.owner_type),
                            owner_reference_id: a.triggered_by.and_then(|t| t.reference_id),
                        })
                        .collect();
                    let standing = |s: Vec<Standing>| -> Vec<serde_json::Value> {
                        s.iter().map(|s| s.to_json(&id)).collect()
                    };
                    (
                        Some(standing(customer_constraints)),
                        Some(standing(badge_constraints)),
                        Some(IssualDetailsJson {
                            issued_count,
                            issuals,
                            issuals_truncated,
                        }),
                        Some(issued_status),
                        Some(EarnDetailsJson {
                            earn_count,
                            earns,
                            earns_truncated,
                        }),
                    )
                }
            };
        DetailData {
            id,
            name,
            description,
            created_on: EpochSeconds(created_on),
            last_updated_on: EpochSeconds(last_updated_on),
            starts_on: EpochSeconds(starts_on),
            expires_on: EpochSeconds(expires_on),
            action: if active { "ACTIVATED" } else { "DE_ACTIVATED" },
            badge_type: earn_type,
            badge_status: status,
            owner: restricted_to_owners,
            claimed_by: claimed_by
                .into_iter()
                .map(|c| TriggeredByJson {
                    owner_type: c.owner_type,
                    reference_id: Some(c.reference_id),
                })
                .collect(),
            images: images.into_iter().map(ImageJson::from).collect(),
            earn_expiry: earned_badge_expiry.into(),
            issue_expiry: issued_badge_expiry.map(ExpiryJson::from),
            badge_group_id: group_id,
            badge_group_name: group_name,
            badge_rank: rank,
            customer_constraints,
            badge_constraints,
            issual_details,
            issued_status,
            earn_details,
            active_earned_count,
            custom_fields,
            last_earned_on: latest_award.map(|a| EpochSeconds(a.awarded_at)),
            last_earned_on_date: latest_award.map(|a| whole_seconds(a.awarded_at)),
            last_earn_event_date: latest_award.map(|a| whole_seconds(a.event_at)),
        }
    }
}

/// An expiry rule in upstream's answers: `{"expiryType": "NEVER"}`,
/// `{"expiryType": "RELATIVE", "relativeExpirytype": "DAYS", "value": 3}`,
/// `{"expiryType": "ABSOLUTE", "type": "FIXED_DATE", "expiresOn": <n>,
/// "expireWithBadgeMeta": false}`, `{"expiryType": "ABSOLUTE", "type":
/// "WITH_BADGE_META", "expiresOn": null, "expireWithBadgeMeta": true}`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryJson {
    expiry_type: &'static str,
    #[serde(rename = "relativeExpirytype", skip_serializing_if = "Option::is_none")]
    relative_expiry_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    absolute_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_on: Option<Option<EpochSeconds>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_with_badge_meta: Option<bool>,
}

impl From<ExpiryRule> for ExpiryJson {
    fn from(rule: ExpiryRule) -> Self {
        match rule {
            ExpiryRule::Never => ExpiryJson {
                expiry_type: "NEVER",
                ..Default::default()
            },
            ExpiryRule::WithBadge => ExpiryJson {
                expiry_type: "ABSOLUTE",
                absolute_type: Some("WITH_BADGE_META"),
                expires_on: Some(None),
                expire_with_badge_meta: Some(true),
                ..Default::default()
            },
            ExpiryRule::Absolute { expires_on } => ExpiryJson {
                expiry_type: "ABSOLUTE",
                absolute_type: Some("FIXED_DATE"),
                expires_on: Some(Some(EpochSeconds(Micros(
                    expires_on.saturating_mul(1_000_000),
                )))),
                expire_with_badge_meta: Some(false),
                ..Default::default()
            },
            ExpiryRule::Relative {
                relative_expiry_type,
                value,
            } => ExpiryJson {
                expiry_type: "RELATIVE",
                relative_expiry_type: Some(relative_expiry_type.as_str()),
                value: Some(value),
                ..Default::default()
            },
        }
    }
}

/// The answer of an upsert of a customer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerJson {
    pub customer_id: i64,
}

/// What an enrol call answers (upstream's one envelope for the batch):
/// each customer's enrolment id or problem in `issuedBadges`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolAnswerJson {
    pub badge_meta_id: String,
    pub triggered_by: Option<TriggeredByJson>,
    /// The enrolments' expiry (one rule, one recording time: the same for
    /// every customer enrolled); null when they never expire or none was.
    pub expires_on: Option<EpochSeconds>,
    pub issued_badges: Vec<IssuedItemJson>,
    pub request_id: Option<String>,
}

/// One customer's item of an enrol or revokeIssue answer: the enrolment,
/// or the item's error.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedItemJson {
    pub customer_id: i64,
    pub issued_id: Option<String>,
    pub error: Option<ErrorJson>,
}

/// What a revokeIssue answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeIssueJson {
    pub badge_meta_id: String,
    pub revoked_issued_badges: Vec<IssuedItemJson>,
    pub request_id: Option<String>,
}

/// An award, as earn and import answer it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AwardJson {
    pub badge_meta_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
    pub expires_on: Option<EpochSeconds>,
    pub request_id: Option<String>,
    /// Earn answers carry the enrolment used (or null); import answers do
    /// not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_id: Option<Option<String>>,
}

/// What an earn for many answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarnBulkJson {
    pub badge_meta_id: String,
    pub triggered_by: Option<TriggeredByJson>,
    pub request_id: Option<String>,
    pub earned_badges: Vec<EarnedItemJson>,
}

/// One customer's item of an earn for many.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarnedItemJson {
    pub customer_id: i64,
    pub earned_badge_id: Option<String>,
    pub issued_id: Option<String>,
    pub expires_on: Option<EpochSeconds>,
    pub error: Option<ErrorJson>,
}

/// The answer of a revocation of an award.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedJson {
    pub badge_meta_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
    pub is_active: bool,
}

/// An OAuth token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenJson {
    pub access_token: String,
    pub ttl_seconds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_have_nine_fraction_digits() {
        let json = |m| serde_json::to_string(&EpochSeconds(Micros(m))).unwrap();
        assert_eq!(json(1_702_280_977_051_000), "1702280977.051000000");
        assert_eq!(json(1_818_857_606_000_000), "1818857606.000000000");
        assert_eq!(json(0), "0.000000000");
        assert_eq!(json(-1), "-0.000001000");
        assert_eq!(json(-1_500_000), "-1.500000000");
        assert_eq!(whole_seconds(Micros(-1)), -1);
        assert_eq!(whole_seconds(Micros(1_743_494_923_451_000)), 1_743_494_923);
    }

    proptest::proptest! {
        /// Every instant is written as a JSON number equal to it.
        #[test]
        fn any_instant_is_a_json_number(m in proptest::prelude::any::<i64>()) {
            let text = serde_json::to_string(&EpochSeconds(Micros(m))).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            proptest::prop_assert!(parsed.is_number());
            let (int, frac) = text.trim_start_matches('-').split_once('.').unwrap();
            proptest::prop_assert_eq!(frac.len(), 9);
            let back = int.parse::<i128>().unwrap() * 1_000_000 + frac[..6].parse::<i128>().unwrap();
            proptest::prop_assert_eq!(if m < 0 { -back } else { back }, i128::from(m));
        }
    }
}
