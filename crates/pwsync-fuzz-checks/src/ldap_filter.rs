//! `ldap_filter`: the search filter check that points at a mistake with a column caret.
//!
//! Properties: the check agrees with ldap3's parser both ways (a filter it accepts is one ldap3
//! encodes, one it refuses is one ldap3 refuses), and a refusal points inside the filter, on a
//! character boundary, with a printable caret line.

use pwsync_ldap::check_filter;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(filter) = std::str::from_utf8(data) else { return };
    let accepted_by_ldap3 = ldap3::parse_filter(filter).is_ok();
    match check_filter(filter) {
        Ok(()) => assert!(accepted_by_ldap3, "accepted a filter that ldap3 refuses"),
        Err(error) => {
            assert!(!accepted_by_ldap3, "refused a filter that ldap3 accepts");
            assert!(error.offset <= filter.len() && filter.is_char_boundary(error.offset), "offset outside");
            assert!(error.column() >= 1 && error.column() <= filter.chars().count() + 1);
            let shown = error.to_string();
            assert!(shown.ends_with('^'), "no caret line");
        }
    }
}
