//! The upstream query string and headers, read into the list call's
//! parameters. Unknown, repeated or malformed parameters become problems, so
//! one answer lists them all.

use crate::domain::detail::DetailParams;
use crate::domain::enums::{
    Action, BadgeStatus, BadgeType, CatalogueSort, EarnType, IdentifierType, OlderSortOn, Operator,
    Owner, SortOn, SortOrder,
};
use crate::domain::fields::Field;
use crate::domain::list::{ListParams, not_any_of, not_one_of};
use crate::domain::older_list::OlderListParams;
use crate::domain::org_list::{OrgListParams, Paging, validate_paging};
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
) -> ListParams {
    let mut params = ListParams {
        customer_id,
        identifier_type: identifier_type(identifier_header),
        ..Default::default()
    };
    let pairs = match pairs(query) {
        Ok(pairs) => pairs,
        Err(problems) => {
            params.unknown.extend(problems);
            return params;
        }
    };

    let mut seen: Vec<Param> = Vec::new();
    for (key, value) in &pairs {
        let Some(param) = Param::from_key(key) else {
            params
                .unknown
                .push(Problem::invalid(key, format!("unknown parameter {key}")));
            continue;
        };
        let name = param.name();
        let twice = !param.repeatable() && seen.contains(&param);
        seen.push(param);
        let p = &mut params;
        let value = if twice {
            Err(Problem::invalid(
                name,
                format!("{name} is given more than once"),
            ))
        } else {
            Ok(value.as_str())
        };
        match param {
            Param::Page => p.page = value.and_then(|v| integer(name, v)),
            Param::Size => p.size = value.and_then(|v| integer(name, v)),
            Param::SortOn => {
                p.sort_on = value.and_then(|v| one(name, v, SortOn::parse, SortOn::expected))
            }
            Param::Order => {
                p.order = value.and_then(|v| one(name, v, SortOrder::parse, SortOrder::expected))
            }
            Param::Name => p.name = value.map(|v| Some(v.to_owned())),
            Param::BadgeType => list(
                &mut p.badge_type,
                name,
                value,
                BadgeType::parse,
                BadgeType::expected,
            ),
            Param::Action => list(&mut p.action, name, value, Action::parse, Action::expected),
            Param::BadgeStatus => list(
                &mut p.badge_status,
                name,
                value,
                BadgeStatus::parse,
                BadgeStatus::expected,
            ),
            Param::Owner => list(&mut p.owner, name, value, Owner::parse, Owner::expected),
            Param::ClaimedBy => list(
                &mut p.claimed_by,
                name,
                value,
                Owner::parse,
                Owner::expected,
            ),
            Param::StartOn => p.start_on = value.and_then(|v| date(name, v)),
            Param::StartOnOperator => {
                p.start_on_operator =
                    value.and_then(|v| one(name, v, Operator::parse, Operator::expected))
            }
            Param::ExpiresOn => p.expires_on = value.and_then(|v| date(name, v)),
            Param::ExpiresOnOperator => {
                p.expires_on_operator =
                    value.and_then(|v| one(name, v, Operator::parse, Operator::expected))
            }
            Param::GroupId => p.group_id = value.map(|v| Some(v.to_owned())),
            Param::PageToken => p.page_token = value.map(|v| Some(v.to_owned())),
        }
    }
    params
}

/// Reads the detail call's parameters from the path segments (already
/// URL-decoded), the identifier header, and the raw query string.
pub fn detail_params(
    customer_id: String,
    badge_id: String,
    identifier_header: Option<&[u8]>,
    query: Option<&str>,
) -> DetailParams {
    let mut params = DetailParams {
        customer_id,
        identifier_type: identifier_type(identifier_header),
        badge_id,
        include_statistics: Ok(false),
        unknown: Vec::new(),
    };
    let pairs = match pairs(query) {
        Ok(pairs) => pairs,
        Err(problems) => {
            params.unknown.extend(problems);
            return params;
        }
    };
    const INCLUDE_STATISTICS: &str = "includeStatistics";
    let mut seen = false;
    for (key, value) in &pairs {
        if key != INCLUDE_STATISTICS {
            params
                .unknown
                .push(Problem::invalid(key, format!("unknown parameter {key}")));
            continue;
        }
        params.include_statistics = if seen {
            Err(Problem::invalid(
                INCLUDE_STATISTICS,
                format!("{INCLUDE_STATISTICS} is given more than once"),
            ))
        } else {
            boolean(INCLUDE_STATISTICS, value)
        };
        seen = true;
    }
    params
}

