//! A badge as an org defines it: the one shape that create answers, the
//! store writes and reads back, the catalogue holds, and the demo, the tests
//! and the benchmark's datasets are written in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Micros;
use super::constraints::Constraint;
use super::enums::{EarnType, Owner};
use super::expiry::ExpiryRule;

/// A badge of an org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Badge {
    pub id: String,
    pub org_id: i32,
    pub name: String,
    pub description: String,
    pub earn_type: EarnType,
    pub active: bool,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub created_on: Micros,
    pub last_updated_on: Micros,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    /// In creation order.
    pub images: Vec<Image>,
    /// The owners it is restricted to, each once, in the order given.
    pub owners: Vec<Owner>,
    /// Active and inactive, in creation order.
    pub claims: Vec<Claim>,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
    /// The API client that created it, and the one that changed it last
    /// (`None` for badges written by the seed or the demo).
    pub created_by: Option<i32>,
    pub last_updated_by: Option<i32>,
    pub extras: Extras,
}

/// What upstream's badge carries beside its definition (BEHAVIOUR.md §9.1):
/// kept and returned as given, except the constraints, which are read into
/// earn limits (§11). `C` is a constraint as a caller sent it
/// (`serde_json::Value`, in a request) or as read ([`Constraint`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Extras<C = Constraint> {
    pub tags: Vec<Tag>,
    /// Values of the org's custom fields, by field name, as text.
    pub custom_fields: BTreeMap<String, String>,
    pub benefits: Vec<serde_json::Value>,
    pub default_till_id: Option<i64>,
    pub customer_constraints: Vec<C>,
    pub badge_constraints: Vec<C>,
}

impl<C> Default for Extras<C> {
    fn default() -> Self {
        Extras {
            tags: Vec::new(),
            custom_fields: BTreeMap::new(),
            benefits: Vec::new(),
            default_till_id: None,
            customer_constraints: Vec::new(),
            badge_constraints: Vec::new(),
        }
    }
}

/// A tag of a badge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

impl Badge {
    /// What the write rules need of it.
    pub fn rules(&self) -> BadgeRules {
        BadgeRules {
            earn_type: self.earn_type,
            active: self.active,
            starts_on: self.starts_on,
            expires_on: self.expires_on,
            earned_badge_expiry: self.earned_badge_expiry,
            issued_badge_expiry: self.issued_badge_expiry,
            customer_constraints: self.extras.customer_constraints.clone(),
            badge_constraints: self.extras.badge_constraints.clone(),
        }
    }
}

/// One image of a badge.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    pub name: String,
    pub file_svc_handle: String,
    pub url: String,
    pub tag: String,
}

/// A module instance using a badge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub owner_type: Owner,
    pub reference_id: String,
    pub is_active: bool,
}

/// What the rules need of a stored badge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeRules {
    pub earn_type: EarnType,
    pub active: bool,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
    pub customer_constraints: Vec<Constraint>,
    pub badge_constraints: Vec<Constraint>,
}

impl BadgeRules {
    /// Whether `at` lies in the badge's own window `[starts_on, expires_on)`.
    pub fn window_open(&self, at: Micros) -> bool {
        self.starts_on <= at && at < self.expires_on
    }

    /// When an award recorded at `awarded_at` expires.
    pub fn award_expiry(&self, awarded_at: Micros) -> Option<Micros> {
        self.earned_badge_expiry
            .expires_at(awarded_at, self.expires_on)
    }

    /// When an enrolment recorded at `issued_at` expires.
    pub fn enrolment_expiry(&self, issued_at: Micros) -> Option<Micros> {
        self.issued_badge_expiry
            .expires_at(issued_at, self.expires_on)
    }
}
