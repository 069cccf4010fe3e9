//! Checks that a configured search filter is valid RFC 4515, and when it is not, points at the
//! first place that is wrong, so that an administrator sees `^` under the mistake instead of
//! "invalid filter".
//!
//! Validity is decided by ldap3's own filter parser, the one that will encode the filter; this
//! module only finds *where* a rejected filter goes wrong, by asking that parser about each
//! parenthesised part. It relies on RFC 4515's rule that a value holds no bare parenthesis
//! (they are written `\28` and `\29`), and must never accept a filter the parser rejects.

use std::fmt;

/// Why a filter is not valid, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub filter: String,
    /// Byte offset of the mistake in `filter`.
    pub offset: usize,
    pub problem: String,
}

impl FilterError {
    /// 1-based character column of the mistake, as an editor shows it.
    pub fn column(&self) -> usize {
        self.filter[..self.offset].chars().count() + 1
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pad = " ".repeat(self.column() - 1);
        write!(
            formatter,
            "not a valid RFC 4515 filter: {} (column {})\n    {}\n    {pad}^",
            self.problem,
            self.column(),
            self.filter
        )
    }
}

impl std::error::Error for FilterError {}

/// `Ok` when ldap3 accepts `filter`; otherwise the first mistake found.
pub fn check_filter(filter: &str) -> Result<(), FilterError> {
    if ldap3::parse_filter(filter).is_ok() {
        return Ok(());
    }
    let error = |offset: usize, problem: &str| FilterError {
        filter: filter.to_string(),
        offset,
        problem: problem.to_string(),
    };
    let parts = match parenthesised_parts(filter) {
        Ok(parts) => parts,
        Err((offset, problem)) => return Err(error(offset, problem)),
    };
    // Innermost parts first: an item like `(cn=a*(` is reported before the `(&...)` around it.
    let (leaves, mut composites): (Vec<Part>, Vec<Part>) = parts.into_iter().partition(|part| part.leaf);
    for leaf in &leaves {
        if ldap3::parse_filter(&filter[leaf.start..leaf.end]).is_err() {
            return Err(error(
                leaf.start,
                "this item is not attribute, operator (=, ~=, >=, <=, :=) and value",
            ));
        }
    }
    composites.sort_by_key(|part| part.end - part.start);
    for composite in &composites {
        if ldap3::parse_filter(&filter[composite.start..composite.end]).is_err() {
            return Err(error(
                composite.start,
                "this group must be (&...), (|...) or (!...) around parenthesised filters only \
                 ((!...) takes exactly one)",
            ));
        }
    }
    Err(error(0, "the filter is not accepted as a whole"))
}

/// One `( ... )` span of the filter.
#[derive(Debug)]
struct Part {
    start: usize,
    end: usize,
    /// It holds no other parenthesised part.
    leaf: bool,
}

/// Every parenthesised part, or the offset of an unbalanced parenthesis or stray text.
fn parenthesised_parts(filter: &str) -> Result<Vec<Part>, (usize, &'static str)> {
    let mut parts = Vec::new();
    // (start, holds a nested part)
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut outermost_closed = false;
    for (offset, character) in filter.char_indices() {
        match character {
            '(' => {
                if outermost_closed && open.is_empty() {
                    return Err((offset, "text after the end of the filter"));
                }
                if let Some(parent) = open.last_mut() {
                    parent.1 = true;
                }
                open.push((offset, false));
            }
            ')' => {
                let Some((start, nested)) = open.pop() else {
                    return Err((offset, "a ')' without its '(' (write \\29 for a parenthesis in a value)"));
                };
                parts.push(Part { start, end: offset + 1, leaf: !nested });
                if open.is_empty() {
                    outermost_closed = true;
                }
            }
            _ if open.is_empty() && !character.is_whitespace() => {
                let problem = if outermost_closed {
                    "text after the end of the filter"
                } else {
                    "a filter starts with '('"
                };
                return Err((offset, problem));
            }
            _ => {}
        }
    }
    if let Some((start, _)) = open.last() {
        return Err((*start, "this '(' is never closed (write \\28 for a parenthesis in a value)"));
    }
    if parts.is_empty() {
        return Err((0, "the filter is empty"));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_of(filter: &str) -> usize {
        check_filter(filter).unwrap_err().column()
    }

    #[test]
    fn valid_filters_pass() {
        for filter in [
            "(&(objectCategory=person)(objectClass=user))",
            "(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Sync,OU=Groups,DC=example,DC=test))",
            "(|(uid=a\\2a)(cn=Jörg*))",
            "(!(userAccountControl:1.2.840.113556.1.4.803:=2))",
            // Without parentheses, as the OpenLDAP tools accept it too.
            "objectClass=user",
        ] {
            assert_eq!(check_filter(filter), Ok(()), "{filter}");
        }
    }

    #[test]
    fn unbalanced_parentheses_are_located() {
        assert_eq!(column_of("(&(objectClass=user)(cn=a)"), 1);
        assert_eq!(column_of("(&(objectClass=user))(cn=a))"), 22);
        assert_eq!(column_of("(cn=a))"), 7);
        assert_eq!(column_of("objectClass=user)"), 1);
        assert_eq!(column_of("x(objectClass=user)"), 1);
    }

    #[test]
    fn a_bad_item_inside_a_group_is_pointed_at() {
        let error = check_filter("(&(objectCategory=person)(objectClass user))").unwrap_err();
        assert_eq!(error.column(), 26);
        assert!(error.to_string().contains("^"), "{error}");
        assert_eq!(column_of("(&(a=b)(=c))"), 8);
    }

    #[test]
    fn a_bad_group_is_pointed_at() {
        assert_eq!(column_of("(&(a=b)(!(c=d)(e=f)))"), 8);
        assert_eq!(column_of("(&(a=b)x(c=d))"), 1);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(column_of("(&(cn=Jörg)(ö ö))"), 12);
    }
}
