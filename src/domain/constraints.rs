//! Earn limits (BEHAVIOUR.md §11): a badge's `customerConstraints` and
//! `badgeConstraints` read from upstream's spelling, written back in it, and
//! the decision whether an earn at an event time stays within them.
//!
//! Every limit counts the non-revoked awards whose event time lies in one
//! half-open span `[from, until)`, fixed by the earn's event time:
//! - fixed value: every award (no bounds);
//! - rolling window of N days, weeks or months: `(at − N units, at]`, months
//!   by the calendar (the day clamped to the month's end, the time kept);
//! - fixed window: the calendar cycle, in UTC, that holds `at`; cycles start
//!   at midnight of the badge's start day (every `refreshRate` days), on the
//!   last `startDayOfTheWeek` on or before it (weekly), or on the 1st of its
//!   month (monthly), and follow one another from there.
//!
//! The store counts the awards in each span (one indexed read per level);
//! [`refusal`] decides from the counts, so the rule is pure and the same for
//! one earn and for each customer of an earn for many.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::Micros;
use super::Problem;

const DAY: i64 = 86_400_000_000;
/// The largest limit accepted.
pub const MAX_LIMIT: i64 = 1_000_000_000;
/// The largest window length or cycle length accepted, in its unit.
pub const MAX_LENGTH: i64 = 36_600;

/// Whom a constraint counts: one customer's awards, or everyone's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Customer,
    Badge,
}

impl Level {
    /// The list it is written in.
    pub fn field(self) -> &'static str {
        match self {
            Level::Customer => "customerConstraints",
            Level::Badge => "badgeConstraints",
        }
    }

    /// Its `constraintType` prefix.
    fn prefix(self) -> &'static str {
        match self {
            Level::Customer => "CUSTOMER_BADGE_",
            Level::Badge => "BADGE_",
        }
    }

    /// Its name in the detail's `constraintLevel` and in cycle references.
    pub fn word(self) -> &'static str {
        match self {
            Level::Customer => "CUSTOMER",
            Level::Badge => "BADGE",
        }
    }
}

/// A length of time a rolling window spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Days,
    Weeks,
    Months,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Days => "DAYS",
            Unit::Weeks => "WEEKS",
            Unit::Months => "MONTHS",
        }
    }

    /// The customer-level fields of its pair: (limit, length).
    fn customer_fields(self) -> (&'static str, &'static str) {
        match self {
            Unit::Days => ("maxEarnForDays", "rollForDays"),
            Unit::Weeks => ("maxEarnForWeeks", "rollForWeeks"),
            Unit::Months => ("maxEarnForMonths", "rollForMonths"),
        }
    }
}

/// At most `max` awards in the `length` units up to an earn's event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roll {
    pub unit: Unit,
    pub length: u32,
    pub max: u32,
}

/// A calendar cycle of a fixed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cycle {
    /// Every N days.
    Days(u32),
    /// Weeks starting on this day, 0 = Monday … 6 = Sunday.
    Weeks(u8),
    Months,
}

const WEEKDAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// What a constraint limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    NoLimit,
    FixedValue {
        max: u32,
    },
    /// One to three windows (a customer constraint may give days, weeks and
    /// months at once; a badge constraint gives one).
    Rolling(Vec<Roll>),
    FixedWindow {
        max: u32,
        cycle: Cycle,
    },
}

/// One of a badge's constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub level: Level,
    pub kind: Kind,
}

/// Awards whose event time lies in `[from, until)`; `None` is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub from: Option<Micros>,
    pub until: Option<Micros>,
}

impl Span {
    pub const ALL: Span = Span {
        from: None,
        until: None,
    };

    pub fn contains(&self, t: Micros) -> bool {
        self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t < u)
    }
}

/// One count an earn must keep below its maximum: which constraint (by its
/// place in its level's list), the span counted and the maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub index: usize,
    pub unit: Option<Unit>,
    pub span: Span,
    pub max: u32,
}

/// A fixed window's cycle: its number from the badge's first, and its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleSpan {
    pub number: i64,
    pub start: Micros,
    pub end: Micros,
}

impl Constraint {
    /// Its place in the rules' order: the kinds that may replace each other
    /// on a live badge share a class (BEHAVIOUR.md §11).
    fn class(&self) -> u8 {
        match self.kind {
            Kind::NoLimit => 0,
            Kind::FixedValue { .. } | Kind::Rolling(_) => 1,
            Kind::FixedWindow { .. } => 2,
        }
    }

    /// The type as upstream writes it.
    pub fn type_name(&self) -> String {
        let kind = match self.kind {
            Kind::NoLimit => "NO_LIMIT",
            Kind::FixedValue { .. } => "FIXED_VALUE",
            Kind::Rolling(_) => "ROLLING_WINDOW",
            Kind::FixedWindow { .. } => "FIXED_WINDOW",
        };
        format!("{}{kind}", self.level.prefix())
    }

    /// The counts an earn at `at` must keep below their maxima.
    pub fn bounds(&self, index: usize, at: Micros, starts_on: Micros) -> Vec<Bound> {
        match &self.kind {
            Kind::NoLimit => vec![],
            Kind::FixedValue { max } => vec![Bound {
                index,
                unit: None,
                span: Span::ALL,
                max: *max,
            }],
            Kind::Rolling(rolls) => rolls
                .iter()
                .map(|r| Bound {
                    index,
                    unit: Some(r.unit),
                    span: rolling_span(r.unit, r.length, at),
                    max: r.max,
                })
                .collect(),
            Kind::FixedWindow { max, cycle } => {
                let c = cycle_at(*cycle, starts_on, at);
                vec![Bound {
                    index,
                    unit: None,
                    span: Span {
                        from: Some(c.start),
                        until: Some(c.end),
                    },
                    max: *max,
                }]
            }
        }
    }

