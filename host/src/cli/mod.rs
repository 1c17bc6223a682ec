//! The command line: parsing, dispatch, exit codes. The only layer that prints.

mod commands;
mod diagnostics;
mod excerpt;
mod json_lines;
pub mod output;
mod runs;
mod storage_gc;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Error;
pub use commands::Lang;
use output::Style;

/// What `cairn --help` says about exit codes: one per verdict.
const EXIT_CODES: &str = "\
Exit codes:
  0  succeeded
  1  failed: a step failed; every undo and on-failure step succeeded (rolled back), or there were none
  2  invalid: the runbook, params or project (a missing secret, storage, target or plugin)
  3  refused: lock held, grant missing, confirmation declined, resume of a run that ended
  4  failed, rollback failed: an undo or on-failure step failed; state is left changed
  5  interrupted: stopped before its end; `cairn resume RUN-ID` continues it";

#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about = "Runbooks for the people who keep web sites up",
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Work on the project in DIR instead of the nearest `cairn.kdl` upward.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print JSON: one event per line for runs, one document otherwise.
    #[arg(long, global = true)]
    pub json: bool,
    /// More output (-vv for plugin debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the final verdict of a failed run.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour: auto honours NO_COLOR and whether stdout is a terminal.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runbooks: name, version, description.
    List,
    /// Params, steps, plugins and grants of a runbook.
    Show { name: String },
    /// Validate runbooks (all when none named); exit 2 on any error.
    Validate { names: Vec<String> },
    /// Run a runbook.
    Run {
        name: String,
        /// Set a parameter: -p key=value (repeatable).
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Answer yes to every `confirm`.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Plan only: writes are recorded, not performed; reads are performed.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: perform not even reads.
        #[arg(long, requires = "dry_run")]
        offline: bool,
    },
    /// A dry-run saved as a plan: every value it read, the runbook's and
    /// plugins' digests, the params (secrets masked), the limit counts.
    Plan {
        name: String,
        /// Set a parameter: -p key=value (repeatable).
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Where the plan is written (`move.plan.json`).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Run a saved plan: its values are read again first, and any change
    /// (or a changed runbook or plugin) refuses the run, listing each.
    Apply {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Give again a param the plan holds masked: -p key=value (repeatable).
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Answer yes to every `confirm`.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Real run against the rehearsal overrides, then verify, then report.
    Rehearse {
        name: String,
        /// Set a parameter: -p key=value (repeatable); wins over the rehearsal's own.
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Answer yes to every `confirm`.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Continue an interrupted run after its last finished step (a run that ended is not resumed).
    Resume {
        #[arg(value_name = "RUN-ID")]
        run_id: String,
        /// Give again a param the journal holds masked (a secret's value, a
        /// password in a URL): -p key=value (repeatable).
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Answer yes to every `confirm`.
        #[arg(long, short = 'y')]
        yes: bool,
        /// End the run's processes that still run (SIGTERM to each recorded
        /// process group, then SIGKILL) instead of refusing.
        #[arg(long)]
        kill_leftovers: bool,
        /// With a shared state database: take as ended the commands that
        /// another machine started for the run and never recorded as ended
        /// (cairn cannot check processes there).
        #[arg(long)]
        ended_elsewhere: bool,
    },
    /// Retry a run that ended (failed, refused): a new run with its params, naming it.
    Retry {
        #[arg(value_name = "RUN-ID")]
        run_id: String,
        /// Change a parameter: -p key=value (repeatable); wins over the retried run's.
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Answer yes to every `confirm`.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Pin the plugins the runbooks use (digest + granted capabilities) in cairn.lock.
    Lock {
        /// Re-pin plugins whose digest or capabilities changed.
        #[arg(long)]
        update: bool,
        /// Pin the sha256 of every granted program too (kept by later
        /// `--update`s); a run refuses a program whose file changed.
        #[arg(long)]
        strict: bool,
    },
    /// Past runs: id, runbook@version, mode, result, duration.
    History { name: Option<String> },
    /// The journal of one run, readable.
    Log {
        #[arg(value_name = "RUN-ID")]
        run_id: String,
    },
    /// Plugins: list, show; a project's own: new, build, test.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Storages: gc.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Every plugin: name, version, source, actions.
    List,
    /// A plugin's description, actions with their arguments, capabilities
    /// and digest.
    #[command(alias = "inspect")]
    Show { name: String },
    /// Write a new plugin in `plugins/NAME/`: one action, its args schema,
    /// unit tests against a mock host, a runbook `runbooks/NAME-hello.kdl`
    /// that uses it, and its grant in `cairn.kdl`.
    New {
        name: String,
        /// The plugin's language.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
    },
    /// Build a plugin (all when none named) to `plugins/NAME.wasm` and
    /// renew its pin in `cairn.lock`.
    Build { name: Option<String> },
    /// Run a plugin's unit tests (all when none named), natively.
    Test { name: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Remove what runs that died mid-write left in a storage (temporary
    /// files, unfinished uploads, archives without manifest), once their
    /// writer is proven gone; list each with the reason.
    Gc {
        /// A storage of cairn.kdl.
        name: String,
        /// List what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl Cli {
    pub fn style(&self) -> Style {
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Style {
            color,
            verbose: self.verbose,
            quiet: self.quiet,
        }
    }
}

/// Parses the command line, runs the command, maps the outcome to an exit code.
pub fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let style = cli.style();
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e, style);
            e.exit_code()
        }
    };
    crate::children::cgroup::remove_spares();
    std::process::ExitCode::from(code as u8)
}

/// `print!` panics when stdout's (or stderr's) reader has gone (`cairn list | head -1`);
/// cairn then ends as other Unix tools do, quietly by SIGPIPE. Writes that
/// matter (a run's events) ignore the error and the run goes on.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std")
            && message.ends_with(&format!("(os error {})", libc::EPIPE))
        {
            crate::sys::die_of_sigpipe();
        }
        default(info)
    }));
}

fn report(e: &Error, style: Style) {
    let text = match e {
        Error::Invalid(d) => diagnostics::render_diagnostics(d, style.color),
        Error::Other(e) => format!("{} {e:#}\n", style.red("error:")),
        Error::Refused(m) => format!("{} {m}\n", style.red("refused:")),
        other => format!("{} {other}\n", style.red("error:")),
    };
    // A password typed in a URL is not shown back.
    eprint!("{}", crate::redact::mask_passwords(&text));
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,cairn=info",
        _ => "info,cairn=debug",
    };
    // `CAIRN_LOG`, else the usual `RUST_LOG`, else by `-v`.
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The docker engine's client logs its request bodies at debug: an
        // exec's environment, secrets included. Never shown, whatever
        // `CAIRN_LOG` asks.
        .add_directive("bollard=info".parse().expect("a filter directive"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A span's close line carries its `duration_ms` (crate::spans).
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .without_time()
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .try_init();
}
