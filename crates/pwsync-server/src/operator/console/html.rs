//! HTML building blocks of the console: escaping, the page frame (navigation, styles, the
//! little live-refresh script). Times and durations come from `crate::when`.
//!
//! Every piece of ledger text goes through [`esc`] before it reaches a page. Nothing here
//! may ever receive a password: pages are built from the ledger, which holds none.

use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:#1b1f24;background:#f6f7f9}\
header{background:#1f3a5f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}\
header b{font-size:1.1rem;margin-right:.5rem}header a{color:#dce8f7;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #fff}\
header form{margin-left:auto}header button{background:none;border:1px solid #dce8f7;color:#dce8f7;border-radius:4px;padding:.15rem .6rem}\
main{padding:1rem;max-width:1200px;margin:auto}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.7rem}\
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6rem .8rem}.card .v{font-size:1.5rem;font-weight:600}.card .k{color:#5a6472;font-size:.85rem}\
.scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e6;border-radius:6px}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eef0f3;vertical-align:top;white-space:nowrap}\
td.wrap{white-space:normal;min-width:14rem}th{background:#f0f2f5;font-weight:600;font-size:.85rem}\
.ok{color:#137333}.bad{color:#c5221f;font-weight:600}.warn{color:#a05a00}.muted{color:#5a6472}\
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;font-weight:600}\
.badge.applied{background:#e6f4ea;color:#137333}.badge.rejected{background:#fce8e6;color:#c5221f}\
.badge.pending,.badge.retry{background:#fef7e0;color:#a05a00}.badge.superseded{background:#eceff1;color:#455a64}\
.silent{background:#fce8e6}.notice{background:#e8f0fe;border:1px solid #aecbfa;padding:.5rem .8rem;border-radius:6px;margin-bottom:1rem}\
.error{background:#fce8e6;border-color:#f4b4ae}form.inline{display:inline}\
input[type=text],input[type=password],input[type=search]{font:inherit;padding:.35rem .5rem;border:1px solid #c3c8cf;border-radius:4px;min-width:14rem;max-width:100%}\
button{font:inherit;cursor:pointer}.primary{background:#1f3a5f;color:#fff;border:0;border-radius:4px;padding:.35rem .9rem}\
svg{max-width:100%;height:auto;background:#fff;border:1px solid #dde1e6;border-radius:6px}\
.login{max-width:24rem;margin:10vh auto;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:1.4rem}\
.login input{width:100%;margin:.4rem 0 1rem}";

/// Refreshes the page's <main> every 10 s without a full reload (pages that show live data).
const LIVE_SCRIPT: &str = "<script>setInterval(function(){fetch(location.href,{credentials:'same-origin'})\
.then(function(r){return r.ok&&!r.redirected?r.text():null}).then(function(t){if(!t)return;\
var d=new DOMParser().parseFromString(t,'text/html').querySelector('main');\
if(d)document.querySelector('main').replaceWith(d)}).catch(function(){})},10000)</script>";

/// The navigation entries: (path, label).
const NAV: &[(&str, &str)] =
    &[("/", "Overview"), ("/clients", "Clients"), ("/changes", "Changes"), ("/failures", "Failures")];

/// A whole console page. `body` is trusted HTML built by the caller from escaped parts.
pub fn page(title: &str, active: &str, csrf: Option<&str>, live: bool, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in NAV {
        let class = if *path == active { " class=\"on\"" } else { "" };
        let _ = write!(nav, "<a href=\"{path}\"{class}>{label}</a>");
    }
    let logout = csrf
        .map(|token| {
            format!(
                "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Log out</button></form>",
                esc(token)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · pwsync</title><style>{STYLE}</style></head><body>\
<header><b>pwsync</b>{nav}{logout}</header><main>{body}</main>{}</body></html>",
        esc(title),
        if live { LIVE_SCRIPT } else { "" }
    )
}

/// The login page (the only page shown without a login).
pub fn login_page(message: Option<&str>) -> String {
    let message =
        message.map(|text| format!("<p class=\"notice error\">{}</p>", esc(text))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Log in · pwsync</title><style>{STYLE}</style></head><body><div class=\"login\">\
<h1>pwsync operator console</h1>{message}\
<form method=\"post\" action=\"/login\"><label for=\"token\">Operator token</label>\
<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
<button class=\"primary\" type=\"submit\">Log in</button></form>\
<p class=\"muted\">The token is in the file named by <code>[operator] token_file</code> on the server.</p>\
</div></body></html>"
    )
}

pub fn badge(state: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", esc(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_ledger_text_is_escaped() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
