//! The list call: its parameters, their validation, and the rows it returns.

use super::badge::{Claim, Image};
use super::cursor::{Cursor, Keyset};
use super::enums::{
    Action, BadgeStatus, BadgeType, EarnType, IdentifierType, IssueStatus, Operator, Owner, SortOn,
    SortOrder,
};
use super::fields::Field;
use super::{Micros, Problem};

pub const DEFAULT_SIZE: i64 = 10;
pub use super::ids::is_object_id;
pub use super::shape::MAX_SIZE;
/// Offset paging stops here; deeper reads are what keyset paging is for.
pub const MAX_OFFSET: i64 = 100_000;
/// Longest accepted `name` filter, in characters.
pub const MAX_NAME_CHARS: usize = 256;
pub use super::shape::MAX_IDENTIFIER_BYTES;

/// The parameters of a list call as a transport read them: each typed, or
/// the problem that kept the transport from reading it (a value that is no
/// enum member, a parameter given twice), so that one answer lists every
/// problem of the request.
#[derive(Clone, Debug)]
pub struct ListParams {
    pub customer_id: String,
    pub identifier_type: Field<Option<IdentifierType>>,
    pub page: Field<Option<i64>>,
    pub size: Field<Option<i64>>,
    pub sort_on: Field<Option<SortOn>>,
    pub order: Field<Option<SortOrder>>,
    pub name: Field<Option<String>>,
    pub badge_type: Field<Vec<BadgeType>>,
    pub action: Field<Vec<Action>>,
    pub badge_status: Field<Vec<BadgeStatus>>,
    pub owner: Field<Vec<Owner>>,
    pub claimed_by: Field<Vec<Owner>>,
    pub start_on: Field<Option<Micros>>,
    pub start_on_operator: Field<Option<Operator>>,
    pub expires_on: Field<Option<Micros>>,
    pub expires_on_operator: Field<Option<Operator>>,
    pub group_id: Field<Option<String>>,
    /// Keyset paging: `Some("")` starts it, a returned token continues it.
    pub page_token: Field<Option<String>>,
    /// Parameters the request held that the call does not have.
    pub unknown: Vec<Problem>,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            customer_id: String::new(),
            identifier_type: Ok(None),
            page: Ok(None),
            size: Ok(None),
            sort_on: Ok(None),
            order: Ok(None),
            name: Ok(None),
            badge_type: Ok(Vec::new()),
            action: Ok(Vec::new()),
            badge_status: Ok(Vec::new()),
            owner: Ok(Vec::new()),
            claimed_by: Ok(Vec::new()),
            start_on: Ok(None),
            start_on_operator: Ok(None),
            expires_on: Ok(None),
            expires_on_operator: Ok(None),
            group_id: Ok(None),
            page_token: Ok(None),
            unknown: Vec::new(),
        }
    }
}

/// A field's value, or its problem set aside.
pub(crate) fn take<T>(field: Field<T>, problems: &mut Vec<Problem>) -> Option<T> {
    field.map_err(|p| problems.push(p)).ok()
}

/// The problem of a value that is none of `expected` (one value).
pub fn not_one_of(name: &str, expected: &str) -> Problem {
    Problem::invalid(name, format!("{name} must be one of {expected}"))
}

/// The problem of a list with a value that is none of `expected`.
pub fn not_any_of(name: &str, expected: &str) -> Problem {
    Problem::invalid(name, format!("{name} must be one or more of {expected}"))
}

/// How the customer is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerRef {
    Id(i64),
    Email(String),
    Mobile(String),
    ExternalId(String),
    CardNumber(String),
}

/// A date comparison on one of the badge's own dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateFilter {
    pub operator: Operator,
    pub at: Micros,
}

/// A validated list request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub customer: CustomerRef,
    /// Never empty; several mean any of them.
    pub badge_types: Vec<BadgeType>,
    pub active: Vec<bool>,
    pub statuses: Vec<BadgeStatus>,
    pub owners: Vec<Owner>,
    pub claimed_by: Vec<Owner>,
    /// Lower-cased substring of the badge name.
    pub name: Option<String>,
    pub start_on: Option<DateFilter>,
    pub expires_on: Option<DateFilter>,
    pub group_id: Option<String>,
    pub sort_on: SortOn,
    pub order: SortOrder,
    pub page: i64,
    pub size: i64,
    /// Keyset paging, when asked for; `page` is then the cursor's.
    pub keyset: Option<Keyset>,
}

impl ListQuery {
    /// The rows to skip: none in keyset mode, where the cursor says where to start.
    pub fn skip(&self) -> i64 {
        if self.keyset.is_some() {
            0
        } else {
            self.offset()
        }
    }

