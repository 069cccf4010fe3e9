//! `pwsync check-config FILE`: tells whether a client or server configuration file is valid,
//! and if not, which key or value is wrong; then checks the files it names (keys, certificates,
//! exec programs) the way the daemon would at start-up. It changes nothing and prints no secret.

use anyhow::bail;

use crate::cli::CheckConfigArgs;

pub fn run(args: CheckConfigArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", args.file.display()))?;
    let table: toml::Table = match toml::from_str(&text) {
        Ok(table) => table,
        Err(error) => bail!("{}: {error}", args.file.display()),
    };
    if table.contains_key("client") {
        let config = pwsync_client::config::ClientConfig::load(&args.file)?;
        pwsync_client::check(&config)?;
        println!("{}: valid client configuration", args.file.display());
    } else if table.contains_key("ledger") || table.contains_key("target") {
        let config = pwsync_server::config::ServerConfig::load(&args.file)?;
        pwsync_server::check(&config)?;
        println!("{}: valid server configuration ({} targets)", args.file.display(), config.targets.len());
    } else {
        bail!(
            "{}: neither a client ([client] table) nor a server ([ledger] table) configuration",
            args.file.display()
        );
    }
    Ok(())
}
