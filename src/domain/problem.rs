//! One problem of a request, in the shape of the upstream error envelope.

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
pub const CODE_BADGE_NAME_TAKEN: u32 = 725;
pub const CODE_NO_OWNER: u32 = 728;
pub const CODE_GROUP_RANK_REQUIRED: u32 = 732;
pub const CODE_GROUP_NAME_TAKEN: u32 = 733;
pub const CODE_UNKNOWN_CLAIM: u32 = 737;
pub const CODE_REQUEST_ID_REUSED: u32 = 809;
pub const CODE_NOT_ENROLLED: u32 = 811;
pub const CODE_NO_ACTIVE_AWARD: u32 = 814;
pub const CODE_ALREADY_ENROLLED: u32 = 1040;
pub const CODE_BADGE_NOT_FOUND: u32 = 1054;
pub const CODE_IDENTIFIER_TAKEN: u32 = 409;
pub const CODE_GROUP_NOT_FOUND: u32 = 1055;
/// An earn outside what the badge allows now: inactive, or its window closed.
pub const CODE_BADGE_NOT_EARNABLE: u32 = 812;
/// Enrolment into a badge that is not ISSUE_EARN.
pub const CODE_NOT_ISSUE_EARN: u32 = 1041;

/// A problem with an upstream code, about `reference`.
pub fn problem(code: u32, message: impl Into<String>, reference: &str) -> Problem {
    Problem {
        code,
        message: message.into(),
        reference: Some(reference.to_owned()),
    }
}

impl Problem {
    /// A 400 concerning one parameter.
    pub fn invalid(reference: &str, message: impl Into<String>) -> Self {
        Problem {
            code: CODE_BAD_REQUEST,
            message: message.into(),
            reference: Some(reference.to_owned()),
        }
    }

    pub fn invalid_identifier_type() -> Self {
        Problem {
            code: CODE_INVALID_IDENTIFIER_TYPE,
            message: "Invalid Customer Identifier type".to_owned(),
            reference: Some("X-CAP-CUSTOMER-IDENTIFIER".to_owned()),
        }
    }

    pub fn customer_not_found() -> Self {
        Problem {
            code: CODE_CUSTOMER_NOT_FOUND,
            message: "Customer with the specified ID is not found".to_owned(),
            reference: Some("customerId".to_owned()),
        }
    }
}