    /// Fingerprint of everything but the page: a token is only good for
    /// the query that produced it.
    pub fn fingerprint(&self) -> String {
        // Every field named: a new one does not compile until it is decided
        // whether it is part of the query a token continues.
        let ListQuery {
            customer,
            badge_types,
            active,
            statuses,
            owners,
            claimed_by,
            name,
            start_on,
            expires_on,
            group_id,
            sort_on,
            order,
            size,
            page: _,
            keyset: _,
        } = self;
        let canonical = format!(
            "{customer:?}|{badge_types:?}|{active:?}|{statuses:?}|{owners:?}|{claimed_by:?}|{name:?}|\
             {start_on:?}|{expires_on:?}|{group_id:?}|{sort_on:?}|{order:?}|{size}|v1"
        );
        super::cursor::fingerprint(&canonical)
    }

    pub fn offset(&self) -> i64 {
        self.page * self.size
    }
}

/// Checks every parameter and reports every problem at once.
pub fn validate(params: ListParams) -> Result<ListQuery, Vec<Problem>> {
    let ListParams {
        customer_id,
        identifier_type,
        page,
        size,
        sort_on,
        order,
        name,
        badge_type,
        action,
        badge_status,
        owner,
        claimed_by,
        start_on,
        start_on_operator,
        expires_on,
        expires_on_operator,
        group_id,
        page_token,
        unknown,
    } = params;
    let mut problems = Vec::new();
    let p = &mut problems;
    let identifier_type = take(identifier_type, p);
    let (page, size, sort_on, order, name) = (
        take(page, p),
        take(size, p),
        take(sort_on, p),
        take(order, p),
        take(name, p),
    );
    let (badge_type, action, badge_status, owner, claimed_by) = (
        take(badge_type, p).unwrap_or_default(),
        take(action, p).unwrap_or_default(),
        take(badge_status, p).unwrap_or_default(),
        take(owner, p).unwrap_or_default(),
        take(claimed_by, p).unwrap_or_default(),
    );
    let (start_on, start_on_operator, expires_on, expires_on_operator, group_id, page_token) = (
        take(start_on, p),
        take(start_on_operator, p),
        take(expires_on, p),
        take(expires_on_operator, p),
        take(group_id, p),
        take(page_token, p),
    );

    // Without a valid identifier type the segment cannot be judged.
    let customer = match identifier_type {
        Some(kind) => customer_ref(&customer_id, kind, &mut problems),
        None => None,
    };

    let page_given = page.flatten();
    let (page, size) = paging(page_given, size.flatten(), &mut problems);
    let name = name_filter(name.flatten(), &mut problems);

    let start_on = date_filter(
        start_on.flatten(),
        start_on_operator.flatten(),
        Operator::GreaterThan,
        ("startOn", "startOnOperator"),
        &mut problems,
    );
    let expires_on = date_filter(
        expires_on.flatten(),
        expires_on_operator.flatten(),
        Operator::LessThan,
        ("expiresOn", "expiresOnOperator"),
        &mut problems,
    );

    let group_id = group_filter(group_id.flatten(), &mut problems);

    let keyset = keyset(page_token.flatten().as_deref(), page_given, &mut problems);
    problems.extend(unknown);

    let (true, Some(customer), Some(sort_on), Some(order)) =
        (problems.is_empty(), customer, sort_on, order)
    else {
        return Err(problems);
    };
    let (sort_on, order) = (
        sort_on.unwrap_or(SortOn::ExpiresOn),
        order.unwrap_or(SortOrder::Desc),
    );

    let mut badge_types = dedup(badge_type);
    if badge_types.is_empty() {
        badge_types.push(BadgeType::AvailableToIssue);
    }
    let query = ListQuery {
        customer,
        badge_types,
        active: dedup(action)
            .into_iter()
            .map(|a| a == Action::Activated)
            .collect(),
        statuses: dedup(badge_status),
        owners: dedup(owner),
        claimed_by: dedup(claimed_by),
        name: name.map(|n| n.to_lowercase()),
        start_on,
        expires_on,
        group_id,
        sort_on,
        order,
        page,
        size,
        keyset: None,
    };
    with_keyset(query, keyset)
}

/// `groupId`: empty is no filter; otherwise an object id.
pub(crate) fn group_filter(
    group_id: Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let group_id = group_id.filter(|g| !g.is_empty());
    if group_id.as_deref().is_some_and(|g| !is_object_id(g)) {
        problems.push(Problem::invalid(
            "groupId",
            "groupId must be 24 lower-case hex characters",
        ));
    }
    group_id
}

