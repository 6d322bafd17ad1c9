//! The problems a request can have, in the shape of the upstream error
//! envelope: one constructor per upstream code, so that a code, its message
//! and the parameter it concerns are written once.

/// A problem found in a request: its upstream code, a message a caller can act
/// on, and the parameter it concerns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub code: u32,
    pub message: String,
    pub reference: Option<String>,
}

pub const CODE_BAD_REQUEST: u32 = 400;
pub const CODE_INVALID_IDENTIFIER_TYPE: u32 = 1028;
pub const CODE_CUSTOMER_NOT_FOUND: u32 = 1026;

// The write API's codes (upstream's numbers).
pub const CODE_OWNER_INVALID: u32 = 714;
pub const CODE_START_AFTER_EXPIRY: u32 = 720;
pub const CODE_START_IN_PAST: u32 = 722;
pub const CODE_START_LOCKED: u32 = 723;
pub const CODE_EXPIRY_IN_PAST: u32 = 724;
pub const CODE_BADGE_NAME_TAKEN: u32 = 725;
pub const CODE_NO_OWNER: u32 = 728;
pub const CODE_GROUP_RANK_REQUIRED: u32 = 732;
pub const CODE_GROUP_NAME_TAKEN: u32 = 733;
pub const CODE_REFERENCE_REQUIRED: u32 = 717;
pub const CODE_UNKNOWN_CLAIM: u32 = 737;
pub const CODE_REQUEST_ID_REUSED: u32 = 809;
pub const CODE_NOT_ENROLLED: u32 = 811;
/// An earn outside what the badge allows now: inactive, or its window closed.
pub const CODE_BADGE_NOT_EARNABLE: u32 = 812;
pub const CODE_NO_ACTIVE_AWARD: u32 = 814;
/// An event time outside the badge's window (or, for an ISSUE_EARN earn,
/// outside the enrolment's).
pub const CODE_EVENT_OUTSIDE_WINDOW: u32 = 816;
/// An earn whose `triggeredBy` is not an active claim of the badge.
pub const CODE_CLAIM_REQUIRED: u32 = 810;
/// A revokeIssue with neither `customers` nor `revokeIssuals`.
pub const CODE_REVOCATIONS_REQUIRED: u32 = 1051;
/// A revokeIssue item with no live enrolment to revoke (upstream's 404).
pub const CODE_NO_ISSUE_INSTANCE: u32 = 404;
pub const CODE_IDENTIFIER_TAKEN: u32 = 409;
pub const CODE_ALREADY_ENROLLED: u32 = 1040;
/// Enrolment into a badge that is not ISSUE_EARN.
pub const CODE_NOT_ISSUE_EARN: u32 = 1041;
pub const CODE_BADGE_NOT_FOUND: u32 = 1054;
pub const CODE_GROUP_NOT_FOUND: u32 = 1055;
/// This service's own: upstream documents no code for these.
pub const CODE_CUSTOM_FIELD_NOT_FOUND: u32 = 1056;
pub const CODE_CUSTOM_FIELD_NAME_TAKEN: u32 = 1057;
/// This service's own: an earn past one of the badge's limits (BEHAVIOUR.md
/// §11), naming the constraint.
pub const CODE_EARN_LIMIT_REACHED: u32 = 1058;
/// A live badge's constraint changed in a way upstream refuses.
pub const CODE_CONSTRAINT_CHANGE: u32 = 826;

