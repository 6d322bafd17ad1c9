//! Who is calling, once the credentials are checked, and what a call needs
//! of its caller. Made by `auth`, read by every layer above it.

/// What a call needs of its caller. Routes that need nothing (health,
/// reflection, metrics, the OpenAPI document) have no admission at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The OAuth token route: no credentials, but its body is a secret to check.
    Token,
    /// The read calls (`read` right).
    Read,
    /// The admin API (`write` right).
    Write,
}

/// Who is calling, once credentials are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub org_id: i32,
    pub client_id: i32,
    /// The client row's generation when it was checked.
    pub generation: i64,
    pub can_read: bool,
    pub can_write: bool,
}

impl Principal {
    /// Whether the caller has the right `access` needs.
    pub fn allows(&self, access: Access) -> bool {
        match access {
            Access::Token => true,
            Access::Read => self.can_read,
            Access::Write => self.can_write,
        }
    }
}
