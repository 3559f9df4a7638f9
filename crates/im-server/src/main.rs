//! `im-server`: runs the Gtedx IM server until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};
use im_proto::Limits;
use im_server::{
    AdminRequest, AdminResponse, Config, Database, GuardLimits, DEFAULT_ADMIN_LISTEN,
    DEFAULT_DATABASE, DEFAULT_LISTEN,
};

mod config_file;

// mimalloc returns freed memory to the system promptly; with glibc's malloc every thread that
// ever hashed a password kept its ~19 MiB argon2 buffer in its arena (650 MiB after 200 sign-ups).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Gtedx IM server: accounts, conversations and durable real-time messages over WebSocket.
#[derive(Debug, Parser)]
#[command(name = "im-server", version, about)]
struct Cli {
    /// Settings from a TOML file, named as the long options (`listen = "0.0.0.0:443"`); an
    /// `IM_*` variable or a flag overrides the file.
    #[arg(long, env = "IM_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective settings (and where each came from) as TOML, and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "IM_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Address of the admin listener (plain HTTP: `/healthz`, `/readyz`, `/metrics`); keep it
    /// off the internet. `off`: none.
    #[arg(long, env = "IM_ADMIN_LISTEN", default_value = DEFAULT_ADMIN_LISTEN, value_parser = parse_admin_listen, global = true)]
    admin_listen: AdminListen,
    /// Where state is kept: an SQLite file (created if missing), or a PostgreSQL database that
    /// several nodes share, `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (created beforehand;
    /// its schema is migrated on start).
    #[arg(long, env = "IM_DATABASE", default_value = DEFAULT_DATABASE, global = true)]
    database: Database,
    /// Join the other nodes on the same PostgreSQL database through this NATS server
    /// (`nats://HOST:4222`): what one node commits reaches every node's sessions, in order.
    #[arg(long, env = "IM_CLUSTER")]
    cluster: Option<String>,
    /// The cluster's name on NATS (subjects `im.<name>.…`), to keep clusters sharing one NATS
    /// apart.
    #[arg(long, env = "IM_CLUSTER_NAME", default_value = "im")]
    cluster_name: String,
    /// Log filter, e.g. `info`, `im_server=debug` (RUST_LOG syntax).
    #[arg(long, env = "IM_LOG", default_value = "info")]
    log: String,
    /// Log lines as text, or as one JSON object each (for log collectors).
    #[arg(long, env = "IM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Who may create an account: `open` (anyone), `invite` (with a code from `im-server admin
    /// invite create`) or `closed` (only `im-server admin user create`).
    #[arg(long, env = "IM_SIGN_UP", default_value = "open")]
    sign_up: im_proto::SignUpMode,
    /// Largest frame accepted, in bytes.
    #[arg(long, env = "IM_MAX_FRAME_BYTES", default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: usize,
    /// Longest text message, in characters.
    #[arg(long, env = "IM_MAX_TEXT_CHARS", default_value_t = Limits::default().max_text_chars)]
    max_text_chars: usize,
    /// Most members in a conversation.
    #[arg(long, env = "IM_MAX_MEMBERS", default_value_t = Limits::default().max_members)]
    max_members: usize,
    /// Sustained requests per second per connection.
    #[arg(long, env = "IM_REQUESTS_PER_SECOND", default_value_t = Limits::default().requests_per_second)]
    requests_per_second: u32,
    /// Burst of requests allowed above the sustained rate.
    #[arg(long, env = "IM_REQUEST_BURST", default_value_t = Limits::default().request_burst)]
    request_burst: u32,
    /// Most items in one page of results.
    #[arg(long, env = "IM_MAX_PAGE", default_value_t = Limits::default().max_page)]
    max_page: usize,
    /// How long after sending a message its sender may edit it, in seconds (0: never).
    #[arg(long, env = "IM_EDIT_WINDOW_SECS", default_value_t = Limits::default().edit_window_ms / 1000)]
    edit_window_secs: u64,
    /// How long after sending a message its sender may recall it, in seconds (0: never; a
    /// group's manager may recall any message of the group at any time).
    #[arg(long, env = "IM_RECALL_WINDOW_SECS", default_value_t = Limits::default().recall_window_ms / 1000)]
    recall_window_secs: u64,
    /// The largest image or file a user may upload, in bytes (0: no attachments).
    #[arg(long, env = "IM_MAX_UPLOAD_BYTES", default_value_t = Limits::default().max_upload_bytes)]
    max_upload_bytes: u64,
    /// How far apart an upload's checkpoints are, in bytes (an interrupted upload resumes from
    /// the last one): 1 MiB to 64 MiB.
    #[arg(long, env = "IM_UPLOAD_CHUNK_BYTES", default_value_t = Limits::default().upload_chunk_bytes,
          value_parser = clap::value_parser!(u64).range(1024 * 1024..=64 * 1024 * 1024))]
    upload_chunk_bytes: u64,
    /// Where images and files are kept: a directory (default: beside the SQLite database,
    /// `<database>-blobs`; on PostgreSQL every node must name the same shared directory, and
    /// without one there are no attachments).
    #[arg(long, env = "IM_BLOB_DIR")]
    blob_dir: Option<std::path::PathBuf>,
    /// Bytes of images and files one user may keep (0: no limit).
    #[arg(long, env = "IM_STORAGE_QUOTA_BYTES", default_value_t = im_server::BlobSettings::default().quota_bytes)]
    storage_quota_bytes: u64,
    /// Unfinished uploads one user may have at once (0: no limit).
    #[arg(long, env = "IM_UPLOADS_IN_PROGRESS_PER_USER", default_value_t = im_server::BlobSettings::default().uploads_in_progress)]
    uploads_in_progress_per_user: u32,
    /// An upload that makes no progress for this many seconds is deleted.
    #[arg(long, env = "IM_UPLOAD_EXPIRY_SECS", default_value_t = im_server::BlobSettings::default().upload_expiry.as_secs())]
    upload_expiry_secs: u64,
    /// Most writes committed in one transaction (group commit).
    #[arg(long, env = "IM_MAX_BATCH", default_value_t = Config::default().max_batch)]
    max_batch: usize,
    /// Reader connections to the database.
    #[arg(long, env = "IM_READERS", default_value_t = Config::default().readers)]
    readers: usize,
    /// Failed sign-ins of one username from one address before each attempt waits (1 s,
    /// doubling up to 15 min).
    #[arg(long, env = "IM_SIGN_IN_FREE_FAILURES", default_value_t = GuardLimits::default().sign_in_free_failures)]
    sign_in_free_failures: u32,
    /// Accounts created per hour from one address (0: no limit).
    #[arg(long, env = "IM_SIGN_UPS_PER_HOUR_PER_ADDRESS", default_value_t = GuardLimits::default().sign_ups_per_hour_per_address)]
    sign_ups_per_hour_per_address: u32,
    /// Connections open at once from one address (0: no limit).
    #[arg(long, env = "IM_CONNECTIONS_PER_ADDRESS", default_value_t = GuardLimits::default().connections_per_address)]
    connections_per_address: usize,
    /// Sessions per account; signing in beyond it ends the oldest (0: no limit).
    #[arg(long, env = "IM_SESSIONS_PER_USER", default_value_t = GuardLimits::default().sessions_per_user)]
    sessions_per_user: usize,
    /// Conversations one user may create per day (0: no limit).
    #[arg(long, env = "IM_CONVERSATIONS_PER_DAY_PER_USER", default_value_t = GuardLimits::default().conversations_per_day_per_user)]
    conversations_per_day_per_user: u32,
    /// Members one user may add per hour, creations included (0: no limit).
    #[arg(long, env = "IM_MEMBERS_ADDED_PER_HOUR_PER_USER", default_value_t = GuardLimits::default().members_added_per_hour_per_user)]
    members_added_per_hour_per_user: u32,
    /// `find_users` lookups per user per minute (0: no limit).
    #[arg(long, env = "IM_LOOKUPS_PER_MINUTE_PER_USER", default_value_t = GuardLimits::default().lookups_per_minute_per_user)]
    lookups_per_minute_per_user: u32,
    /// Apply the per-address limits to loopback addresses too (by default they are exempt: the
    /// host itself, or a reverse proxy on it).
    #[arg(long, env = "IM_LIMIT_LOOPBACK")]
    limit_loopback: bool,
    /// TLS certificate chain (PEM, the server's certificate first): serve `wss://`. Reloaded
    /// when the file changes or on SIGHUP, without dropping connections.
    #[arg(long, env = "IM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for `--tls-cert`.
    #[arg(long, env = "IM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How often to check the TLS files for a renewal, in seconds (0: only on SIGHUP).
    #[arg(long, env = "IM_TLS_RELOAD_CHECK_SECS", default_value_t = Config::default().tls_reload_check.as_secs())]
    tls_reload_check_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client, for the per-address limits:
    /// addresses or networks, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`). From anyone else
    /// the header is ignored.
    #[arg(long, env = "IM_TRUSTED_PROXIES", value_delimiter = ',', value_parser = im_server::parse_trusted_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Web origins allowed to open WebSockets, comma-separated (by default none: a web page
    /// cannot connect; native clients are not affected).
    #[arg(long, env = "IM_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Fault injection for the crash-only tests (debug builds only): the writer panics after
    /// this many write batches.
    #[cfg(debug_assertions)]
    #[arg(long, env = "IM_DEBUG_WRITER_PANIC_AFTER", hide = true)]
    debug_writer_panic_after: Option<u64>,
}

