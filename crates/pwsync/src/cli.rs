//! The command line: every subcommand, flag and its help text.
//!
//! The help is the first manual an administrator reads, so each command says what it does,
//! what it reads and writes, and its exit status. No flag here may carry a password.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "pwsync",
    version,
    about = "Synchronize password changes from domain controllers to Entra ID, LDAP directories and scripts",
    long_about = "pwsync captures each password change where it happens (a domain controller's password \
hook, PAM), seals it into a local spool, and a client daemon forwards it over mutually authenticated \
TLS 1.3 to the pwsync server, which sets the same password in every configured target and keeps a \
ledger (newest change wins, nothing applied twice, no password stored).\n\n\
The capture hook (`pwsync capture`, or the small `pwsync-capture` executable) reads the new \
password from standard input, never from an argument or the environment; `pwsync capture --help` \
lists its exit statuses.\n\n\
Try it on one machine:  pwsync demo",
    after_long_help = LOGGING_HELP,
    propagate_version = true
)]
pub struct Cli {
    // The two global options are listed in every subcommand's help, so their help is one line
    // each, under its own heading after the command's own options (a man page reads purpose,
    // then options, then what every command shares); the full text is LOGGING_HELP, shown by
    // `pwsync --help` alone.
    /// Log format: `text` or `json` (see `pwsync --help`).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = LogFormat::Text,
        env = "PWSYNC_LOG_FORMAT",
        value_name = "FORMAT",
        help_heading = GLOBAL_HEADING,
        display_order = GLOBAL_DISPLAY_ORDER,
        hide_possible_values = true,
        hide_default_value = true,
        hide_env = true
    )]
    pub log_format: LogFormat,
    /// Log filter, e.g. `debug` (see `pwsync --help`).
    #[arg(
        long,
        global = true,
        value_name = "FILTER",
        help_heading = GLOBAL_HEADING,
        display_order = GLOBAL_DISPLAY_ORDER
    )]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading of the options every subcommand shares; it comes after the command's own.
pub const GLOBAL_HEADING: &str = "Global options";

/// Far above any command's own options, so that the shared ones are listed last.
const GLOBAL_DISPLAY_ORDER: usize = 1000;

/// The full description of the global options, in `pwsync --help` only.
pub const LOGGING_HELP: &str = "\
LOGGING
  Daemons and tools log to standard error. These options go before or after the subcommand.

  --log-format FORMAT   text: human-readable lines (the default). json: one JSON object per line
                        (for journald, Loki, Elastic...), with the change id of every line about
                        a change in the field change_id. Also taken from PWSYNC_LOG_FORMAT.
  --log-level FILTER    which lines to write, e.g. info, debug, pwsync_server=debug,info
                        (tracing's EnvFilter syntax). Default: info; warn for pwsync demo.";

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for journald, Loki, Elastic...).
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Capture one password change into the spool (the generic hook).
    Capture(pwsync_capture::CaptureArgs),
    /// Create the spool key pair: the public key for hooks, the secret key for the client.
    Keygen(KeygenArgs),
    /// Manage the deployment's private certificate authority.
    Pki(PkiArgs),
    /// Run the client daemon (one per domain controller or host), or test its scope.
    Client(ClientArgs),
    /// Run the server.
    Server(ServerArgs),
    /// Test the server's targets without changing anything.
    Target(TargetArgs),
    /// Check a client or server configuration file and exit.
    CheckConfig(CheckConfigArgs),
    /// Run the whole pipeline on this machine with built-in defaults and print a summary.
    Demo(DemoArgs),
    /// One screen of facts about a client (spool, failures, contact) or a server (ledger).
    Status(StatusArgs),
    /// List, show, retry or purge a client's failed records.
    Failed(FailedArgs),
    /// Show an account's changes and their outcome at every target (server).
    Changes(ChangesArgs),
    /// Run a local Microsoft Graph and Entra ID token endpoint emulator (for tests and trials).
    GraphEmulator(GraphEmulatorArgs),
}

