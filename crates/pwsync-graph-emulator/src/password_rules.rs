//! Entra ID's password complexity rule for cloud accounts, as documented: 8 to 256
//! characters, and at least three of lower-case letters, upper-case letters, digits and
//! symbols.
//!
//! Must never return the password or any part of it.

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 256;

pub fn is_complex_enough(password: &str) -> bool {
    let length = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return false;
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    classes.iter().filter(|&&present| present).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_of_four_classes_and_a_length_are_needed() {
        assert!(is_complex_enough("Summer-2026"));
        assert!(is_complex_enough("summer-2026"));
        assert!(!is_complex_enough("summer2026"));
        assert!(!is_complex_enough("Sh0rt!"));
        assert!(!is_complex_enough(&format!("Aa1!{}", "x".repeat(253))));
    }
}