/// `--admin-listen`: an address, or none.
#[derive(Debug, Clone, Copy)]
struct AdminListen(Option<SocketAddr>);

fn parse_admin_listen(value: &str) -> Result<AdminListen, String> {
    match value {
        "off" | "none" | "" => Ok(AdminListen(None)),
        address => address
            .parse()
            .map(|a| AdminListen(Some(a)))
            .map_err(|e| format!("{e}: expected an address such as 127.0.0.1:7823, or off")),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// What to do instead of serving.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copy the database (`--database`) to a new file, consistently, while the server runs;
    /// the copy is checked before this reports success.
    Backup {
        /// The backup file to create (it must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Move a single node's SQLite database to PostgreSQL (the server stopped): copied in
    /// chunks (an interrupted run resumes), then every table compared by row count and
    /// checksum. Start the nodes on `--to` afterwards.
    Migrate {
        /// The SQLite file: `sqlite:FILE` (or just the path).
        #[arg(long)]
        from: String,
        /// The PostgreSQL database, `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (empty, or
        /// holding an interrupted migration of this file).
        #[arg(long)]
        to: im_server::PostgresUrl,
    },
    /// Put a backup in place of the database (`--database`) of a stopped server; the old
    /// files are kept as `*.before-restore`.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Manage accounts, sessions and invite codes: through the running server's admin listener
    /// (`--admin-listen`), or on the database (`--database`) when no server runs.
    Admin {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        what: AdminCommand,
    },
}

/// `im-server admin …`
#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Sessions (signed-in devices).
    #[command(subcommand)]
    Session(SessionCommand),
    /// Invite codes (for `--sign-up invite`).
    #[command(subcommand)]
    Invite(InviteCommand),
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create an account; prints a made-up password unless `--password-stdin`.
    Create {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (prints a made-up one unless `--password-stdin`) and sign out every
    /// session of the account.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it cannot sign in, and its devices are signed out now.
    Disable { username: String },
    /// Let a disabled account sign in again.
    Enable { username: String },
    /// List the accounts.
    List,
}

#[derive(Debug, clap::Subcommand)]
enum SessionCommand {
    /// List sessions, of every account or of one.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Sign a session out (its id from `session list`).
    Revoke { id: String },
}

#[derive(Debug, clap::Subcommand)]
enum InviteCommand {
    /// Create an invite code; prints it (only its hash is kept).
    Create {
        /// How many accounts it may create.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// How long it works, e.g. `7d`, `12h` (default: until used up).
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<std::time::Duration>,
    },
    /// List the invite codes that still work.
    List,
    /// Withdraw an invite code (its id from `invite list`).
    Revoke { id: String },
}

/// The password from the first line of standard input, or none.
fn password_from_stdin(read: bool) -> anyhow::Result<Option<im_proto::Secret>> {
    if !read {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(Some(im_proto::Secret::new(
        line.trim_end_matches(['\n', '\r']).to_owned(),
    )))
}

impl AdminCommand {
    fn into_request(self) -> anyhow::Result<AdminRequest> {
        Ok(match self {
            AdminCommand::User(UserCommand::Create {
                username,
                display_name,
                password_stdin,
            }) => AdminRequest::UserCreate {
                username,
                display_name,
                password: password_from_stdin(password_stdin)?,
            },
            AdminCommand::User(UserCommand::ResetPassword {
                username,
                password_stdin,
            }) => AdminRequest::UserResetPassword {
                username,
                password: password_from_stdin(password_stdin)?,
            },
            AdminCommand::User(UserCommand::Disable { username }) => {
                AdminRequest::UserDisable { username }
            }
            AdminCommand::User(UserCommand::Enable { username }) => {
                AdminRequest::UserEnable { username }
            }
            AdminCommand::User(UserCommand::List) => AdminRequest::UserList,
            AdminCommand::Session(SessionCommand::List { user }) => {
                AdminRequest::SessionList { username: user }
            }
            AdminCommand::Session(SessionCommand::Revoke { id }) => {
                AdminRequest::SessionRevoke { session_id: id }
            }
            AdminCommand::Invite(InviteCommand::Create { uses, expires }) => {
                AdminRequest::InviteCreate {
                    uses,
                    expires_in_secs: expires.map(|d| d.as_secs().max(1)),
                }
            }
            AdminCommand::Invite(InviteCommand::List) => AdminRequest::InviteList,
            AdminCommand::Invite(InviteCommand::Revoke { id }) => AdminRequest::InviteRevoke { id },
        })
    }
}

/// A time for people (UTC, RFC 3339).
fn when(millis: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Prints an admin result for people.
fn print_admin(response: &AdminResponse) {
    match response {
        AdminResponse::Done => println!("done"),
        AdminResponse::User { user, password } => {
            println!(
                "created {} ({}), uid {}",
                user.username, user.display_name, user.uid
            );
            if let Some(password) = password {
                println!("password: {}", password.expose());
            }
        }
        AdminResponse::Password { password } => match password {
            Some(password) => println!("new password: {}", password.expose()),
            None => println!("password set"),
        },
        AdminResponse::Users { users } => {
            println!(
                "{:<32} {:<24} {:<9} {:>8}  created",
                "username", "display name", "state", "sessions"
            );
            for u in users {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<32} {:<24} {:<9} {:>8}  {}",
                    u.username,
                    u.display_name,
                    state,
                    u.sessions,
                    when(u.created_at)
                );
            }
        }
        AdminResponse::Sessions { sessions } => {
            println!(
                "{:<16}  {:<32} {:<28} signed in",
                "id", "username", "device"
            );
            for s in sessions {
                println!(
                    "{:<16}  {:<32} {:<28} {}",
                    s.id,
                    s.username,
                    s.device,
                    when(s.created_at)
                );
            }
        }
        AdminResponse::Invite { invite, code } => {
            println!("invite code: {}", code.expose());
            println!(
                "id {}, {} use(s), {}",
                invite.id,
                invite.uses_left,
                invite
                    .expires_at
                    .map_or("no expiry".to_owned(), |at| format!("expires {}", when(at)))
            );
        }
        AdminResponse::Invites { invites } => {
            println!("{:<12}  {:>9}  expires", "id", "uses left");
            for i in invites {
                println!(
                    "{:<12}  {:>9}  {}",
                    i.id,
                    i.uses_left,
                    i.expires_at.map_or("never".to_owned(), when)
                );
            }
        }
    }
}

impl Cli {
    fn into_config(self) -> Config {
        Config {
            listen: self.listen,
            admin_listen: self.admin_listen.0,
            sign_up: self.sign_up,
            database: self.database,
            cluster: self.cluster,
            cluster_name: self.cluster_name,
            limits: Limits {
                max_frame_bytes: self.max_frame_bytes,
                max_text_chars: self.max_text_chars,
                max_members: self.max_members,
                requests_per_second: self.requests_per_second,
                request_burst: self.request_burst,
                max_page: self.max_page,
                edit_window_ms: self.edit_window_secs.saturating_mul(1000),
                recall_window_ms: self.recall_window_secs.saturating_mul(1000),
                max_upload_bytes: self.max_upload_bytes,
                upload_chunk_bytes: self.upload_chunk_bytes,
            },
            blobs: im_server::BlobSettings {
                dir: self.blob_dir,
                quota_bytes: self.storage_quota_bytes,
                uploads_in_progress: self.uploads_in_progress_per_user,
                upload_expiry: std::time::Duration::from_secs(self.upload_expiry_secs),
                ..im_server::BlobSettings::default()
            },
            max_batch: self.max_batch,
            readers: self.readers,
            guard: GuardLimits {
                sign_in_free_failures: self.sign_in_free_failures,
                sign_ups_per_hour_per_address: self.sign_ups_per_hour_per_address,
                connections_per_address: self.connections_per_address,
                sessions_per_user: self.sessions_per_user,
                conversations_per_day_per_user: self.conversations_per_day_per_user,
                members_added_per_hour_per_user: self.members_added_per_hour_per_user,
                lookups_per_minute_per_user: self.lookups_per_minute_per_user,
                exempt_loopback: !self.limit_loopback,
                trusted_proxies: self.trusted_proxies,
            },
            allowed_origins: self.allowed_origins,
            tls: self
                .tls_cert
                .zip(self.tls_key)
                .map(|(cert, key)| im_server::TlsFiles { cert, key }),
            tls_reload_check: std::time::Duration::from_secs(self.tls_reload_check_secs),
            #[cfg(debug_assertions)]
            debug_writer_panic_after: self.debug_writer_panic_after,
            ..Config::default()
        }
    }
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed when this returns,
/// before the server starts: a signal that arrives early still stops it gracefully.
fn termination() -> anyhow::Result<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }))
    }
    #[cfg(not(unix))]
    Ok(Box::pin(async {
        let _ = tokio::signal::ctrl_c().await;
    }))
}