#[derive(Args)]
#[command(after_long_help = "\
Writes DIR/spool.key (secret, mode 0600: give it to the client daemon only) and DIR/spool.pub \
(public, mode 0644: give it to the capture hooks). Existing files are never overwritten. To rotate, \
create a new pair elsewhere, list both secret keys in the client's spool_keys, switch the hooks to \
the new public key, and remove the old secret key once no record sealed to it is left.")]
pub struct KeygenArgs {
    /// Directory for spool.key and spool.pub.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct PkiArgs {
    #[command(subcommand)]
    pub command: PkiCommand,
}

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create the deployment CA: DIR/ca.pem (certificate) and DIR/ca.key (mode 0600).
    Init {
        /// Directory of the CA.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Common name of the CA certificate.
        #[arg(long, default_value = "pwsync deployment CA")]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = pwsync_tls::DEFAULT_CA_VALIDITY_DAYS)]
        days: u32,
    },
    /// Issue the server's certificate (NAME.pem, NAME.key in --out).
    IssueServer {
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// Certificate name, e.g. the server's host name.
        #[arg(long)]
        name: String,
        /// DNS name or IP address clients connect to (repeat for several).
        #[arg(long = "san", required = true)]
        sans: Vec<String>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value_t = pwsync_tls::DEFAULT_LEAF_VALIDITY_DAYS)]
        days: u32,
    },
    /// Issue a client certificate bound to one or more AD domains.
    IssueClient {
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// Client name, e.g. the domain controller's host name.
        #[arg(long)]
        name: String,
        /// DNS domain this client may submit changes for (repeat for several).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value_t = pwsync_tls::DEFAULT_LEAF_VALIDITY_DAYS)]
        days: u32,
    },
    /// Revoke a client certificate: add it to the CA's revocation list (CA_DIR/revoked.crl.pem).
    #[command(long_about = "\
Revoke a client certificate: add its serial to the deployment CA's revocation list, \
CA_DIR/revoked.crl.pem, signed by the CA. Every entry of the list is kept; revoking a \
certificate twice changes nothing.