    /// Upstream's spelling of it, as create, get and list answer it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("constraintType".into(), json!(self.type_name()));
        match &self.kind {
            Kind::NoLimit => {}
            Kind::FixedValue { max } => {
                m.insert("maxEarnLimit".into(), json!(max));
            }
            Kind::Rolling(rolls) => match self.level {
                Level::Customer => {
                    for r in rolls {
                        let (limit, length) = r.unit.customer_fields();
                        m.insert(limit.into(), json!(r.max));
                        m.insert(length.into(), json!(r.length));
                    }
                }
                Level::Badge => {
                    for r in rolls {
                        m.insert("rollType".into(), json!(r.unit.name()));
                        m.insert("rollValue".into(), json!(r.length));
                        m.insert("maxEarnLimit".into(), json!(r.max));
                    }
                }
            },
            Kind::FixedWindow { max, cycle } => {
                m.insert("maxEarnLimit".into(), json!(max));
                match cycle {
                    Cycle::Days(n) => {
                        m.insert("durationType".into(), json!("DAILY"));
                        m.insert("refreshRate".into(), json!(n));
                    }
                    Cycle::Weeks(d) => {
                        m.insert("durationType".into(), json!("WEEKLY"));
                        m.insert("startDayOfTheWeek".into(), json!(WEEKDAYS[*d as usize]));
                    }
                    Cycle::Months => {
                        m.insert("durationType".into(), json!("MONTHLY"));
                    }
                }
                m.insert("cycleStatus".into(), json!("ACTIVE"));
            }
        }
        Value::Object(m)
    }
}

impl serde::Serialize for Constraint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Stored constraints are read back as they were written; one that no longer
/// reads is an error, never a constraint silently dropped.
impl<'de> serde::Deserialize<'de> for Constraint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let level = match v.get("constraintType").and_then(Value::as_str) {
            Some(t) if t.starts_with(Level::Customer.prefix()) => Level::Customer,
            _ => Level::Badge,
        };
        let mut problems = Vec::new();
        match read_one(level, 0, &v, &mut problems) {
            Some(c) if problems.is_empty() => Ok(c),
            _ => Err(serde::de::Error::custom(format!(
                "a stored constraint does not read: {}",
                problems.first().map_or("unknown", |p| p.message.as_str())
            ))),
        }
    }
}

/// Reads a level's constraints as a caller sent them; every problem into
/// `problems`, named by its place (`customerConstraints[0].maxEarnLimit`).
pub fn read(level: Level, list: &[Value], problems: &mut Vec<Problem>) -> Vec<Constraint> {
    let before = problems.len();
    let out: Vec<Constraint> = list
        .iter()
        .enumerate()
        .filter_map(|(i, v)| read_one(level, i, v, problems))
        .collect();
    if problems.len() > before {
        return out;
    }
    let field = level.field();
    for (i, c) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.type_name() == c.type_name()) {
            problems.push(Problem::invalid(
                &format!("{field}[{i}].constraintType"),
                format!("{} is given more than once", c.type_name()),
            ));
        }
        if c.kind == Kind::NoLimit && out.len() > 1 {
            problems.push(Problem::invalid(
                &format!("{field}[{i}].constraintType"),
                format!("{} cannot stand beside a limit", c.type_name()),
            ));
        }
    }
    out
}

/// The fields each type takes, beside `constraintType`; upstream's stored
/// fixed-window fields (`referenceId`, `cycleStatus`, `startDate`,
/// `endDate`) are read and let go, so that a badge read back can be sent
/// again.
fn allowed(level: Level, kind: &str) -> &'static [&'static str] {
    match (level, kind) {
        (_, "NO_LIMIT") => &[],
        (_, "FIXED_VALUE") => &["maxEarnLimit"],
        (Level::Customer, "ROLLING_WINDOW") => &[
            "maxEarnForDays",
            "rollForDays",
            "maxEarnForWeeks",
            "rollForWeeks",
            "maxEarnForMonths",
            "rollForMonths",
        ],
        (Level::Badge, "ROLLING_WINDOW") => &["rollType", "rollValue", "maxEarnLimit"],
        (_, "FIXED_WINDOW") => &[
            "maxEarnLimit",
            "durationType",
            "refreshRate",
            "startDayOfTheWeek",
            "referenceId",
            "cycleStatus",
            "startDate",
            "endDate",
        ],
        _ => &[],
    }
}

/// A constraint object's fields, read with their place.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    /// `customerConstraints[0]`
    place: String,
    /// `CUSTOMER_BADGE_FIXED_VALUE`
    type_name: String,
}

impl Fields<'_> {
    fn at(&self, name: &str) -> String {
        format!("{}.{name}", self.place)
    }

    /// A field as sent: `null` is a value (of the wrong type), not an absence.
    fn get(&self, name: &str) -> Option<&Value> {
        self.object.get(name)
    }

    /// A whole number from 1 to `max`.
    fn int(&self, name: &str, max: i64, problems: &mut Vec<Problem>) -> Option<u32> {
        let Some(v) = self.get(name) else {
            problems.push(Problem::invalid(
                &self.at(name),
                format!("{} needs {name}", self.type_name),
            ));
            return None;
        };
        match whole(v).filter(|n| (1..=max).contains(n)) {
            Some(n) => u32::try_from(n).ok(),
            None => {
                problems.push(Problem::invalid(
                    &self.at(name),
                    format!("{name} must be a whole number from 1 to {max}"),
                ));
                None
            }
        }
    }

    /// A problem when `name` is given: it belongs to another cycle.
    fn refuse(&self, name: &str, why: &str, problems: &mut Vec<Problem>) {
        if self.get(name).is_some() {
            problems.push(Problem::invalid(&self.at(name), format!("{name} {why}")));
        }
    }
}