impl Problem {
    fn new(code: u32, reference: &str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            reference: Some(reference.to_owned()),
        }
    }

    /// 400: a parameter that is missing, malformed or out of range.
    pub fn invalid(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_BAD_REQUEST, reference, message)
    }

    /// 409: an identifier (email, mobile, ...) that belongs to another customer.
    pub fn identifier_taken(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_IDENTIFIER_TAKEN, reference, message)
    }

    /// 714: an owner that is not one of upstream's, or not one of the badge's.
    pub fn owner_invalid(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_OWNER_INVALID, reference, message)
    }

    /// 720
    pub fn start_after_expiry() -> Self {
        Problem::new(
            CODE_START_AFTER_EXPIRY,
            "startOn",
            "startOn must be before expiresOn",
        )
    }

    /// 722
    pub fn start_in_past() -> Self {
        Problem::new(
            CODE_START_IN_PAST,
            "startOn",
            "startOn may not be in the past",
        )
    }

    /// 723
    pub fn start_locked() -> Self {
        Problem::new(
            CODE_START_LOCKED,
            "startOn",
            "startOn can change only while the badge is UPCOMING",
        )
    }

    /// 724
    pub fn expiry_in_past() -> Self {
        Problem::new(
            CODE_EXPIRY_IN_PAST,
            "expiresOn",
            "expiresOn may not be in the past",
        )
    }

    /// 717
    pub fn reference_required() -> Self {
        Problem::new(
            CODE_REFERENCE_REQUIRED,
            "referenceId",
            "OwnerId (referenceId) is mandatory",
        )
    }

    /// 1056
    pub fn custom_field_not_found() -> Self {
        Problem::new(
            CODE_CUSTOM_FIELD_NOT_FOUND,
            "customFieldId",
            "Custom field not found",
        )
    }

    /// 1057
    pub fn custom_field_name_taken() -> Self {
        Problem::new(
            CODE_CUSTOM_FIELD_NAME_TAKEN,
            "name",
            "a custom field with this name already exists",
        )
    }

    /// 725
    pub fn badge_name_taken() -> Self {
        Problem::new(
            CODE_BADGE_NAME_TAKEN,
            "name",
            "a badge with this name already exists",
        )
    }

    /// 728
    pub fn no_owner() -> Self {
        Problem::new(
            CODE_NO_OWNER,
            "ownership.restrictedToOwners",
            "at least one restricted owner is required",
        )
    }

    /// 732
    pub fn group_rank_required() -> Self {
        Problem::new(CODE_GROUP_RANK_REQUIRED, "rank", "rank is required")
    }

    /// 733
    pub fn group_name_taken() -> Self {
        Problem::new(
            CODE_GROUP_NAME_TAKEN,
            "name",
            "a group with this name already exists",
        )
    }

    /// 737
    pub fn unknown_claim() -> Self {
        Problem::new(
            CODE_UNKNOWN_CLAIM,
            "referenceId",
            "there is no such claim on this badge",
        )
    }

    /// 809
    pub fn request_id_reused() -> Self {
        Problem::new(
            CODE_REQUEST_ID_REUSED,
            "requestId",
            "requestId was already used with a different request",
        )
    }

    /// 811
    pub fn not_enrolled() -> Self {
        Problem::new(
            CODE_NOT_ENROLLED,
            "customerId",
            "the customer has no live enrolment in this ISSUE_EARN badge",
        )
    }

    /// 812: the badge cannot be earned (inactive, or outside its window).
    pub fn badge_not_earnable(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_BADGE_NOT_EARNABLE, reference, message)
    }

    /// 814
    pub fn no_active_award() -> Self {
        Problem::new(
            CODE_NO_ACTIVE_AWARD,
            "earnedBadgeId",
            "there is no active award with this earnedBadgeId for this badge and customer",
        )
    }

    /// 816, about the parameter that carried the event time.
    pub fn event_outside_window(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_EVENT_OUTSIDE_WINDOW, reference, message)
    }

    /// 1058: `reference` names the constraint (`customerConstraints[0]`).
    pub fn earn_limit_reached(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_EARN_LIMIT_REACHED, reference, message)
    }

    /// 826
    pub fn constraint_change(reference: &str, message: impl Into<String>) -> Self {
        Problem::new(CODE_CONSTRAINT_CHANGE, reference, message)
    }

    /// 810
    pub fn claim_required() -> Self {
        Problem::new(
            CODE_CLAIM_REQUIRED,
            "triggeredBy",
            "the badge needs to be claimed first: triggeredBy is not an active claim of the badge",
        )
    }

    /// 1051
    pub fn revocations_required() -> Self {
        Problem::new(
            CODE_REVOCATIONS_REQUIRED,
            "revokeIssuals",
            "revokeIssuals or customers are required",
        )
    }

    /// 404 in a revokeIssue item: no live enrolment of the customer to revoke.
    pub fn no_issue_instance(reference: &str) -> Self {
        Problem::new(
            CODE_NO_ISSUE_INSTANCE,
            reference,
            "Customer doesn't have issue instance",
        )
    }

    /// 1026
    pub fn customer_not_found() -> Self {
        Problem::new(
            CODE_CUSTOMER_NOT_FOUND,
            "customerId",
            "Customer with the specified ID is not found",
        )
    }

    /// 1028
    pub fn invalid_identifier_type() -> Self {
        Problem::new(
            CODE_INVALID_IDENTIFIER_TYPE,
            "X-CAP-CUSTOMER-IDENTIFIER",
            "Invalid Customer Identifier type",
        )
    }

    /// 1040
    pub fn already_enrolled() -> Self {
        Problem::new(
            CODE_ALREADY_ENROLLED,
            "customers",
            "the customer is already enrolled",
        )
    }

    /// 1041
    pub fn not_issue_earn() -> Self {
        Problem::new(
            CODE_NOT_ISSUE_EARN,
            "badgeMetaId",
            "only ISSUE_EARN badges take enrolments",
        )
    }

    /// 1054, about the parameter that named the badge.
    pub fn badge_not_found(reference: &str) -> Self {
        Problem::new(CODE_BADGE_NOT_FOUND, reference, "Badge not found")
    }

    /// 1055
    pub fn group_not_found() -> Self {
        Problem::new(
            CODE_GROUP_NOT_FOUND,
            "badgeGroupId",
            "Badge group not found",
        )
    }
}
