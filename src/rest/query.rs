//! The upstream query string and headers, read into the list call's
//! parameters. Unknown, repeated or malformed parameters become problems, so
//! one answer lists them all.

use crate::domain::enums::{
    Action, BadgeStatus, BadgeType, IdentifierType, Operator, Owner, SortOn, SortOrder,
};
use crate::domain::list::ListParams;
use crate::domain::{Micros, Problem};

/// Most `name=value` pairs a query string may hold.
pub const MAX_PARAMS: usize = 64;

/// The header naming what the path segment holds.
pub const IDENTIFIER_HEADER: &str = "X-CAP-CUSTOMER-IDENTIFIER";

/// Reads the list call's parameters from the path segment (already
/// URL-decoded), the identifier header, and the raw query string.
pub fn list_params(
    customer_id: String,
    identifier_header: Option<&[u8]>,
    query: Option<&str>,
) -> (ListParams, Vec<Problem>) {
    let mut problems = Vec::new();
    let identifier_type = match identifier_header {
        None => None,
        Some(raw) => {
            let parsed = std::str::from_utf8(raw)
                .ok()
                .and_then(IdentifierType::parse);
            if parsed.is_none() {
                problems.push(Problem::invalid_identifier_type());
            }
            parsed
        }
    };
    let mut params = ListParams {
        customer_id,
        identifier_type,
        ..Default::default()
    };

    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.len() > MAX_PARAMS {
        problems.push(Problem {
            code: crate::domain::problem::CODE_BAD_REQUEST,
            message: format!("at most {MAX_PARAMS} query parameters are accepted"),
            reference: None,
        });
        return (params, problems);
    }

    let mut seen: Vec<Param> = Vec::new();
    for (key, value) in &pairs {
        let Some(param) = Param::from_key(key) else {
            problems.push(Problem::invalid(key, format!("unknown parameter {key}")));
            continue;
        };
        let name = param.name();
        if !param.repeatable() && seen.contains(&param) {
            problems.push(Problem::invalid(
                name,
                format!("{name} is given more than once"),
            ));
            continue;
        }
        seen.push(param);
        let p = &mut problems;
        match param {
            Param::Page => params.page = integer(name, value, p),
            Param::Size => params.size = integer(name, value, p),
            Param::SortOn => params.sort_on = one(name, value, SortOn::parse, SortOn::expected, p),
            Param::Order => {
                params.order = one(name, value, SortOrder::parse, SortOrder::expected, p)
            }
            Param::Name => params.name = Some(value.clone()),
            Param::BadgeType => list(
                name,
                value,
                BadgeType::parse,
                BadgeType::expected,
                &mut params.badge_type,
                p,
            ),
            Param::Action => list(
                name,
                value,
                Action::parse,
                Action::expected,
                &mut params.action,
                p,
            ),
            Param::BadgeStatus => list(
                name,
                value,
                BadgeStatus::parse,
                BadgeStatus::expected,
                &mut params.badge_status,
                p,
            ),
            Param::Owner => list(
                name,
                value,
                Owner::parse,
                Owner::expected,
                &mut params.owner,
                p,
            ),
            Param::ClaimedBy => list(
                name,
                value,
                Owner::parse,
                Owner::expected,
                &mut params.claimed_by,
                p,
            ),
            Param::StartOn => params.start_on = date(name, value, p),
            Param::StartOnOperator => {
                params.start_on_operator = one(name, value, Operator::parse, Operator::expected, p)
            }
            Param::ExpiresOn => params.expires_on = date(name, value, p),
            Param::ExpiresOnOperator => {
                params.expires_on_operator =
                    one(name, value, Operator::parse, Operator::expected, p)
            }
            Param::GroupId => params.group_id = Some(value.clone()),
            Param::PageToken => params.page_token = Some(value.clone()),
        }
    }
    (params, problems)
}

/// The documented query parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    Page,
    Size,
    SortOn,
    Order,
    Name,
    BadgeType,
    Action,
    BadgeStatus,
    Owner,
    ClaimedBy,
    StartOn,
    StartOnOperator,
    ExpiresOn,
    ExpiresOnOperator,
    GroupId,
    PageToken,
}

impl Param {
    /// Names match exactly, except that `Page` and `Size`, capitalised in the
    /// upstream table and lower-case in its URL, are accepted both ways.
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "page" | "Page" => Param::Page,
            "size" | "Size" => Param::Size,
            "sortOn" => Param::SortOn,
            "order" => Param::Order,
            "name" => Param::Name,
            "badgeType" => Param::BadgeType,
            "action" => Param::Action,
            "badgeStatus" => Param::BadgeStatus,
            "owner" => Param::Owner,
            "claimedBy" => Param::ClaimedBy,
            "startOn" => Param::StartOn,
            "startOnOperator" => Param::StartOnOperator,
            "expiresOn" => Param::ExpiresOn,
            "expiresOnOperator" => Param::ExpiresOnOperator,
            "groupId" => Param::GroupId,
            "pageToken" => Param::PageToken,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Param::Page => "page",
            Param::Size => "size",
            Param::SortOn => "sortOn",
            Param::Order => "order",
            Param::Name => "name",
            Param::BadgeType => "badgeType",
            Param::Action => "action",
            Param::BadgeStatus => "badgeStatus",
            Param::Owner => "owner",
            Param::ClaimedBy => "claimedBy",
            Param::StartOn => "startOn",
            Param::StartOnOperator => "startOnOperator",
            Param::ExpiresOn => "expiresOn",
            Param::ExpiresOnOperator => "expiresOnOperator",
            Param::GroupId => "groupId",
            Param::PageToken => "pageToken",
        }
    }

    /// Enum filters may be repeated (and comma-separated): any of the values.
    fn repeatable(self) -> bool {
        matches!(
            self,
            Param::BadgeType | Param::Action | Param::BadgeStatus | Param::Owner | Param::ClaimedBy
        )
    }
}