/// Reloads the TLS certificate and key on SIGHUP (what `systemctl reload` and certbot's deploy
/// hooks send).
fn reload_tls_on_sighup(reloader: im_server::TlsReloader) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let reloader = reloader.clone();
                if let Ok(Err(error)) = tokio::task::spawn_blocking(move || reloader.reload()).await
                {
                    tracing::warn!(%error, "SIGHUP: the TLS files cannot be loaded; the previous certificate stays");
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reloader;
    Ok(())
}

/// The exit status after a fatal failure (EX_SOFTWARE): a service manager restarts the server.
const EXIT_FATAL: i32 = 70;

/// Panics go to the log (with the thread and the location), not only to stderr.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let backtrace = std::backtrace::Backtrace::capture();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            panic = %info,
            backtrace = %backtrace,
            "panicked"
        );
    }));
}

/// The WebSocket library's log targets: at `trace` they log every frame's payload, passwords
/// and session tokens included.
const PAYLOAD_LOGGERS: [&str; 2] = ["tungstenite", "tokio_tungstenite"];

/// Whether a filter could let a payload logger through at `trace`: `trace` as the default level,
/// or for one of them (or one of their modules).
fn enables_payload_trace(spec: &str) -> bool {
    spec.split(',')
        .map(str::trim)
        .any(|directive| match directive.split_once('=') {
            None => directive.eq_ignore_ascii_case("trace"),
            Some((target, level)) => {
                level.trim().eq_ignore_ascii_case("trace")
                    && PAYLOAD_LOGGERS.iter().any(|t| {
                        target.trim() == *t || target.trim().starts_with(&format!("{t}::"))
                    })
            }
        })
}

