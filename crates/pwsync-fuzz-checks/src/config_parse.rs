//! `config_parse`: the client's and the server's TOML configuration, parsed and checked from
//! text as `pwsync client` and `pwsync server` read them from a file.
//!
//! Properties: only the named configuration errors; a configuration that is accepted is
//! accepted again after being written back out as TOML (the checks hold for what they let in).

use std::path::Path;

use pwsync_client::config::ClientConfig;
use pwsync_server::config::ServerConfig;

/// Where the text is said to come from: its directory anchors relative paths.
const CONFIG_PATH: &str = "/etc/pwsync/fuzz.toml";

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new(CONFIG_PATH);
    if let Ok(config) = ClientConfig::from_toml(text, path) {
        let written = toml::to_string(&config).expect("an accepted client configuration writes out");
        ClientConfig::from_toml(&written, path)
            .expect("a written-out client configuration is accepted again");
    }
    if let Ok(config) = ServerConfig::from_toml(text, path) {
        let written = toml::to_string(&config).expect("an accepted server configuration writes out");
        ServerConfig::from_toml(&written, path)
            .expect("a written-out server configuration is accepted again");
    }
}