fn integer(name: &str, value: &str, problems: &mut Vec<Problem>) -> Option<i64> {
    let parsed = value.trim().parse::<i64>().ok();
    if parsed.is_none() {
        problems.push(Problem::invalid(name, format!("{name} must be an integer")));
    }
    parsed
}

fn date(name: &str, value: &str, problems: &mut Vec<Problem>) -> Option<Micros> {
    let parsed = Micros::parse_iso(value);
    if parsed.is_none() {
        problems.push(Problem::invalid(
            name,
            format!("{name} must be an ISO 8601 time such as 2024-01-31T10:00:00.000Z"),
        ));
    }
    parsed
}

fn one<T>(
    name: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let parsed = parse(value);
    if parsed.is_none() {
        problems.push(Problem::invalid(
            name,
            format!("{name} must be one of {}", expected()),
        ));
    }
    parsed
}

fn list<T>(
    name: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
    into: &mut Vec<T>,
    problems: &mut Vec<Problem>,
) {
    for item in value.split(',') {
        match parse(item) {
            Some(v) => into.push(v),
            None => {
                problems.push(Problem::invalid(
                    name,
                    format!("{name} must be one or more of {}", expected()),
                ));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: &str) -> (ListParams, Vec<Problem>) {
        list_params("1".into(), None, Some(query))
    }

    fn refs(problems: &[Problem]) -> Vec<&str> {
        problems
            .iter()
            .filter_map(|p| p.reference.as_deref())
            .collect()
    }

    #[test]
    fn reads_every_documented_parameter() {
        let (p, problems) = read(
            "Page=2&Size=5&sortOn=last_earned_on_date&order=asc&name=Gold%20Star&badgeType=EARNED,expired\
             &action=DE_ACTIVATED&badgeStatus=LIVE,UPCOMING&owner=LOYALTY&claimedBy=Journeys\
             &startOn=2024-01-31T10:00:00.000Z&startOnOperator=LESS_THAN\
             &expiresOn=2024-01-31T12:00:00%2B02:00&expiresOnOperator=GREATER_THAN&groupId=65c3600c60d9261bdd8a6410",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((p.page, p.size), (Some(2), Some(5)));
        assert_eq!(p.sort_on, Some(SortOn::LastEarnedOnDate));
        assert_eq!(p.order, Some(SortOrder::Asc));
        assert_eq!(p.name.as_deref(), Some("Gold Star"));
        assert_eq!(p.badge_type, vec![BadgeType::Earned, BadgeType::Expired]);
        assert_eq!(p.action, vec![Action::Deactivated]);
        assert_eq!(
            p.badge_status,
            vec![BadgeStatus::Live, BadgeStatus::Upcoming]
        );
        assert_eq!(p.owner, vec![Owner::Loyalty]);
        assert_eq!(p.claimed_by, vec![Owner::Journeys]);
        assert_eq!(p.start_on, p.expires_on);
        assert_eq!(p.start_on_operator, Some(Operator::LessThan));
        assert_eq!(p.expires_on_operator, Some(Operator::GreaterThan));
        assert_eq!(p.group_id.as_deref(), Some("65c3600c60d9261bdd8a6410"));
    }

    #[test]
    fn repeated_enum_filters_add_up() {
        let (p, problems) = read("badgeType=EARNED&badgeType=EXPIRED");
        assert!(problems.is_empty());
        assert_eq!(p.badge_type, vec![BadgeType::Earned, BadgeType::Expired]);
    }

    #[test]
    fn every_bad_parameter_is_a_problem() {
        let (_, problems) = read(
            "page=x&size=1&size=2&sortOn=NOPE&badgeType=EARNED,NOPE&startOn=yesterday&foo=1&owner=",
        );
        assert_eq!(
            refs(&problems),
            [
                "page",
                "size",
                "sortOn",
                "badgeType",
                "startOn",
                "foo",
                "owner"
            ]
        );
    }

    #[test]
    fn identifier_header_is_case_insensitive_and_checked() {
        let (p, problems) = list_params("a@b.c".into(), Some(b"EMAIL"), None);
        assert!(problems.is_empty());
        assert_eq!(p.identifier_type, Some(IdentifierType::Email));
        let (_, problems) = list_params("a@b.c".into(), Some(b"phone"), None);
        assert_eq!(problems, vec![Problem::invalid_identifier_type()]);
        let (_, problems) = list_params("a@b.c".into(), Some(&[0xff]), None);
        assert_eq!(problems, vec![Problem::invalid_identifier_type()]);
    }

    #[test]
    fn too_many_parameters_stop_reading() {
        let query = vec!["badgeType=EARNED"; MAX_PARAMS + 1].join("&");
        let (_, problems) = read(&query);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].reference, None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any query string, path segment and header: no panic, and whatever
        /// validation accepts is within the contract's bounds.
        #[test]
        fn any_request_reads_without_panicking(
            customer in ".{0,300}",
            header in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
            query in "([a-zA-Z]{1,18}=[-,:.%+_A-Za-z0-9]{0,30}&?){0,12}",
            raw in ".{0,200}",
        ) {
            for q in [query.as_str(), raw.as_str()] {
                let (params, problems) = list_params(customer.clone(), header.as_deref(), Some(q));
                if let Ok(v) = crate::domain::list::validate(params, problems) {
                    proptest::prop_assert!((1..=100).contains(&v.size));
                    proptest::prop_assert!(v.page >= 0 && v.offset() <= 100_000);
                    proptest::prop_assert!(!v.badge_types.is_empty());
                }
            }
        }
    }
}
