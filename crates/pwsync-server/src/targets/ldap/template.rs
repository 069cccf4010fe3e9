//! The account search filter: a template such as `(uid={account})` filled with the change's
//! identity attributes.
//!
//! Every value is escaped per RFC 4515 before it enters the filter, so an account name holding
//! `*`, `(`, `)`, `\` or NUL can only ever match itself. This module must never insert a value
//! unescaped, and never accept a template that is not a valid filter or that has no placeholder
//! (it would match the same entry for every change).

use super::config::LdapConfigError;
use super::ApplyRequest;

/// A change attribute a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Account,
    Domain,
    UserPrincipalName,
    Mail,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Placeholder> {
        Some(match name {
            "account" | "sAMAccountName" => Placeholder::Account,
            "domain" => Placeholder::Domain,
            "user_principal_name" | "userPrincipalName" => Placeholder::UserPrincipalName,
            "mail" => Placeholder::Mail,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Placeholder::Account => "account",
            Placeholder::Domain => "domain",
            Placeholder::UserPrincipalName => "user_principal_name",
            Placeholder::Mail => "mail",
        }
    }

    fn value(self, request: &ApplyRequest) -> Option<&str> {
        match self {
            Placeholder::Account => Some(request.account.as_str()),
            Placeholder::Domain => Some(request.domain.as_str()),
            Placeholder::UserPrincipalName => request.identity.user_principal_name.as_deref(),
            Placeholder::Mail => request.identity.mail.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Value(Placeholder),
}

/// A checked search filter template.
#[derive(Debug, Clone)]
pub struct SearchTemplate {
    pieces: Vec<Piece>,
}

/// Why a change cannot be looked up with the template (a permanent condition of the change).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the change has no {0} attribute, which the search filter needs")]
    MissingAttribute(&'static str),
}

impl SearchTemplate {
    /// Parses and checks `template`: known placeholders only, at least one, and the result a
    /// valid RFC 4515 filter (checked with sample values by ldap3's parser).
    pub fn parse(template: &str) -> Result<SearchTemplate, LdapConfigError> {
        let bad = |problem: String| LdapConfigError::BadSearchFilter { template: template.into(), problem };
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(bad("a '}' without its '{'".into()));
            }
            if open > 0 {
                pieces.push(Piece::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| bad("a '{' without its '}'".into()))?;
            let name = &after[..close];
            let placeholder = Placeholder::parse(name).ok_or_else(|| {
                bad(format!(
                    "unknown placeholder {{{name}}}; known: {{account}}, {{domain}}, {{user_principal_name}}, {{mail}}"
                ))
            })?;
            pieces.push(Piece::Value(placeholder));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Literal(rest.to_string()));
        }
        if !pieces.iter().any(|piece| matches!(piece, Piece::Value(_))) {
            return Err(bad("no placeholder: every change would find the same entry".into()));
        }
        let parsed = SearchTemplate { pieces };
        let sample = parsed.fill(|_| Some("sample"));
        if ldap3::parse_filter(&sample).is_err() {
            return Err(bad(format!("{sample:?} is not a valid LDAP filter (RFC 4515)")));
        }
        Ok(parsed)
    }

    /// The filter for one change, every value escaped.
    pub fn render(&self, request: &ApplyRequest) -> Result<String, RenderError> {
        for piece in &self.pieces {
            if let Piece::Value(placeholder) = piece {
                match placeholder.value(request) {
                    Some(value) if !value.is_empty() => {}
                    _ => return Err(RenderError::MissingAttribute(placeholder.name())),
                }
            }
        }
        Ok(self.fill(|placeholder| placeholder.value(request)))
    }

    fn fill<'a>(&self, value: impl Fn(Placeholder) -> Option<&'a str>) -> String {
        let mut filter = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => filter.push_str(text),
                Piece::Value(placeholder) => {
                    filter.push_str(&ldap3::ldap_escape(value(*placeholder).unwrap_or_default()))
                }
            }
        }
        filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pwsync_proto::{Identity, SecretString};

    fn request(account: &str, mail: Option<&str>) -> ApplyRequest {
        ApplyRequest {
            change_id: "c1".into(),
            domain: "corp.example".into(),
            account: account.into(),
            identity: Identity { mail: mail.map(String::from), ..Identity::default() },
            password: SecretString::new("unused".into()),
            captured_at_ns: 1,
            origin: "dc1".into(),
        }
    }

    #[test]
    fn values_are_escaped_per_rfc_4515() {
        let template = SearchTemplate::parse("(&(objectClass=person)(uid={account}))").unwrap();
        assert_eq!(
            template.render(&request("a*)(uid=*)\\\0", None)).unwrap(),
            r"(&(objectClass=person)(uid=a\2a\29\28uid=\2a\29\5c\00))"
        );
        let rendered = template.render(&request("*", None)).unwrap();
        assert!(ldap3::parse_filter(&rendered).is_ok(), "{rendered}");
    }

    #[test]
    fn several_placeholders_and_the_ad_alias_are_filled() {
        let template = SearchTemplate::parse("(|(uid={sAMAccountName})(mail={mail})(o={domain}))").unwrap();
        assert_eq!(
            template.render(&request("alice", Some("a@corp.example"))).unwrap(),
            "(|(uid=alice)(mail=a@corp.example)(o=corp.example))"
        );
    }

    #[test]
    fn a_missing_attribute_is_named() {
        let template = SearchTemplate::parse("(mail={mail})").unwrap();
        assert_eq!(template.render(&request("alice", None)), Err(RenderError::MissingAttribute("mail")));
    }

    #[test]
    fn bad_templates_are_refused_with_the_problem() {
        for (template, problem) in [
            ("(uid=alice)", "no placeholder"),
            ("(uid={acount})", "unknown placeholder {acount}"),
            ("(uid={account)", "without its '}'"),
            ("(uid=account})", "without its '{'"),
            ("(uid={account}", "not a valid LDAP filter"),
            ("uid={account})(", "not a valid LDAP filter"),
        ] {
            let error = SearchTemplate::parse(template).unwrap_err().to_string();
            assert!(error.contains(problem), "{template}: {error}");
        }
    }
}