/// The query continuing where `keyset` says: a page token must belong to
/// this query (its filters, sort and size).
fn with_keyset(mut query: ListQuery, keyset: Option<Keyset>) -> Result<ListQuery, Vec<Problem>> {
    match keyset {
        Some(Keyset::After(cursor)) => {
            if cursor.query != query.fingerprint() {
                return Err(vec![Problem::invalid(
                    "pageToken",
                    "pageToken belongs to a different query: keep the filters, sort and size of the first page",
                )]);
            }
            query.page = cursor.page;
            query.keyset = Some(Keyset::After(cursor));
        }
        other => query.keyset = other,
    }
    Ok(query)
}

/// `page` (0 when absent) and `size` (10 when absent), with their problems:
/// a negative page, a size outside 1..=100, an offset past 100,000.
pub(crate) fn paging(
    page: Option<i64>,
    size: Option<i64>,
    problems: &mut Vec<Problem>,
) -> (i64, i64) {
    let page = page.unwrap_or(0);
    if page < 0 {
        problems.push(Problem::invalid("page", "page must be 0 or more"));
    }
    let size = size.unwrap_or(DEFAULT_SIZE);
    if !(1..=MAX_SIZE).contains(&size) {
        problems.push(Problem::invalid(
            "size",
            format!("size must be between 1 and {MAX_SIZE}"),
        ));
    }
    if page >= 0
        && (1..=MAX_SIZE).contains(&size)
        && page
            .checked_mul(size)
            .is_none_or(|offset| offset > MAX_OFFSET)
    {
        problems.push(Problem::invalid(
            "page",
            format!("page × size may not exceed {MAX_OFFSET}"),
        ));
    }
    (page, size)
}

/// The `name` filter (empty is none), within its length and free of NUL.
pub(crate) fn name_filter(name: Option<String>, problems: &mut Vec<Problem>) -> Option<String> {
    let name = name.filter(|n| !n.is_empty());
    if let Some(n) = &name {
        if n.chars().count() > MAX_NAME_CHARS {
            problems.push(Problem::invalid(
                "name",
                format!("name may be at most {MAX_NAME_CHARS} characters"),
            ));
        } else if n.contains('\0') {
            problems.push(super::shape::no_nul("name"));
        }
    }
    name
}

/// Keyset paging from `pageToken` (empty: the first page), which a page
/// number other than 0 may not accompany.
fn keyset(
    token: Option<&str>,
    page_given: Option<i64>,
    problems: &mut Vec<Problem>,
) -> Option<Keyset> {
    let keyset = match token {
        None => None,
        Some("") => Some(Keyset::First),
        Some(token) => match Cursor::decode(token) {
            Some(c) => Some(Keyset::After(c)),
            None => {
                problems.push(Problem::invalid(
                    "pageToken",
                    "pageToken is not a token this service issued",
                ));
                None
            }
        },
    };
    if keyset.is_some() && page_given.is_some_and(|p| p != 0) {
        problems.push(Problem::invalid(
            "page",
            "page and pageToken cannot be used together",
        ));
    }
    keyset
}

pub(crate) fn customer_ref(
    raw: &str,
    kind: Option<IdentifierType>,
    problems: &mut Vec<Problem>,
) -> Option<CustomerRef> {
    if raw.is_empty() || raw.len() > MAX_IDENTIFIER_BYTES {
        problems.push(Problem::invalid(
            "customerId",
            format!("customerId must be 1 to {MAX_IDENTIFIER_BYTES} bytes"),
        ));
        return None;
    }
    if raw.contains('\0') {
        problems.push(super::shape::no_nul("customerId"));
        return None;
    }
    Some(match kind {
        None => match canonical_id(raw) {
            Some(id) => CustomerRef::Id(id),
            None => {
                problems.push(Problem::invalid(
                    "customerId",
                    "customerId must be a customer id in decimal (no sign, no leading zeros) unless X-CAP-CUSTOMER-IDENTIFIER names another identifier",
                ));
                return None;
            }
        },
        Some(IdentifierType::Email) => CustomerRef::Email(super::customer_email(raw)),
        Some(IdentifierType::Mobile) => CustomerRef::Mobile(raw.to_owned()),
        Some(IdentifierType::ExternalId) => CustomerRef::ExternalId(raw.to_owned()),
        Some(IdentifierType::CardNumber) => CustomerRef::CardNumber(raw.to_owned()),
    })
}

/// A customer id in canonical decimal: digits only, no sign, no leading
/// zero (but `0` itself), within i64. `+7` and `0007` are not customer 7.
fn canonical_id(raw: &str) -> Option<i64> {
    let canonical =
        raw.bytes().all(|b| b.is_ascii_digit()) && (raw == "0" || !raw.starts_with('0'));
    if canonical { raw.parse().ok() } else { None }
}