/// One constraint, or `None` with its problems pushed.
fn read_one(level: Level, i: usize, v: &Value, problems: &mut Vec<Problem>) -> Option<Constraint> {
    let place = format!("{}[{i}]", level.field());
    let before = problems.len();
    let Some(object) = v.as_object() else {
        problems.push(Problem::invalid(&place, "a constraint is a JSON object"));
        return None;
    };
    let prefix = level.prefix();
    let kinds = ["NO_LIMIT", "FIXED_VALUE", "ROLLING_WINDOW", "FIXED_WINDOW"];
    let kind = object
        .get("constraintType")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        .and_then(|t| t.strip_prefix(prefix).map(str::to_owned))
        .filter(|k| kinds.contains(&k.as_str()));
    let Some(kind) = kind else {
        problems.push(Problem::invalid(
            &format!("{place}.constraintType"),
            format!(
                "constraintType must be one of {}",
                kinds
                    .iter()
                    .map(|k| format!("{prefix}{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    };
    let f = Fields {
        object,
        place,
        type_name: format!("{prefix}{kind}"),
    };
    let fields = allowed(level, &kind);
    for key in object.keys() {
        if key != "constraintType" && !fields.contains(&key.as_str()) {
            problems.push(Problem::invalid(
                &f.at(key),
                format!("{} takes no {key}", f.type_name),
            ));
        }
    }
    let kind = match kind.as_str() {
        "NO_LIMIT" => Some(Kind::NoLimit),
        "FIXED_VALUE" => f
            .int("maxEarnLimit", MAX_LIMIT, problems)
            .map(|max| Kind::FixedValue { max }),
        "ROLLING_WINDOW" => match level {
            Level::Customer => {
                let mut rolls = Vec::new();
                let mut complete = true;
                for unit in [Unit::Days, Unit::Weeks, Unit::Months] {
                    let (limit, length) = unit.customer_fields();
                    if f.get(limit).is_none() && f.get(length).is_none() {
                        continue;
                    }
                    let max = f.int(limit, MAX_LIMIT, problems);
                    let length = f.int(length, MAX_LENGTH, problems);
                    match (max, length) {
                        (Some(max), Some(length)) => rolls.push(Roll { unit, length, max }),
                        _ => complete = false,
                    }
                }
                if rolls.is_empty() && complete {
                    problems.push(Problem::invalid(
                        &f.at("maxEarnForDays"),
                        "CUSTOMER_BADGE_ROLLING_WINDOW needs maxEarnForDays with rollForDays, \
                         maxEarnForWeeks with rollForWeeks, or maxEarnForMonths with rollForMonths",
                    ));
                }
                (complete && !rolls.is_empty()).then_some(Kind::Rolling(rolls))
            }
            Level::Badge => {
                let unit = match text(f.get("rollType")).as_deref() {
                    Some("DAYS") => Some(Unit::Days),
                    Some("WEEKS") => Some(Unit::Weeks),
                    Some("MONTHS") => Some(Unit::Months),
                    _ => {
                        problems.push(Problem::invalid(
                            &f.at("rollType"),
                            "rollType must be DAYS, WEEKS or MONTHS",
                        ));
                        None
                    }
                };
                let length = f.int("rollValue", MAX_LENGTH, problems);
                let max = f.int("maxEarnLimit", MAX_LIMIT, problems);
                match (unit, length, max) {
                    (Some(unit), Some(length), Some(max)) => {
                        Some(Kind::Rolling(vec![Roll { unit, length, max }]))
                    }
                    _ => None,
                }
            }
        },
        _ => {
            let max = f.int("maxEarnLimit", MAX_LIMIT, problems);
            let cycle = match text(f.get("durationType")).as_deref() {
                Some("DAILY" | "DAYS" | "DAY") => {
                    f.refuse("startDayOfTheWeek", "is for WEEKLY cycles", problems);
                    f.int("refreshRate", MAX_LENGTH, problems).map(Cycle::Days)
                }
                Some("WEEKLY" | "WEEKS" | "WEEK") => {
                    f.refuse("refreshRate", "is for DAILY cycles", problems);
                    match f.get("startDayOfTheWeek") {
                        None => Some(Cycle::Weeks(0)),
                        Some(d) => match weekday(d) {
                            Some(d) => Some(Cycle::Weeks(d)),
                            None => {
                                problems.push(Problem::invalid(
                                    &f.at("startDayOfTheWeek"),
                                    "startDayOfTheWeek must be MONDAY … SUNDAY, or 1 (Monday) to 7",
                                ));
                                None
                            }
                        },
                    }
                }
                Some("MONTHLY" | "MONTHS" | "MONTH") => {
                    f.refuse("refreshRate", "is for DAILY cycles", problems);
                    f.refuse("startDayOfTheWeek", "is for WEEKLY cycles", problems);
                    Some(Cycle::Months)
                }
                _ => {
                    problems.push(Problem::invalid(
                        &f.at("durationType"),
                        "durationType must be DAILY, WEEKLY or MONTHLY",
                    ));
                    None
                }
            };
            match (max, cycle) {
                (Some(max), Some(cycle)) => Some(Kind::FixedWindow { max, cycle }),
                _ => None,
            }
        }
    };
    match kind {
        Some(kind) if problems.len() == before => Some(Constraint { level, kind }),
        _ => None,
    }
}

/// A whole number, as JSON counts them (`3` and `3.0` alike); not text.
fn whole(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// A text value, upper-cased.
fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_ascii_uppercase)
}

/// A day of the week by name or ISO number (1 = Monday).
fn weekday(v: &Value) -> Option<u8> {
    if let Some(n) = whole(v) {
        return (1..=7).contains(&n).then(|| (n - 1) as u8);
    }
    let name = text(Some(v))?;
    WEEKDAYS
        .iter()
        .position(|d| *d == name || d[..3] == *name)
        .map(|d| d as u8)
}

/// A live badge's constraints may change their limits, and a rolling window
/// may become a fixed value or the reverse; any other change of a level's
/// kinds, or of a fixed window's cycle, is 826 (BEHAVIOUR.md §11).
pub fn check_change(before: &[Constraint], after: &[Constraint], level: Level) -> Option<Problem> {
    fn classes(list: &[Constraint]) -> Vec<u8> {
        let mut c: Vec<u8> = list.iter().map(Constraint::class).collect();
        c.retain(|&k| k != 0);
        c.sort_unstable();
        c.dedup();
        c
    }
    fn cycles(list: &[Constraint]) -> Vec<Cycle> {
        list.iter()
            .filter_map(|c| match c.kind {
                Kind::FixedWindow { cycle, .. } => Some(cycle),
                _ => None,
            })
            .collect()
    }
    let field = level.field();
    if classes(before) != classes(after) {
        return Some(Problem::constraint_change(
            field,
            format!(
                "{field}: a live badge's constraints may change their limits, or switch between \
                 a rolling window and a fixed value; not add, remove or switch to or from a fixed window"
            ),
        ));
    }
    if cycles(before) != cycles(after) {
        return Some(Problem::constraint_change(
            field,
            format!(
                "{field}: a live badge's fixed window keeps its cycle; only maxEarnLimit may change"
            ),
        ));
    }
    None
}

/// The first bound an earn would break, given the awards already counted in
/// each bound's span (`counts[i]` for `bounds[i]`): 1058 naming the
/// constraint, or `None` when the earn is within every limit.
pub fn refusal(
    level: Level,
    constraints: &[Constraint],
    bounds: &[Bound],
    counts: &[u64],
) -> Option<Problem> {
    bounds
        .iter()
        .zip(counts)
        .find(|(b, n)| **n >= u64::from(b.max))
        .map(|(b, _)| {
            let c = &constraints[b.index];
            let window = match (&c.kind, b.unit) {
                (Kind::Rolling(rolls), Some(unit)) => rolls
                    .iter()
                    .find(|r| r.unit == unit)
                    .map_or(String::new(), |r| {
                        format!(" in any {} {}", r.length, unit.name().to_lowercase())
                    }),
                (Kind::FixedWindow { .. }, _) => " in this cycle".to_owned(),
                _ => String::new(),
            };
            let whose = match level {
                Level::Customer => "this customer",
                Level::Badge => "all customers together",
            };
            Problem::earn_limit_reached(
                &format!("{}[{}]", level.field(), b.index),
                format!(
                    "{}: {whose} may earn this badge at most {} times{window}",
                    c.type_name(),
                    b.max
                ),
            )
        })
}

/// Whether any of a level's constraints limits an earn ("no limit" does not).
pub fn limits(constraints: &[Constraint]) -> bool {
    constraints.iter().any(|c| c.kind != Kind::NoLimit)
}

/// Every bound of a level's constraints for an earn at `at`.
pub fn bounds(constraints: &[Constraint], at: Micros, starts_on: Micros) -> Vec<Bound> {
    constraints
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.bounds(i, at, starts_on))
        .collect()
}

/// The counts one level's limits keep for an earn at one event time: for
/// each customer (or, at the badge level, for key 0), the awards so far in
/// each bound's span. The store fills them; each award granted adds to them,
/// so that an earn for many refuses the customer that would pass a limit.
#[derive(Clone, Debug)]
pub struct Tally {
    level: Level,
    constraints: Vec<Constraint>,
    bounds: Vec<Bound>,
    counts: HashMap<i64, Vec<u64>>,
}

impl Tally {
    pub fn new(level: Level, constraints: &[Constraint], at: Micros, starts_on: Micros) -> Self {
        Tally {
            level,
            constraints: constraints.to_vec(),
            bounds: bounds(constraints, at, starts_on),
            counts: HashMap::new(),
        }
    }

    /// Whether nothing limits the earn (no count is needed).
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The spans to count, in order.
    pub fn spans(&self) -> Vec<Span> {
        self.bounds.iter().map(|b| b.span).collect()
    }

    /// With the counts read: `counts[key][i]` for `spans()[i]`.
    pub fn counted(mut self, counts: HashMap<i64, Vec<u64>>) -> Self {
        self.counts = counts;
        self
    }

    /// 1058 when one more award for `key` would pass a limit.
    pub fn refusal(&self, key: i64) -> Option<Problem> {
        let none = vec![0; self.bounds.len()];
        let counts = self.counts.get(&key).unwrap_or(&none);
        refusal(self.level, &self.constraints, &self.bounds, counts)
    }

    /// One more award for `key`, at the tally's event time (inside every span).
    pub fn add(&mut self, key: i64) {
        let n = self.bounds.len();
        for c in self.counts.entry(key).or_insert_with(|| vec![0; n]) {
            *c += 1;
        }
    }
}

/// The decision over a history held in memory: the awards' event times and
/// whether each is revoked (the store's counts, done here).
pub fn refusal_over(
    level: Level,
    constraints: &[Constraint],
    history: &[(Micros, bool)],
    at: Micros,
    starts_on: Micros,
) -> Option<Problem> {
    let tally = Tally::new(level, constraints, at, starts_on);
    let counts: Vec<u64> = tally
        .spans()
        .iter()
        .map(|span| {
            history
                .iter()
                .filter(|(t, revoked)| !revoked && span.contains(*t))
                .count() as u64
        })
        .collect();
    tally.counted(HashMap::from([(0, counts)])).refusal(0)
}

/// A constraint with the awards it counts at one time (the detail call's
/// standing of a customer, or of all customers, against it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub constraint: Constraint,
    /// One count per window: a rolling window's by its unit; the others'
    /// (and "no limit"'s, every award) with none.
    pub counts: Vec<(Option<Unit>, u64)>,
    /// A fixed window's current cycle.
    pub cycle: Option<CycleSpan>,
}

/// The spans the standings at `at` count, in order: each constraint's bounds,
/// and every award for "no limit".
pub fn standing_spans(constraints: &[Constraint], at: Micros, starts_on: Micros) -> Vec<Span> {
    constraints
        .iter()
        .enumerate()
        .flat_map(|(i, c)| match c.kind {
            Kind::NoLimit => vec![Span::ALL],
            _ => c.bounds(i, at, starts_on).iter().map(|b| b.span).collect(),
        })
        .collect()
}

/// The standings at `at`, from the counts of [`standing_spans`]' spans.
pub fn standings(
    constraints: &[Constraint],
    at: Micros,
    starts_on: Micros,
    counts: &[u64],
) -> Vec<Standing> {
    let mut counts = counts.iter().copied();
    constraints
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let units: Vec<Option<Unit>> = match c.kind {
                Kind::NoLimit => vec![None],
                _ => c.bounds(i, at, starts_on).iter().map(|b| b.unit).collect(),
            };
            Standing {
                constraint: c.clone(),
                counts: units
                    .into_iter()
                    .map(|u| (u, counts.next().unwrap_or(0)))
                    .collect(),
                cycle: match c.kind {
                    Kind::FixedWindow { cycle, .. } => Some(cycle_at(cycle, starts_on, at)),
                    _ => None,
                },
            }
        })
        .collect()
}

/// A cycle's reference: the badge, the level and the cycle's number.
pub fn cycle_reference(badge_id: &str, level: Level, number: i64) -> String {
    format!("{badge_id}:{}:{number}", level.word())
}

/// Whole seconds of an instant on a cycle's edge (always midnight UTC).
fn seconds(t: Micros) -> i64 {
    t.0.div_euclid(1_000_000)
}

impl Standing {
    /// Upstream's shape of a constraint in the detail call (`upstream-badges.md`
    /// §16): its fields, `maxEarnLimit`, the counts in
    /// `earnConstraintBlockStatistics` and a fixed window's current cycle.
    /// A customer rolling window of several units lists each in
    /// `rollingWindowLimits`.
    pub fn to_json(&self, badge_id: &str) -> Value {
        let c = &self.constraint;
        let count_of = |unit: Unit| {
            self.counts
                .iter()
                .find(|(u, _)| *u == Some(unit))
                .map(|(_, n)| *n)
        };
        let current = self.counts.first().map_or(0, |(_, n)| *n);
        let (kind, max) = match &c.kind {
            Kind::NoLimit => ("NO_LIMIT", None),
            Kind::FixedValue { max } => ("OVERALL", Some(*max)),
            Kind::Rolling(rolls) => ("ROLLING_WINDOW", rolls.first().map(|r| r.max)),
            Kind::FixedWindow { max, .. } => ("FIXED_WINDOW", Some(*max)),
        };
        let (roll_type, roll_value, limits) = match &c.kind {
            Kind::Rolling(rolls) => (
                rolls.first().map(|r| r.unit.name()),
                rolls.first().map(|r| r.length),
                Value::Array(
                    rolls
                        .iter()
                        .map(|r| {
                            json!({"rollType": r.unit.name(), "rollValue": r.length,
                                   "maxEarnLimit": r.max, "currentEarnCount": count_of(r.unit)})
                        })
                        .collect(),
                ),
            ),
            _ => (None, None, Value::Null),
        };
        let (duration, refresh, start_day) = match &c.kind {
            Kind::FixedWindow { cycle, .. } => match cycle {
                Cycle::Days(n) => (Some("DAILY"), Some(*n), None),
                Cycle::Weeks(d) => (Some("WEEKLY"), None, Some(WEEKDAYS[*d as usize])),
                Cycle::Months => (Some("MONTHLY"), None, None),
            },
            _ => (None, None, None),
        };
        json!({
            "constraintLevel": c.level.word(),
            "constraintType": kind,
            "rollType": roll_type,
            "rollValue": roll_value,
            "refreshRate": refresh,
            "durationType": duration,
            "cycleStatus": duration.map(|_| "ACTIVE"),
            "startDayOfTheWeek": start_day,
            "maxEarnLimit": max,
            "earnConstraintBlockStatistics": {
                "currentEarnCount": current,
                "currentEarnCountDays": count_of(Unit::Days),
                "currentEarnCountWeeks": count_of(Unit::Weeks),
                "currentEarnCountMonths": count_of(Unit::Months),
            },
            "fixedWindowCycle": self.cycle.map(|cy| json!({
                "startDate": seconds(cy.start),
                "endDate": seconds(cy.end),
            })),
            "fixedWindowReferenceId": self.cycle.map(|cy| cycle_reference(badge_id, c.level, cy.number)),
            "rollingWindowLimits": limits,
        })
    }
}

fn datetime(t: Micros) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(t.0)
}

