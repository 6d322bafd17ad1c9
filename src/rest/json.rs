//! The upstream wire shape: field names, order and types as in the upstream
//! examples. Times are JSON numbers of epoch seconds with a nine-digit
//! fraction (`1702280977.051000000`); `lastEarnedOnDate` and
//! `lastEarnEventDate` are whole seconds and are left out without an award.

use serde::Serialize;
use serde::ser::Error as _;
use serde_json::value::RawValue;

use crate::domain::list::{CustomerBadge, ListPage};
use crate::domain::{Micros, Problem};

/// An instant written as epoch seconds with nine fractional digits.
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
    customer_badges: Vec<BadgeJson>,
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
struct BadgeJson {
    name: String,
    description: String,
    badge_meta_id: String,
    badge_type: &'static str,
    badge_group_id: Option<String>,
    badge_group_name: Option<String>,
    badge_rank: Option<i32>,
    created_on: EpochSeconds,
    last_updated_on: EpochSeconds,
    images: Vec<ImageJson>,
    badge_status: &'static str,
    last_earned_on: Option<EpochSeconds>,
    starts_on: EpochSeconds,
    expires_on: EpochSeconds,
    earn_count: i64,
    ownership: OwnershipJson,
    issue_status: Option<&'static str>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earned_on_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_earn_event_date: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageJson {
    name: String,
    file_svc_handle: String,
    url: String,
    tag: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OwnershipJson {
    restricted_to_owners: Vec<&'static str>,
    claims: Vec<ClaimJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimJson {
    owner_type: &'static str,
    reference_id: String,
    is_active: bool,
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
            customer_badges: page.rows.into_iter().map(BadgeJson::from).collect(),
        }
    }
}

impl From<CustomerBadge> for BadgeJson {
    fn from(b: CustomerBadge) -> Self {
        BadgeJson {
            name: b.name,
            description: b.description,
            badge_meta_id: b.id,
            badge_type: b.earn_type.as_str(),
            badge_group_id: b.group_id,
            badge_group_name: b.group_name,
            badge_rank: b.rank,
            created_on: EpochSeconds(b.created_on),
            last_updated_on: EpochSeconds(b.last_updated_on),
            images: b
                .images
                .into_iter()
                .map(|i| ImageJson {
                    name: i.name,
                    file_svc_handle: i.file_svc_handle,
                    url: i.url,
                    tag: i.tag,
                })
                .collect(),
            badge_status: b.status.as_str(),
            last_earned_on: b.latest_award.map(|a| EpochSeconds(a.awarded_at)),
            starts_on: EpochSeconds(b.starts_on),
            expires_on: EpochSeconds(b.expires_on),
            earn_count: b.earn_count,
            ownership: OwnershipJson {
                restricted_to_owners: b.restricted_to_owners.iter().map(|o| o.as_str()).collect(),
                claims: b
                    .claims
                    .into_iter()
                    .map(|c| ClaimJson {
                        owner_type: c.owner_type.as_str(),
                        reference_id: c.reference_id,
                        is_active: c.is_active,
                    })
                    .collect(),
            },
            issue_status: b.issue_status.map(|s| s.as_str()),
            active: b.active,
            last_earned_on_date: b.latest_award.map(|a| whole_seconds(a.awarded_at)),
            last_earn_event_date: b.latest_award.map(|a| whole_seconds(a.event_at)),
        }
    }
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