/// Reads the org badge list's parameters (`GET /badgeMeta`) from the raw
/// query string. `earnType` and `badgeType` are one filter (upstream names
/// both); `limit` is `size`; `status` takes ENDED for EXPIRED.
pub fn org_list_params(query: Option<&str>) -> OrgListParams {
    let mut p = OrgListParams::default();
    let pairs = match pairs(query) {
        Ok(pairs) => pairs,
        Err(problems) => {
            p.unknown.extend(problems);
            return p;
        }
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        let name = match key.as_str() {
            "limit" | "Size" => "size",
            "Page" => "page",
            other => other,
        };
        let repeatable = matches!(
            name,
            "status" | "earnType" | "badgeType" | "action" | "owner" | "claimedBy"
        );
        let value = if !repeatable && seen.contains(&name) {
            Err(Problem::invalid(
                name,
                format!("{name} is given more than once"),
            ))
        } else {
            Ok(value.as_str())
        };
        match name {
            "page" => p.page = value.and_then(|v| integer(name, v)),
            "size" => p.size = value.and_then(|v| integer(name, v)),
            "sortOn" => {
                p.sort_on =
                    value.and_then(|v| one(name, v, CatalogueSort::parse, CatalogueSort::expected))
            }
            "order" => {
                p.order = value.and_then(|v| one(name, v, SortOrder::parse, SortOrder::expected))
            }
            "status" => list(
                &mut p.status,
                name,
                value,
                BadgeStatus::parse,
                BadgeStatus::expected,
            ),
            "earnType" | "badgeType" => list(
                &mut p.earn_type,
                name,
                value,
                EarnType::parse,
                EarnType::expected,
            ),
            "action" => list(&mut p.action, name, value, Action::parse, Action::expected),
            "owner" => list(&mut p.owner, name, value, Owner::parse, Owner::expected),
            "claimedBy" => list(
                &mut p.claimed_by,
                name,
                value,
                Owner::parse,
                Owner::expected,
            ),
            "unclaimed" => p.unclaimed = value.and_then(|v| boolean(name, v)).map(Some),
            "name" => p.name = value.map(|v| Some(v.to_owned())),
            "groupId" => p.group_id = value.map(|v| Some(v.to_owned())),
            "startOn" => p.start_on = value.and_then(|v| date(name, v)),
            "expiresOn" => p.expires_on = value.and_then(|v| date(name, v)),
            _ => {
                p.unknown
                    .push(Problem::invalid(key, format!("unknown parameter {key}")));
                continue;
            }
        }
        seen.push(name);
    }
    p
}

/// Reads the older customer list's parameters (`GET /customer/{id}`) from
/// the path segment, the identifier header and the raw query string.
pub fn older_list_params(
    customer_id: String,
    identifier_header: Option<&[u8]>,
    query: Option<&str>,
) -> OlderListParams {
    let mut p = OlderListParams {
        customer_id,
        identifier_type: identifier_type(identifier_header),
        ..Default::default()
    };
    let pairs = match pairs(query) {
        Ok(pairs) => pairs,
        Err(problems) => {
            p.unknown.extend(problems);
            return p;
        }
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        let name = key.as_str();
        let value = if name != "badgeType" && seen.contains(&name) {
            Err(Problem::invalid(
                name,
                format!("{name} is given more than once"),
            ))
        } else {
            Ok(value.as_str())
        };
        match name {
            "badgeType" => list(
                &mut p.badge_type,
                name,
                value,
                BadgeType::parse,
                BadgeType::expected,
            ),
            "sortOn" => {
                p.sort_on =
                    value.and_then(|v| one(name, v, OlderSortOn::parse, OlderSortOn::expected))
            }
            "includeExpired" => p.include_expired = value.and_then(|v| boolean(name, v)),
            "limit" => p.limit = value.and_then(|v| integer(name, v)),
            "page" => p.page = value.and_then(|v| integer(name, v)),
            "groupId" => p.group_id = value.map(|v| Some(v.to_owned())),
            _ => {
                p.unknown
                    .push(Problem::invalid(key, format!("unknown parameter {key}")));
                continue;
            }
        }
        seen.push(name);
    }
    p
}

/// A list of groups' or custom fields' parameters: `page`, `size` (or
/// `limit`), `order`, and the ones `extra` reads (`Ok(true)` when it took
/// the pair); any other is a problem.
pub fn paging_params(
    query: Option<&str>,
    mut extra: impl FnMut(&str, &str) -> Field<bool>,
) -> Result<Paging, Vec<Problem>> {
    let pairs = pairs(query)?;
    let (mut page, mut size, mut order) = (Ok(None), Ok(None), Ok(None));
    let mut unknown = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "page" | "Page" => page = integer("page", value),
            "size" | "Size" | "limit" => size = integer("size", value),
            "order" => order = one("order", value, SortOrder::parse, SortOrder::expected),
            other => match extra(other, value) {
                Ok(true) => {}
                Ok(false) => unknown.push(Problem::invalid(
                    other,
                    format!("unknown parameter {other}"),
                )),
                Err(p) => unknown.push(p),
            },
        }
    }
    validate_paging(page, size, order, unknown)
}