/// The log filter from `--log`, with the WebSocket library capped at `debug` when the filter
/// would let it log at `trace` (and left as the filter says otherwise).
fn log_filter(spec: &str) -> anyhow::Result<tracing_subscriber::EnvFilter> {
    let mut filter = tracing_subscriber::EnvFilter::try_new(spec)
        .with_context(|| format!("bad log filter {spec:?}"))?;
    if enables_payload_trace(spec) {
        for target in PAYLOAD_LOGGERS {
            filter = filter.add_directive(format!("{target}=debug").parse()?);
        }
    }
    Ok(filter)
}

/// Errors end the process with their chain of causes on one line, for an operator: no Rust
/// backtrace, even with `RUST_BACKTRACE` set.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("im-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The SQLite file `backup` and `restore` work on (PostgreSQL has its own tools).
fn sqlite_file<'a>(database: &'a Database, command: &str) -> anyhow::Result<&'a std::path::Path> {
    database.sqlite_file().ok_or_else(|| {
        anyhow::anyhow!(
            "`im-server {command}` works on an SQLite file; back up PostgreSQL ({database}) with \
             pg_dump or its point-in-time recovery"
        )
    })
}

fn run() -> anyhow::Result<()> {
    // The config file first, while this is the only thread: its settings become the `IM_*`
    // variables the environment does not set (see config_file.rs).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let known = config_file::known_options(&Cli::command());
    let from_file = match config_file::path_from(&args) {
        Some(path) => config_file::apply(config_file::read(path.as_ref(), &known)?),
        None => Vec::new(),
    };
    let matches = Cli::command().get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches)?;
    if cli.print_config {
        print!("{}", config_file::describe(&matches, &known, &from_file));
        return Ok(());
    }
    match &cli.command {
        Some(Command::Backup { to }) => {
            let database = sqlite_file(&cli.database, "backup")?;
            let report = im_server::backup(database, to)
                .with_context(|| format!("backing up {}", database.display()))?;
            println!(
                "backed up {} to {}: {} bytes, {} accounts, {} messages, integrity ok",
                database.display(),
                to.display(),
                report.bytes,
                report.users,
                report.messages
            );
            return Ok(());
        }
        Some(Command::Migrate { from, to }) => {
            let file = std::path::Path::new(from.strip_prefix("sqlite:").unwrap_or(from));
            let report = im_server::migrate(file, to)
                .with_context(|| format!("moving {} to {to}", file.display()))?;
            for t in &report.tables {
                println!(
                    "{:<14} {:>10} rows ({} copied now), checksum {:016x} on both sides",
                    t.table, t.rows, t.copied, t.checksum
                );
            }
            println!(
                "moved {} to {to}{}; change counter at {}: start the nodes with --database {to}",
                file.display(),
                if report.resumed { " (resumed)" } else { "" },
                report.version
            );
            return Ok(());
        }
        Some(Command::Restore { from }) => {
            let database = sqlite_file(&cli.database, "restore")?;
            let report = im_server::restore(from, database)
                .with_context(|| format!("restoring {}", from.display()))?;
            println!(
                "restored {} to {}: {} accounts, {} messages",
                from.display(),
                database.display(),
                report.users,
                report.messages
            );
            return Ok(());
        }
        Some(Command::Admin { .. }) => {
            let Some(Command::Admin { json, what }) = cli.command else {
                unreachable!()
            };
            let request = what.into_request()?;
            let (reached, response) =
                im_server::administer(cli.database.clone(), cli.admin_listen.0, request)
                    .with_context(|| format!("administering {}", cli.database))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&response)?);
            } else {
                print_admin(&response);
                if let im_server::Reached::Database = reached {
                    eprintln!("(no server was running: changed {} directly)", cli.database);
                }
            }
            return Ok(());
        }
        None => {}
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(serve(cli))
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt().with_env_filter(log_filter(&cli.log)?);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    log_panics();
    let config = cli.into_config();
    let terminated = termination()?;
    let server = match im_server::start(config.clone()).await {
        Ok(server) => server,
        Err(im_server::Error::Io(e)) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let admin = config
                .admin_listen
                .map_or_else(|| "off".to_owned(), |a| a.to_string());
            anyhow::bail!(
                "an address it needs is in use (public {}, admin {admin}): another im-server, or \
                 another program, listens there; choose others with --listen and --admin-listen",
                config.listen
            )
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!("starting on {} with {}", config.listen, config.database)
            });
        }
    };
    reload_tls_on_sighup(server.tls_reloader())?;
    let stop = server.shutdown_token();
    tokio::spawn(async move {
        terminated.await;
        tracing::info!("signal received");
        stop.cancel();
    });
    if let Err(error) = server.stopped().await {
        tracing::error!(%error, "exiting with status {EXIT_FATAL}");
        std::process::exit(EXIT_FATAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::enables_payload_trace;

    #[test]
    fn the_websocket_library_is_capped_only_when_trace_could_reach_it() {
        for spec in [
            "trace",
            "info,trace",
            "tungstenite=trace",
            "warn,tokio_tungstenite::x=TRACE",
        ] {
            assert!(enables_payload_trace(spec), "{spec}");
        }
        for spec in [
            "warn",
            "info",
            "debug",
            "im_server=trace",
            "warn,im_server=trace",
        ] {
            assert!(!enables_payload_trace(spec), "{spec}");
        }
    }
}