fn date_filter(
    at: Option<Micros>,
    operator: Option<Operator>,
    default: Operator,
    (date_name, operator_name): (&str, &str),
    problems: &mut Vec<Problem>,
) -> Option<DateFilter> {
    match (at, operator) {
        (Some(at), operator) => Some(DateFilter {
            operator: operator.unwrap_or(default),
            at,
        }),
        (None, Some(_)) => {
            problems.push(Problem::invalid(
                operator_name,
                format!("{operator_name} needs {date_name}"),
            ));
            None
        }
        (None, None) => None,
    }
}

pub(crate) fn dedup<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

/// The customer's latest non-revoked award of a badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatestAward {
    pub awarded_at: Micros,
    pub event_at: Micros,
}

/// A badge as one customer sees it: one row of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerBadge {
    pub id: String,
    pub name: String,
    pub description: String,
    pub earn_type: EarnType,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub rank: Option<i32>,
    pub created_on: Micros,
    pub last_updated_on: Micros,
    pub images: Vec<Image>,
    pub status: BadgeStatus,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub earn_count: i64,
    pub restricted_to_owners: Vec<Owner>,
    pub claims: Vec<Claim>,
    pub issue_status: Option<IssueStatus>,
    pub active: bool,
    pub latest_award: Option<LatestAward>,
}

/// One page of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub rows: Vec<CustomerBadge>,
    pub page: i64,
    /// The page size asked for.
    pub requested_size: i64,
    /// Rows matching in all.
    pub total: i64,
    /// In keyset mode, the token of the next page, when there is one.
    pub next_page_token: Option<String>,
}

impl ListPage {
    /// ceil(total / requested size): 0 when nothing matches.
    pub fn total_pages(&self) -> i64 {
        (self.total + self.requested_size - 1) / self.requested_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(customer_id: &str) -> ListParams {
        ListParams {
            customer_id: customer_id.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let q = validate(params("62090013")).unwrap();
        assert_eq!(q.customer, CustomerRef::Id(62090013));
        assert_eq!(q.badge_types, vec![BadgeType::AvailableToIssue]);
        assert_eq!((q.page, q.size), (0, 10));
        assert_eq!((q.sort_on, q.order), (SortOn::ExpiresOn, SortOrder::Desc));
    }

    #[test]
    fn every_problem_is_reported_together() {
        let mut p = params("not-a-number");
        p.identifier_type = Err(Problem::invalid_identifier_type());
        p.page = Ok(Some(-1));
        p.size = Ok(Some(101));
        p.start_on_operator = Ok(Some(Operator::LessThan));
        p.group_id = Ok(Some("xyz".into()));
        p.unknown = vec![Problem::invalid("foo", "unknown parameter foo")];
        let problems = validate(p).unwrap_err();
        let refs: Vec<_> = problems
            .iter()
            .filter_map(|p| p.reference.as_deref())
            .collect();
        assert_eq!(
            refs,
            [
                "X-CAP-CUSTOMER-IDENTIFIER",
                "page",
                "size",
                "startOnOperator",
                "groupId",
                "foo"
            ]
        );
    }

    #[test]
    fn a_non_numeric_id_without_identifier_type_is_a_bad_request() {
        let problems = validate(params("tom@example.com")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].reference.as_deref(), Some("customerId"));
        assert_eq!(problems[0].code, 400);
    }

    #[test]
    fn offset_is_capped() {
        let mut p = params("1");
        p.page = Ok(Some(1000));
        p.size = Ok(Some(100));
        assert!(validate(p.clone()).is_ok());
        p.page = Ok(Some(1001));
        let problems = validate(p).unwrap_err();
        assert_eq!(problems[0].reference.as_deref(), Some("page"));
    }

    #[test]
    fn operators_default_per_date() {
        let mut p = params("1");
        p.start_on = Ok(Some(Micros(5)));
        p.expires_on = Ok(Some(Micros(6)));
        let q = validate(p).unwrap();
        assert_eq!(q.start_on.unwrap().operator, Operator::GreaterThan);
        assert_eq!(q.expires_on.unwrap().operator, Operator::LessThan);
    }

    #[test]
    fn emails_are_matched_lower_case() {
        let mut p = params("Tom.Sawyer@CapillaryTech.com");
        p.identifier_type = Ok(Some(IdentifierType::Email));
        let q = validate(p).unwrap();
        assert_eq!(
            q.customer,
            CustomerRef::Email("tom.sawyer@capillarytech.com".into())
        );
    }

    #[test]
    fn total_pages_rounds_up() {
        let page = |total| ListPage {
            rows: vec![],
            page: 0,
            requested_size: 10,
            total,
            next_page_token: None,
        };
        assert_eq!(page(0).total_pages(), 0);
        assert_eq!(page(10).total_pages(), 1);
        assert_eq!(page(11).total_pages(), 2);
    }
}