/// `(at − length, at]` as a half-open span.
fn rolling_span(unit: Unit, length: u32, at: Micros) -> Span {
    let start = match unit {
        Unit::Days => at.0.checked_sub(i64::from(length) * DAY),
        Unit::Weeks => at.0.checked_sub(i64::from(length) * 7 * DAY),
        Unit::Months => datetime(at)
            .and_then(|t| t.checked_sub_months(Months::new(length)))
            .map(|t| t.timestamp_micros()),
    };
    Span {
        from: start.and_then(|s| s.checked_add(1)).map(Micros),
        until: at.0.checked_add(1).map(Micros),
    }
}

/// The day number (days since 1970-01-01) of an instant, in UTC.
fn day_of(t: Micros) -> i64 {
    t.0.div_euclid(DAY)
}

/// Midnight UTC of a day number.
fn midnight(day: i64) -> Micros {
    Micros(day.saturating_mul(DAY))
}

/// A month number (months since 1970-01) and its first instant.
fn month_of(t: Micros) -> Option<i64> {
    let d = datetime(t)?;
    Some(i64::from(d.year()) * 12 + i64::from(d.month0()))
}

fn month_start(month: i64) -> Option<Micros> {
    let year = i32::try_from(month.div_euclid(12)).ok()?;
    let m = u32::try_from(month.rem_euclid(12)).ok()? + 1;
    let d = NaiveDate::from_ymd_opt(year, m, 1)?;
    Some(Micros(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros()))
}