/// `true` or `false` in a query, as its own parameter.
pub fn query_boolean(name: &str, value: &str) -> Field<bool> {
    boolean(name, value)
}

/// An integer in a query, as its own parameter.
pub fn query_integer(name: &str, value: &str) -> Field<Option<i64>> {
    integer(name, value)
}

/// An ISO 8601 time in a query, as its own parameter.
pub fn query_date(name: &str, value: &str) -> Field<Option<Micros>> {
    date(name, value)
}

/// What the identifier header names, or its problem.
pub(crate) fn identifier_type(header: Option<&[u8]>) -> Field<Option<IdentifierType>> {
    match header {
        None => Ok(None),
        Some(raw) => std::str::from_utf8(raw)
            .ok()
            .and_then(IdentifierType::parse)
            .map(Some)
            .ok_or_else(Problem::invalid_identifier_type),
    }
}

/// The query string's `name=value` pairs, or every problem of them: too
/// many pairs, or a name or value whose percent-decoded bytes are not UTF-8
/// (named by the parameter, or `query` when its name is the one that is not).
fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Vec<Problem>> {
    let raw: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    if raw.len() > MAX_PARAMS {
        return Err(vec![Problem {
            code: crate::domain::problems::CODE_BAD_REQUEST,
            message: format!("at most {MAX_PARAMS} query parameters are accepted"),
            reference: None,
        }]);
    }
    let mut pairs = Vec::with_capacity(raw.len());
    let mut problems = Vec::new();
    for pair in raw {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (decode(key), decode(value)) {
            (Some(key), Some(value)) => pairs.push((key, value)),
            (Some(key), None) => problems.push(Problem::invalid(
                &key,
                format!("{key} must be valid percent-encoded UTF-8"),
            )),
            (None, _) => problems.push(Problem::invalid(
                "query",
                "parameter names must be valid percent-encoded UTF-8",
            )),
        }
    }
    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(problems)
    }
}

/// One name or value of `application/x-www-form-urlencoded`: `+` is a
/// space, `%XX` a byte; `None` when the bytes are not UTF-8 (never replaced).
fn decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).ok()
}

/// `true` or `false`, in any case.
fn boolean(name: &str, value: &str) -> Field<bool> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(Problem::invalid(
            name,
            format!("{name} must be true or false"),
        ))
    }
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

fn integer(name: &str, value: &str) -> Field<Option<i64>> {
    value
        .trim()
        .parse::<i64>()
        .map(Some)
        .map_err(|_| Problem::invalid(name, format!("{name} must be an integer")))
}

fn date(name: &str, value: &str) -> Field<Option<Micros>> {
    Micros::parse_iso(value).map(Some).ok_or_else(|| {
        Problem::invalid(
            name,
            format!("{name} must be an ISO 8601 time such as 2024-01-31T10:00:00.000Z"),
        )
    })
}

