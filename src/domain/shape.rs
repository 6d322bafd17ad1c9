//! How large stored things may be, and the text every field must be.
//!
//! Each cap keeps one list answer bounded: a page holds at most
//! [`MAX_SIZE`] rows, and the largest row these caps
//! allow, times that, stays under the 4 MiB that gRPC clients accept by
//! default ([`MAX_ROW_BYTES`], checked when this compiles). Text is counted in
//! UTF-8 bytes, what storage and messages carry. NUL is refused everywhere:
//! no database column can hold it.

use super::Problem;

/// Most rows of one page.
pub const MAX_SIZE: i64 = 100;

/// Badge and group names.
pub const MAX_NAME_BYTES: usize = 512;
/// A badge's description.
pub const MAX_DESCRIPTION_BYTES: usize = 2048;
/// An image's name, file service handle and tag.
pub const MAX_IMAGE_FIELD_BYTES: usize = 256;
/// An image's URL.
pub const MAX_URL_BYTES: usize = 2048;
/// A claim's (or an award's trigger's) reference id.
pub const MAX_REFERENCE_BYTES: usize = 128;
/// A customer's email, mobile, external id or card number.
pub const MAX_IDENTIFIER_BYTES: usize = 256;
/// A write's requestId.
pub const MAX_REQUEST_ID_BYTES: usize = 128;
/// Images of one badge.
pub const MAX_IMAGES: usize = 8;
/// Claims of one badge, active and inactive.
pub const MAX_CLAIMS: usize = 50;
/// Restricted owners of one badge: each owner once.
pub const MAX_OWNERS: usize = super::enums::Owner::ALL.len();

/// The most a list row can take in protobuf, with room for every field's tag
/// and length: the texts above at their caps, ids, times, enums and counts.
pub const MAX_ROW_BYTES: usize = {
    const FIELD: usize = 6; // tag and length prefix, generously
    let image = 3 * (MAX_IMAGE_FIELD_BYTES + FIELD) + MAX_URL_BYTES + 2 * FIELD;
    let claim = MAX_REFERENCE_BYTES + 4 * FIELD;
    let texts = 2 * (MAX_NAME_BYTES + FIELD) + MAX_DESCRIPTION_BYTES + FIELD;
    let ids = 2 * (24 + FIELD);
    let times = 7 * 16;
    let scalars = 8 * FIELD;
    let owners = MAX_OWNERS * 2 + FIELD;
    MAX_IMAGES * image + MAX_CLAIMS * claim + texts + ids + times + scalars + owners + FIELD
};

/// A tag's name, a custom field's name.
pub const MAX_KEY_BYTES: usize = 64;
/// A tag's value, a custom field's value.
pub const MAX_VALUE_BYTES: usize = 256;
/// What a badge keeps as given (`domain::extras`), as JSON, at most: what
/// a page of [`MAX_SIZE`] of the org's largest badges leaves room for.
pub const MAX_EXTRAS_BYTES: usize = 3 * 1024;

/// What gRPC clients accept in one message unless told otherwise.
pub const GRPC_DEFAULT_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

const _: () = assert!(
    MAX_ROW_BYTES * (MAX_SIZE as usize) + 4096 < GRPC_DEFAULT_MESSAGE_BYTES,
    "a full page of the largest rows must fit one default gRPC message"
);

// The org's list shows a badge's row, its catalogue fields (org, status,
// authors, counts: 1 KiB is generous) and what it keeps as given, which
// protobuf's Struct may write in up to about twice its JSON bytes.
const _: () = assert!(
    (MAX_ROW_BYTES + 2 * MAX_EXTRAS_BYTES + 1024) * (MAX_SIZE as usize) + 4096
        < GRPC_DEFAULT_MESSAGE_BYTES,
    "a full page of the org's largest badges must fit one default gRPC message"
);

/// Checks one text field: present when `required`, at most `max` bytes, no NUL.
pub fn text(field: &str, value: &str, required: bool, max: usize, problems: &mut Vec<Problem>) {
    if required && value.trim().is_empty() {
        problems.push(Problem::invalid(field, format!("{field} is required")));
    } else if value.len() > max {
        problems.push(Problem::invalid(
            field,
            format!("{field} may be at most {max} bytes"),
        ));
    } else if value.contains('\0') {
        problems.push(no_nul(field));
    }
}

/// The problem of a text holding NUL.
pub fn no_nul(field: &str) -> Problem {
    Problem::invalid(field, format!("{field} may not contain NUL characters"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_checked_for_presence_length_and_nul() {
        let check = |value: &str, required| {
            let mut p = Vec::new();
            text("f", value, required, 4, &mut p);
            p.into_iter().map(|p| p.message).collect::<Vec<_>>()
        };
        assert!(check("abcd", true).is_empty());
        assert_eq!(check(" ", true), ["f is required"]);
        assert!(check("", false).is_empty());
        assert_eq!(check("abcde", false), ["f may be at most 4 bytes"]);
        assert_eq!(
            check("é€", false),
            ["f may be at most 4 bytes"],
            "bytes, not characters"
        );
        assert_eq!(check("a\0b", false), ["f may not contain NUL characters"]);
    }
}