/// The first day of a weekly cycle on or before `day`.
fn week_anchor(day: i64, start: u8) -> i64 {
    // 1970-01-01 was a Thursday (3, with Monday 0).
    let weekday = (day + 3).rem_euclid(7);
    day - (weekday - i64::from(start)).rem_euclid(7)
}

/// The cycle `number` (0 = the one holding the badge's start).
pub fn cycle_number(cycle: Cycle, starts_on: Micros, number: i64) -> CycleSpan {
    match cycle {
        Cycle::Days(n) => {
            let first = day_of(starts_on) + number * i64::from(n);
            CycleSpan {
                number,
                start: midnight(first),
                end: midnight(first + i64::from(n)),
            }
        }
        Cycle::Weeks(d) => {
            let first = week_anchor(day_of(starts_on), d) + number * 7;
            CycleSpan {
                number,
                start: midnight(first),
                end: midnight(first + 7),
            }
        }
        Cycle::Months => {
            let first = month_of(starts_on).unwrap_or(0) + number;
            CycleSpan {
                number,
                start: month_start(first).unwrap_or(Micros(i64::MIN)),
                end: month_start(first + 1).unwrap_or(Micros(i64::MAX)),
            }
        }
    }
}

/// The cycle that holds `at`.
pub fn cycle_at(cycle: Cycle, starts_on: Micros, at: Micros) -> CycleSpan {
    let number = match cycle {
        Cycle::Days(n) => (day_of(at) - day_of(starts_on)).div_euclid(i64::from(n)),
        Cycle::Weeks(d) => (day_of(at) - week_anchor(day_of(starts_on), d)).div_euclid(7),
        Cycle::Months => month_of(at).unwrap_or(0) - month_of(starts_on).unwrap_or(0),
    };
    cycle_number(cycle, starts_on, number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problems::{CODE_CONSTRAINT_CHANGE, CODE_EARN_LIMIT_REACHED};
    use proptest::prelude::*;

    fn parse(level: Level, v: Value) -> Result<Constraint, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut out = read(level, &[v], &mut problems);
        if problems.is_empty() {
            Ok(out.remove(0))
        } else {
            Err(problems)
        }
    }

    fn refs(r: Result<Constraint, Vec<Problem>>) -> Vec<String> {
        r.unwrap_err()
            .into_iter()
            .map(|p| p.reference.unwrap_or_default())
            .collect()
    }

    #[test]
    fn upstream_s_spellings_read_and_are_written_back_in_one_form() {
        let weekly = parse(
            Level::Customer,
            json!({"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1,
                   "durationType": "WEEKS", "startDayOfTheWeek": 1, "referenceId": "x",
                   "cycleStatus": "UPCOMING"}),
        )
        .unwrap();
        assert_eq!(
            weekly.to_json(),
            json!({"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1,
                   "durationType": "WEEKLY", "startDayOfTheWeek": "MONDAY", "cycleStatus": "ACTIVE"})
        );
        let rolling = parse(
            Level::Customer,
            json!({"constraintType": "CUSTOMER_BADGE_ROLLING_WINDOW", "maxEarnForDays": 2,
                   "rollForDays": 30.0, "maxEarnForMonths": 5, "rollForMonths": 3}),
        )
        .unwrap();
        assert_eq!(
            rolling.kind,
            Kind::Rolling(vec![
                Roll {
                    unit: Unit::Days,
                    length: 30,
                    max: 2
                },
                Roll {
                    unit: Unit::Months,
                    length: 3,
                    max: 5
                }
            ])
        );
        let badge = parse(
            Level::Badge,
            json!({"constraintType": "badge_rolling_window", "rollType": "WEEKS", "rollValue": 2,
                   "maxEarnLimit": 100}),
        )
        .unwrap();
        // What is written reads back as itself.
        for c in [weekly, rolling, badge] {
            let again: Constraint = serde_json::from_value(c.to_json()).unwrap();
            assert_eq!(again, c);
        }
    }

    #[test]
    fn every_problem_is_named_by_its_place() {
        assert_eq!(
            refs(parse(
                Level::Customer,
                json!({"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 1})
            )),
            ["customerConstraints[0].constraintType"]
        );
        assert_eq!(
            refs(parse(
                Level::Customer,
                json!({"constraintType": "CUSTOMER_BADGE_FIXED_VALUE", "maxEarnLimt": 1})
            )),
            [
                "customerConstraints[0].maxEarnLimt",
                "customerConstraints[0].maxEarnLimit"
            ]
        );
        assert_eq!(
            refs(parse(
                Level::Badge,
                json!({"constraintType": "BADGE_FIXED_WINDOW", "maxEarnLimit": 0,
                       "durationType": "DAILY"})
            )),
            [
                "badgeConstraints[0].maxEarnLimit",
                "badgeConstraints[0].refreshRate"
            ]
        );
        assert_eq!(
            refs(parse(
                Level::Customer,
                json!({"constraintType": "CUSTOMER_BADGE_ROLLING_WINDOW", "maxEarnForDays": 2})
            )),
            ["customerConstraints[0].rollForDays"]
        );
        let mut problems = Vec::new();
        read(
            Level::Badge,
            &[
                json!({"constraintType": "BADGE_NO_LIMIT"}),
                json!({"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3}),
                json!({"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 4}),
            ],
            &mut problems,
        );
        let refs: Vec<_> = problems
            .iter()
            .map(|p| p.reference.clone().unwrap())
            .collect();
        assert_eq!(
            refs,
            [
                "badgeConstraints[0].constraintType",
                "badgeConstraints[2].constraintType"
            ],
            "no limit beside a limit, and a type given twice"
        );
    }

    #[test]
    fn a_live_badge_changes_limits_and_swaps_rolling_for_fixed_value_only() {
        let c = |v: Value| parse(Level::Customer, v).unwrap();
        let fixed = c(json!({"constraintType": "CUSTOMER_BADGE_FIXED_VALUE", "maxEarnLimit": 3}));
        let rolling = c(json!({"constraintType": "CUSTOMER_BADGE_ROLLING_WINDOW",
                               "maxEarnForDays": 1, "rollForDays": 7}));
        let weekly = |max: u32, day: &str| {
            c(
                json!({"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": max,
                     "durationType": "WEEKLY", "startDayOfTheWeek": day}),
            )
        };
        let code = |a: &[Constraint], b: &[Constraint]| {
            check_change(a, b, Level::Customer).map(|p| p.code)
        };
        assert_eq!(
            code(std::slice::from_ref(&fixed), std::slice::from_ref(&rolling)),
            None
        );
        assert_eq!(
            code(std::slice::from_ref(&rolling), std::slice::from_ref(&fixed)),
            None
        );
        assert_eq!(code(&[weekly(1, "MONDAY")], &[weekly(5, "MONDAY")]), None);
        for (a, b) in [
            (vec![weekly(1, "MONDAY")], vec![weekly(1, "SUNDAY")]),
            (vec![weekly(1, "MONDAY")], vec![fixed.clone()]),
            (vec![rolling.clone()], vec![weekly(1, "MONDAY")]),
            (vec![], vec![fixed.clone()]),
            (vec![fixed.clone()], vec![]),
        ] {
            assert_eq!(code(&a, &b), Some(CODE_CONSTRAINT_CHANGE), "{a:?} → {b:?}");
        }
    }

    const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z, a Thursday

    #[test]
    fn cycles_are_calendar_spans_in_utc_from_the_badge_s_start() {
        let starts = Micros(T0 + 15 * 3_600_000_000); // Thursday 15:00
        // Weekly from Monday: the first cycle began on Monday 2025-12-29.
        let c = cycle_at(Cycle::Weeks(0), starts, starts);
        assert_eq!(
            (c.number, c.start, c.end),
            (0, Micros(T0 - 3 * DAY), Micros(T0 + 4 * DAY))
        );
        let next = cycle_at(Cycle::Weeks(0), starts, Micros(T0 + 4 * DAY));
        assert_eq!(next.number, 1);
        // Every 3 days from the start day's midnight.
        let c = cycle_at(Cycle::Days(3), starts, Micros(T0 + 3 * DAY - 1));
        assert_eq!((c.number, c.start), (0, Micros(T0)));
        // Monthly: February 2028 ends on the 29th.
        let feb = month_start(2028 * 12 + 1).unwrap();
        let c = cycle_at(Cycle::Months, starts, feb);
        assert_eq!(c.end.0 - c.start.0, 29 * DAY);
        assert_eq!(c.number, 25);
    }

    #[test]
    fn a_refusal_names_the_constraint_broken() {
        let cs = [parse(
            Level::Badge,
            json!({"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 2}),
        )
        .unwrap()];
        let at = Micros(T0);
        let history = [(Micros(T0 - 1), false), (Micros(T0 - 2), true)];
        assert_eq!(refusal_over(Level::Badge, &cs, &history, at, at), None);
        let history = [(Micros(T0 - 1), false), (Micros(T0 - 2), false)];
        let p = refusal_over(Level::Badge, &cs, &history, at, at).unwrap();
        assert_eq!(p.code, CODE_EARN_LIMIT_REACHED);
        assert_eq!(p.reference.as_deref(), Some("badgeConstraints[0]"));
        assert!(p.message.contains("BADGE_FIXED_VALUE"), "{}", p.message);
    }

    // The brute force the property test holds the rule to: civil dates by
    // hand (no chrono), cycles found by stepping, windows by their words.

    fn civil(day: i64) -> (i64, i64, i64) {
        let z = day + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn month_length(y: i64, m: i64) -> i64 {
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
    }

    fn months_back(t: i64, n: i64) -> i64 {
        let day = t.div_euclid(DAY);
        let time = t.rem_euclid(DAY);
        let (y, m, d) = civil(day);
        let total = y * 12 + (m - 1) - n;
        let (y2, m2) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let d2 = d.min(month_length(y2, m2));
        days_from_civil(y2, m2, d2) * DAY + time
    }

    /// The start of the cycle holding `t`, found by walking from the first.
    fn brute_cycle(cycle: Cycle, starts_on: i64, t: i64) -> (i64, i64) {
        let first_day = starts_on.div_euclid(DAY);
        let step = |start: i64, forward: bool| -> i64 {
            match cycle {
                Cycle::Days(n) => start + if forward { 1 } else { -1 } * i64::from(n) * DAY,
                Cycle::Weeks(_) => start + if forward { 7 } else { -7 } * DAY,
                Cycle::Months => {
                    let (y, m, _) = civil(start.div_euclid(DAY));
                    let total = y * 12 + m - 1 + if forward { 1 } else { -1 };
                    days_from_civil(total.div_euclid(12), total.rem_euclid(12) + 1, 1) * DAY
                }
            }
        };
        let mut start = match cycle {
            Cycle::Days(_) => first_day * DAY,
            Cycle::Weeks(w) => {
                let mut d = first_day;
                // Monday is day 0; 1970-01-05 was a Monday.
                while (d - 4).rem_euclid(7) != i64::from(w) {
                    d -= 1;
                }
                d * DAY
            }
            Cycle::Months => {
                let (y, m, _) = civil(first_day);
                days_from_civil(y, m, 1) * DAY
            }
        };
        while t < start {
            start = step(start, false);
        }
        while step(start, true) <= t {
            start = step(start, true);
        }
        (start, step(start, true))
    }

    fn brute(
        constraints: &[Constraint],
        history: &[(Micros, bool)],
        at: i64,
        starts_on: i64,
    ) -> bool {
        let live: Vec<i64> = history.iter().filter(|h| !h.1).map(|h| h.0.0).collect();
        constraints.iter().all(|c| match &c.kind {
            Kind::NoLimit => true,
            Kind::FixedValue { max } => (live.len() as u64) < u64::from(*max),
            Kind::Rolling(rolls) => rolls.iter().all(|r| {
                let start = match r.unit {
                    Unit::Days => at - i64::from(r.length) * DAY,
                    Unit::Weeks => at - i64::from(r.length) * 7 * DAY,
                    Unit::Months => months_back(at, i64::from(r.length)),
                };
                let n = live.iter().filter(|&&t| start < t && t <= at).count();
                (n as u64) < u64::from(r.max)
            }),
            Kind::FixedWindow { max, cycle } => {
                let (s, e) = brute_cycle(*cycle, starts_on, at);
                let n = live.iter().filter(|&&t| s <= t && t < e).count();
                (n as u64) < u64::from(*max)
            }
        })
    }

    fn constraint() -> impl Strategy<Value = Constraint> {
        let unit = prop_oneof![Just(Unit::Days), Just(Unit::Weeks), Just(Unit::Months)];
        let cycle = prop_oneof![
            (1u32..10).prop_map(Cycle::Days),
            (0u8..7).prop_map(Cycle::Weeks),
            Just(Cycle::Months)
        ];
        prop_oneof![
            Just(Kind::NoLimit),
            (1u32..6).prop_map(|max| Kind::FixedValue { max }),
            prop::collection::vec((unit, 1u32..5, 1u32..5), 1..3).prop_map(|r| Kind::Rolling(
                r.into_iter()
                    .map(|(unit, length, max)| Roll { unit, length, max })
                    .collect()
            )),
            (1u32..5, cycle).prop_map(|(max, cycle)| Kind::FixedWindow { max, cycle }),
        ]
        .prop_map(|kind| Constraint {
            level: Level::Customer,
            kind,
        })
    }

    /// An instant near month ends and leap days: 2027-12-20 … 2028-03-10,
    /// on the hour or on a cycle's edge (midnight) ± 1 µs.
    fn instant() -> impl Strategy<Value = i64> {
        let base = days_from_civil(2027, 12, 20) * DAY;
        prop_oneof![
            (0i64..82 * 24).prop_map(move |h| base + h * 3_600_000_000),
            (0i64..82, -1i64..=1).prop_map(move |(d, e)| base + d * DAY + e),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_rule_is_the_brute_force_count(
            constraints in prop::collection::vec(constraint(), 1..3),
            history in prop::collection::vec((instant(), any::<bool>()), 0..12),
            at in instant(),
            starts_on in instant(),
        ) {
            let history: Vec<(Micros, bool)> =
                history.into_iter().map(|(t, r)| (Micros(t), r)).collect();
            let ours = refusal_over(
                Level::Customer, &constraints, &history, Micros(at), Micros(starts_on),
            ).is_none();
            prop_assert_eq!(ours, brute(&constraints, &history, at, starts_on));
        }
    }
}
