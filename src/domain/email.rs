//! How a customer's email address is compared and stored.
//!
//! Mail servers treat the ASCII letters of an address without regard to
//! case, and nothing more is agreed: Unicode case rules would make
//! `\u{212A}ate@example.com` (KELVIN SIGN) and `kate@example.com`, which a
//! server may deliver to different mailboxes, one customer. So only the
//! ASCII letters are folded; every other character is kept as given.

/// The form an address is stored in and looked up by.
pub fn customer_email(address: &str) -> String {
    address.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::customer_email;

    #[test]
    fn only_ascii_letters_fold() {
        assert_eq!(customer_email("Kate@Example.COM"), "kate@example.com");
        assert_eq!(
            customer_email("\u{212A}ate@example.com"),
            "\u{212A}ate@example.com"
        );
        assert_eq!(customer_email("ÉLISE@Example.com"), "Élise@example.com");
    }
}
