//! How expiry rules are kept in the `badges` table: JSON of a form that
//! belongs to the store, apart from the API's wire forms, so that neither can
//! change the other. (It is the JSON the first releases wrote.)

use serde::{Deserialize, Serialize};

use crate::domain::admin::{ExpiryRule, RelativeUnit};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
#[serde(tag = "expiryType", rename_all = "SCREAMING_SNAKE_CASE")]
enum StoredRule {
    Never,
    Relative {
        #[serde(rename = "relativeExpiryType")]
        unit: StoredUnit,
        value: u32,
    },
    Absolute {
        /// Epoch seconds.
        #[serde(rename = "expiresOn")]
        expires_on: i64,
    },
    WithBadge,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum StoredUnit {
    Days,
    Weeks,
    Months,
}

/// The rule a column holds.
pub(crate) fn stored_rule(json: &str) -> Result<ExpiryRule> {
    let stored: StoredRule = serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("stored expiry rule: {e}")))?;
    Ok(match stored {
        StoredRule::Never => ExpiryRule::Never,
        StoredRule::WithBadge => ExpiryRule::WithBadge,
        StoredRule::Absolute { expires_on } => ExpiryRule::Absolute { expires_on },
        StoredRule::Relative { unit, value } => ExpiryRule::Relative {
            relative_expiry_type: match unit {
                StoredUnit::Days => RelativeUnit::Days,
                StoredUnit::Weeks => RelativeUnit::Weeks,
                StoredUnit::Months => RelativeUnit::Months,
            },
            value,
        },
    })
}

/// The column's JSON of a rule.
pub(super) fn stored_rule_json(rule: ExpiryRule) -> String {
    let stored = match rule {
        ExpiryRule::Never => StoredRule::Never,
        ExpiryRule::WithBadge => StoredRule::WithBadge,
        ExpiryRule::Absolute { expires_on } => StoredRule::Absolute { expires_on },
        ExpiryRule::Relative {
            relative_expiry_type,
            value,
        } => StoredRule::Relative {
            unit: match relative_expiry_type {
                RelativeUnit::Days => StoredUnit::Days,
                RelativeUnit::Weeks => StoredUnit::Weeks,
                RelativeUnit::Months => StoredUnit::Months,
            },
            value,
        },
    };
    // Serialising a plain enum of strings and integers cannot fail.
    serde_json::to_string(&stored).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_round_trips_and_reads_the_columns_already_written() {
        for rule in [
            ExpiryRule::Never,
            ExpiryRule::WithBadge,
            ExpiryRule::Absolute { expires_on: 5 },
            ExpiryRule::Relative {
                relative_expiry_type: RelativeUnit::Months,
                value: 3,
            },
        ] {
            assert_eq!(stored_rule(&stored_rule_json(rule)).unwrap(), rule);
        }
        assert_eq!(
            stored_rule(r#"{"expiryType":"RELATIVE","relativeExpiryType":"DAYS","value":30}"#)
                .unwrap(),
            ExpiryRule::Relative {
                relative_expiry_type: RelativeUnit::Days,
                value: 30
            }
        );
        assert_eq!(
            stored_rule(r#"{"expiryType":"NEVER"}"#).unwrap(),
            ExpiryRule::Never
        );
        assert!(stored_rule("{}").is_err());
    }
}