Copy the list to the server, name it in the server's configuration ([tls] revocation_list) \
and reload the server (`systemctl reload pwsync-server`, i.e. SIGHUP). From then on the \
server refuses the certificate in the TLS handshake, and answers every request it makes on \
a connection opened before with 403 `certificate_revoked`; each refusal is in the audit \
trail. The client's pending changes stay in its spool: issue it a new certificate and \
restart it, and they are delivered.")]
    Revoke {
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// The client certificate (PEM) to revoke, as issued by `pwsync pki issue-client`.
        #[arg(long, value_name = "FILE")]
        certificate: PathBuf,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ClientArgs {
    #[command(subcommand)]
    pub command: Option<ClientCommand>,
    /// Configuration file (see docs/configuration.md); runs the daemon.
    #[arg(long, value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Ask the directory whether ACCOUNT is in scope, and show the query that decided it.
    #[command(after_long_help = "\
Runs the same search the daemon runs for a captured change of ACCOUNT — \
(&(<account_attribute>=<ACCOUNT, escaped per RFC 4515>)<filter>) under base_dn — and prints the \
query, the answer, and the identity attributes that would travel with the change (userPrincipalName, \
objectGUID, mail, distinguished name) and pwdLastSet. When ACCOUNT is out of scope it also says \
whether the account exists at all (so a filter that excludes it can be told from a typo). Nothing \
is changed and no password is involved.

EXIT STATUS
  0   in scope
  1   out of scope, or the directory could not be asked (the message says which)
  2   usage error")]
    TestScope {
        /// The account name as the capture hook sees it (sAMAccountName on a DC).
        account: String,
        /// Client configuration file with a [scope] kind = "ldap" table.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Args)]
pub struct ServerArgs {
    /// Configuration file (see docs/configuration.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Write the bound address to FILE once ready (useful with port 0).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct TargetArgs {
    #[command(subcommand)]
    pub command: TargetCommand,
}

#[derive(Subcommand)]
pub enum TargetCommand {
    /// Connect to each target and find the account there, changing nothing.
    #[command(after_long_help = "\
For an ldap target: connects (TLS verified against ca_file), binds as bind_dn, and searches for \
the account with search_filter, exactly as a change would, then stops before setting anything. \
Prints the entry the account maps to, or why it could not be found.\n\n\
For a graph target: obtains an access token (client secret or certificate assertion), checks that \
it grants a permission to set passwords (User-PasswordProfile.ReadWrite.All) and that the \
application holds a directory role allowed to reset them (User Administrator), then finds the \
user as match_by says (--upn, --mail or --object-guid) with a read-only GET (which needs \
User.Read.All). A wrong tenant, client id or secret, a certificate not uploaded, a missing \
permission or role, and a synchronized account are each reported with what to fix.\n\n\
Exit status 0 when every tested target found the account, 1 otherwise.")]
    Test {
        /// The server configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Test only the target of this name.
        #[arg(long)]
        target: Option<String>,
        /// The account (logon name) to look up.
        account: String,
        /// Its DNS domain, as a client would send it.
        #[arg(long, default_value = "")]
        domain: String,
        /// Its user principal name, for templates that use {user_principal_name}.
        #[arg(long)]
        upn: Option<String>,
        /// Its mail address, for templates that use {mail} (and graph's match_by = "mail").
        #[arg(long)]
        mail: Option<String>,
        /// Its on-premises objectGUID (e.g. 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9), for graph's
        /// match_by = "source-anchor".
        #[arg(long, value_name = "GUID")]
        object_guid: Option<String>,
    },
}

#[derive(Args)]
pub struct CheckConfigArgs {
    /// A client or server configuration file.
    pub file: PathBuf,
}

#[derive(Args)]
#[command(after_long_help = "\
The demo creates a CA, certificates and a spool key pair in a temporary directory, starts a \
server (dry-run target) and a client as real processes on 127.0.0.1, captures the changes through \
`pwsync capture` processes, waits until every change is settled and prints what happened. All demo \
passwords begin with `pwsync-canary-`; at the end the demo scans every file but the sealed spool \
records for them and reports the result.")]
pub struct DemoArgs {
    /// Number of password changes to capture.
    #[arg(long, default_value_t = 1000)]
    pub changes: usize,
    /// Number of distinct accounts they are spread over.
    #[arg(long, default_value_t = 200)]
    pub accounts: usize,
    /// Capture processes running at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Captures per second (0 = as fast as possible). A low rate measures latency at light load.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Capture every change before the client starts, then time how fast the client drains
    /// the backlog (the throughput benchmark).
    #[arg(long)]
    pub backlog: bool,
    /// Keep the demo's files (configs, logs, ledger) in DIR instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Give up if the changes are not settled after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
}

#[derive(Args)]
#[command(after_long_help = "\
With a client configuration ([client] table): the spool's depth, the age of its oldest pending \
change, the number of failed records, and when the daemon last heard from the server (from the \
state file the daemon keeps in the spool directory). With a server configuration: changes by \
state, changes per minute, end-to-end latency percentiles (capture → applied), every client seen \
with its last contact and spool depth, and each target's health. Reads only: the ledger is opened \
read-only, beside the running server. Exit status 0, or 1 when the files cannot be read.")]
pub struct StatusArgs {
    /// A client or server configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
#[command(after_long_help = "\
Records land in the spool's failed/ directory when the server rejected the change (a target \
refused it for good) or the record could not be opened. Each has a reason file. `retry` moves a \
record back into the spool, marked so that the server tries the refusing targets again; `purge` \
deletes it for good. Records are named by file name or by change id (32 hex digits). No command \
here shows a password: the records stay sealed.")]
pub struct FailedArgs {
    /// The client configuration file (names the spool).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: FailedCommand,
}

#[derive(Subcommand)]
pub enum FailedCommand {
    /// List failed records, oldest capture first.
    List,
    /// Show one failed record and its reason.
    Show {
        /// File name or change id.
        record: String,
    },
    /// Move failed records back into the spool for another attempt.
    Retry {
        /// File names or change ids.
        #[arg(required_unless_present = "all")]
        records: Vec<String>,
        /// Every failed record.
        #[arg(long, conflicts_with = "records")]
        all: bool,
    },
    /// Delete failed records for good.
    Purge {
        /// File names or change ids.
        #[arg(required_unless_present = "all")]
        records: Vec<String>,
        /// Every failed record.
        #[arg(long, conflicts_with = "records")]
        all: bool,
    },
}

#[derive(Args)]
#[command(after_long_help = "\
Reads the server's ledger read-only (beside the running server) and prints each change of the \
account, newest first: when and where it was captured, which client sent it, its state, and for \
each target the outcome, the number of attempts, the call's latency and the reason of a \
rejection. The ledger never holds a password, so none can be shown. Exit status 0 (also when \
there is no change), 1 when the ledger cannot be read.")]
pub struct ChangesArgs {
    /// The account: a logon name (`alice`) or `domain\account`, without regard to case.
    pub account: String,
    /// The server configuration file (names the ledger).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Match every account containing ACCOUNT instead of the exact account.
    #[arg(long)]
    pub contains: bool,
    /// Most changes shown.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
#[command(after_long_help = "\
Serves, over HTTPS on LISTEN, what the graph target talks to: the identity platform's token \
endpoint (POST /{tenant}/oauth2/v2.0/token, client secret or certificate assertion) and the part of \
Microsoft Graph a password sync uses (GET /v1.0/users?$filter=..., GET and PATCH \
/v1.0/users/{id | userPrincipalName}). It checks what the service documents: the assertion's \
signature against the uploaded certificate, its x5t#S256, audience and validity; the bearer token; \
the application's permission and directory role; the content type and the body's shape; synced \
accounts; password complexity (8-256 characters, 3 of 4 classes); and a write budget per \
application, answered with 429, Retry-After and the x-ms-throttle-* headers. It stores no \
password, only a SHA-256 digest per user.\n\n\
Point a graph target at it with authority = graph_url = \"https://LISTEN\" and ca_file = the CA \
that issued --certificate (e.g. from `pwsync pki`).\n\n\
The tenant file (TOML):\n\n\
  tenant_id = \"5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b\"\n\
  token_lifetime_s = 3599\n\
  [budget]\n\
  writes = 3000\n\
  window_s = 150\n\
  [[app]]\n\
  client_id = \"a1b2c3d4-0000-4000-8000-000000000001\"\n\
  client_secret = \"...\"                # and/or certificate_pem = \"\"\"-----BEGIN...\"\"\"\n\
  permissions = [\"User-PasswordProfile.ReadWrite.All\", \"User.Read.All\"]\n\
  directory_roles = [\"User Administrator\"]\n\
  [[user]]\n\
  user_principal_name = \"alice@corp.com\"\n\
  mail = \"alice@corp.com\"                # optional\n\
  on_premises_immutable_id = \"...\"       # optional: base64 objectGUID\n\
  on_premises_sync_enabled = false        # true: Graph refuses its password\n\
  privileged = false                      # true: needs Privileged Authentication Administrator\n\n\
Test control API (no authentication; for tests only): POST /_emulator/faults with JSON \
{\"latency_ms\":N, \"fail_writes\":[{\"status\":503,\"retry_after_s\":2}], \"drop_requests\":N, \
\"echo_password\":true, \"revoke_tokens\":true, \"token_lifetime_s\":N}; PUT /_emulator/budget \
{\"writes\":N,\"window_s\":S}; PUT /_emulator/users (a [[user]] as JSON); GET \
/_emulator/users/{key}/password (digest and count); GET /_emulator/stats.\n\n\
Runs until interrupted (SIGINT or SIGTERM). Exit status 0, or 1 when it cannot start.")]
pub struct GraphEmulatorArgs {
    /// Address to listen on (port 0 picks a free one; see --ready-file).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// The server certificate chain (PEM); its names must include the address clients use.
    #[arg(long, value_name = "FILE")]
    pub certificate: PathBuf,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The tenant file: tenant id, app registrations, users, budget (see below).
    #[arg(long, value_name = "FILE")]
    pub tenant: PathBuf,
    /// Overrides the tenant file's budget.writes (writes per window per application).
    #[arg(long)]
    pub budget_writes: Option<u32>,
    /// Overrides the tenant file's budget.window_s.
    #[arg(long)]
    pub budget_window_s: Option<u64>,
    /// Overrides the tenant file's token_lifetime_s.
    #[arg(long)]
    pub token_lifetime_s: Option<u64>,
    /// Write the bound address to FILE once ready.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}
