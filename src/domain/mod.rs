//! Badge rules: what each enum means, how a list request is validated, and how
//! a badge's status follows from the clock. No I/O and no transport types.

pub mod admin;
pub mod badge;
pub mod catalogue;
pub mod clock;
pub mod constraints;
pub mod cursor;
pub mod custom_fields;
pub mod detail;
pub mod email;
pub mod enums;
pub mod events;
pub mod expiry;
pub mod extras;
pub mod fields;
pub mod fixed_windows;
pub mod holdings;
pub mod ids;
pub mod list;
pub mod older_list;
pub mod org_list;
pub mod page;
pub mod principal;
pub mod problems;
pub mod rules;
pub mod shape;
pub mod time;
pub mod update;

pub use clock::{Clock, FixedClock, SystemClock};
pub use email::customer_email;
pub use problems::Problem;
pub use time::Micros;
