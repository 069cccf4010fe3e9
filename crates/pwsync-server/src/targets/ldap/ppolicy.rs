//! The password policy control (draft-behera-ldap-password-policy, OpenLDAP's ppolicy): asked
//! for on the set-password operation so that a refusal names its exact cause
//! (`passwordTooShort`, `passwordInHistory`…), which the server's text may not.
//!
//! The control is never critical: a directory that does not know it (Active Directory) just
//! ignores it. Parsing uses ldap3's BER reader; this module must never fail an apply because a
//! response control is malformed, only leave the cause out.

use ldap3::asn1::{parse_tag, parse_uint, TagClass, PL};
use ldap3::controls::RawControl;
use ldap3::LdapResult;

pub const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

/// The request control: no value, not critical.
pub fn request_control() -> RawControl {
    RawControl { ctype: PPOLICY_OID.to_string(), crit: false, val: None }
}

/// The `error` of the response control in `result`, by its name in the draft.
pub fn error_name(result: &LdapResult) -> Option<&'static str> {
    let value = result.ctrls.iter().find(|control| control.1.ctype == PPOLICY_OID)?.1.val.as_ref()?;
    let (_, sequence) = parse_tag(value).ok()?;
    let PL::C(elements) = sequence.payload else { return None };
    // error [1] ENUMERATED, implicitly tagged: context class, id 1, primitive.
    let error = elements.into_iter().find(|element| element.class == TagClass::Context && element.id == 1)?;
    let PL::P(bytes) = error.payload else { return None };
    let (_, code) = parse_uint(&bytes).ok()?;
    Some(match code {
        0 => "passwordExpired",
        1 => "accountLocked",
        2 => "changeAfterReset",
        3 => "passwordModNotAllowed",
        4 => "mustSupplyOldPassword",
        5 => "insufficientPasswordQuality",
        6 => "passwordTooShort",
        7 => "passwordTooYoung",
        8 => "passwordInHistory",
        9 => "passwordTooLong",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::controls::Control;

    fn result_with_control(value: Option<Vec<u8>>) -> LdapResult {
        LdapResult {
            rc: 19,
            matched: String::new(),
            text: String::new(),
            refs: vec![],
            ctrls: vec![Control(None, RawControl { ctype: PPOLICY_OID.into(), crit: false, val: value })],
        }
    }

    /// The response value `SEQUENCE { error [1] ENUMERATED code }`, as slapd sends it
    /// (captured bytes, not an encoder of ours).
    fn encoded_error(code: u8) -> Vec<u8> {
        vec![0x30, 0x03, 0x81, 0x01, code]
    }

    #[test]
    fn the_error_is_named() {
        assert_eq!(error_name(&result_with_control(Some(encoded_error(6)))), Some("passwordTooShort"));
        assert_eq!(error_name(&result_with_control(Some(encoded_error(8)))), Some("passwordInHistory"));
    }

    #[test]
    fn an_absent_or_malformed_control_names_nothing() {
        assert_eq!(error_name(&result_with_control(None)), None);
        assert_eq!(error_name(&result_with_control(Some(vec![0x30, 0x05, 0x81]))), None);
        assert_eq!(error_name(&result_with_control(Some(encoded_error(42)))), None);
        let mut result = result_with_control(Some(encoded_error(6)));
        result.ctrls[0].1.ctype = "1.2.3".into();
        assert_eq!(error_name(&result), None);
    }
}
