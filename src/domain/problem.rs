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