fn one<T>(
    name: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Field<Option<T>> {
    parse(value)
        .map(Some)
        .ok_or_else(|| not_one_of(name, &expected()))
}

/// Adds a comma-separated list of values to what the filter already holds.
fn list<T>(
    into: &mut Field<Vec<T>>,
    name: &str,
    value: Field<&str>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) {
    let Ok(held) = into else { return };
    let read: Field<Vec<T>> = value.and_then(|v| {
        v.split(',')
            .map(|item| parse(item).ok_or_else(|| not_any_of(name, &expected())))
            .collect()
    });
    match read {
        Ok(values) => held.extend(values),
        Err(p) => *into = Err(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: &str) -> ListParams {
        list_params("1".into(), None, Some(query))
    }

    /// Every problem validation reports, in its order.
    fn problems(p: ListParams) -> Vec<Problem> {
        crate::domain::list::validate(p).err().unwrap_or_default()
    }

    fn refs(problems: &[Problem]) -> Vec<&str> {
        problems
            .iter()
            .filter_map(|p| p.reference.as_deref())
            .collect()
    }

    #[test]
    fn reads_every_documented_parameter() {
        let p = read(
            "Page=2&Size=5&sortOn=last_earned_on_date&order=asc&name=Gold%20Star&badgeType=EARNED,expired\
             &action=DE_ACTIVATED&badgeStatus=LIVE,UPCOMING&owner=LOYALTY&claimedBy=Journeys\
             &startOn=2024-01-31T10:00:00.000Z&startOnOperator=LESS_THAN\
             &expiresOn=2024-01-31T12:00:00%2B02:00&expiresOnOperator=GREATER_THAN&groupId=65c3600c60d9261bdd8a6410",
        );
        assert_eq!((&p.page, &p.size), (&Ok(Some(2)), &Ok(Some(5))));
        assert_eq!(p.sort_on, Ok(Some(SortOn::LastEarnedOnDate)));
        assert_eq!(p.order, Ok(Some(SortOrder::Asc)));
        assert_eq!(p.name, Ok(Some("Gold Star".to_owned())));
        assert_eq!(
            p.badge_type,
            Ok(vec![BadgeType::Earned, BadgeType::Expired])
        );
        assert_eq!(p.action, Ok(vec![Action::Deactivated]));
        assert_eq!(
            p.badge_status,
            Ok(vec![BadgeStatus::Live, BadgeStatus::Upcoming])
        );
        assert_eq!(p.owner, Ok(vec![Owner::Loyalty]));
        assert_eq!(p.claimed_by, Ok(vec![Owner::Journeys]));
        assert_eq!(p.start_on, p.expires_on);
        assert_eq!(p.start_on_operator, Ok(Some(Operator::LessThan)));
        assert_eq!(p.expires_on_operator, Ok(Some(Operator::GreaterThan)));
        assert_eq!(p.group_id, Ok(Some("65c3600c60d9261bdd8a6410".to_owned())));
        assert!(problems(p).is_empty());
    }

    #[test]
    fn repeated_enum_filters_add_up() {
        let p = read("badgeType=EARNED&badgeType=EXPIRED");
        assert_eq!(
            p.badge_type,
            Ok(vec![BadgeType::Earned, BadgeType::Expired])
        );
        assert!(problems(p).is_empty());
    }

    #[test]
    fn every_bad_parameter_is_a_problem() {
        let p = read(
            "page=x&size=1&size=2&sortOn=NOPE&badgeType=EARNED,NOPE&startOn=yesterday&foo=1&owner=",
        );
        assert_eq!(
            refs(&problems(p)),
            [
                "page",
                "size",
                "sortOn",
                "badgeType",
                "owner",
                "startOn",
                "foo"
            ]
        );
    }

    #[test]
    fn identifier_header_is_case_insensitive_and_checked() {
        let p = list_params("a@b.c".into(), Some(b"EMAIL"), None);
        assert_eq!(p.identifier_type, Ok(Some(IdentifierType::Email)));
        for bad in [&b"phone"[..], &[0xff]] {
            let p = list_params("a@b.c".into(), Some(bad), None);
            assert_eq!(problems(p), vec![Problem::invalid_identifier_type()]);
        }
    }

    #[test]
    fn detail_parameters_are_read_and_checked() {
        let read =
            |q: &str| detail_params("7".into(), "0123456789abcdef01234567".into(), None, Some(q));
        assert_eq!(read("").include_statistics, Ok(false));
        assert_eq!(read("includeStatistics=TRUE").include_statistics, Ok(true));
        assert_eq!(
            read("includeStatistics=false").include_statistics,
            Ok(false)
        );
        let refs_of = |p: DetailParams| -> Vec<Option<String>> {
            crate::domain::detail::validate(p)
                .unwrap_err()
                .into_iter()
                .map(|p| p.reference)
                .collect()
        };
        assert_eq!(
            refs_of(read("includeStatistics=yes")),
            [Some("includeStatistics".to_owned())]
        );
        assert_eq!(
            refs_of(read("includeStatistics=true&includeStatistics=true")),
            [Some("includeStatistics".to_owned())]
        );
        assert_eq!(
            refs_of(read("page=1&includeStatistics=true")),
            [Some("page".to_owned())]
        );
    }

    #[test]
    fn too_many_parameters_stop_reading() {
        let query = vec!["badgeType=EARNED"; MAX_PARAMS + 1].join("&");
        let found = problems(read(&query));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reference, None);
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
                let params = list_params(customer.clone(), header.as_deref(), Some(q));
                if let Ok(v) = crate::domain::list::validate(params) {
                    proptest::prop_assert!((1..=100).contains(&v.size));
                    proptest::prop_assert!(v.page >= 0 && v.offset() <= 100_000);
                    proptest::prop_assert!(!v.badge_types.is_empty());
                }
            }
        }
    }
}
