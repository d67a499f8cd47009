//! component-list: PyBDSF-compatible source catalogues of VLASS continuum
//! images (`component-list IMAGE`) and per-plane fluxes with spectral indices
//! from coarse cubes (`component-list cube --catalog CSV CUBE...`). Thin
//! binary: arguments, configuration and file handling here; finding in
//! `vlass_sourcefind`, catalogue layout in `vlass_sourcefind::catalog`,
//! cube photometry in `vlass_sourcefind::cube`.

mod config;
mod continuum;
mod cube_mode;
mod inputs;
mod outputs;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use vlass_cli::ExitCode;

// musl's own malloc is slow under threads; see BENCHMARKS.md, "static build".
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The tool name used in messages.
pub const TOOL: &str = "component-list";

/// A failure that ends the run: one line `component-list: <message>`, exit 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The library errors a run can stop on; their Display already names the file.
macro_rules! failure_from {
    ($($error:ty),*) => {$(
        impl From<$error> for Failure {
            fn from(e: $error) -> Failure {
                Failure(e.to_string())
            }
        }
    )*};
}
failure_from!(
    vlass_fits::FitsError,
    vlass_capo::CapoError,
    serde_json::Error
);

#[derive(Parser)]
#[command(
    name = "component-list",
    version = vlass_cli::long_version(),
    long_version = vlass_cli::long_version(),
    after_help = vlass_cli::exit::EXIT_CODE_HELP,
    args_conflicts_with_subcommands = true,
    about = "Source catalogue (PyBDSF columns) of a VLASS continuum image; \
`component-list cube` measures a catalogue in coarse-cube planes"
)]
struct Args {
    /// Log the version (and git commit) on stderr at start.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    continuum: continuum::ContinuumArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Flux density of every catalogue component in each cube plane, and its spectral index.
    #[command(after_help = vlass_cli::exit::EXIT_CODE_HELP)]
    Cube(cube_mode::CubeArgs),
}

/// Output options shared by both modes.
#[derive(clap::Args, Debug, Clone)]
pub struct OutputArgs {
    /// Directory for the output files (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// Output file-name prefix; default: the (first) input file name without `.fits[.gz]`.
    #[arg(long, value_name = "NAME")]
    pub prefix: Option<String>,
    /// Comma-separated outputs: csv, fits, ds9, json (cube mode: csv, fits, json); default all.
    #[arg(long, value_name = "LIST")]
    pub format: Option<String>,
    /// Worker threads (0 or absent: $RAYON_NUM_THREADS, else $OMP_NUM_THREADS, else all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Check the configuration, open the input headers and plan the output names as a run
    /// would, print what would be read and written (one line each), write nothing, exit 0.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--dry-run`'s report: `read FILE` for each input, `mkdir DIR` when the output directory
/// is missing, `write FILE` for each output, in order, on stdout.
pub fn print_dry_run(reads: &[PathBuf], out: &outputs::OutputSet, suffixes: &[&str]) {
    let mut lines: Vec<String> = reads
        .iter()
        .map(|p| format!("read {}", p.display()))
        .collect();
    if !out.dir().is_dir() {
        lines.push(format!("mkdir {}", out.dir().display()));
    }
    lines.extend(
        suffixes
            .iter()
            .map(|s| format!("write {}", out.path(s).display())),
    );
    let mut text = lines.join("\n");
    text.push('\n');
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn main() -> std::process::ExitCode {
    vlass_cli::reset_sigpipe();
    let args = Args::parse();
    if args.verbose {
        vlass_cli::log_version(TOOL);
    }
    let result = match args.command {
        Some(Command::Cube(cube)) => cube_mode::run(&cube),
        None => continuum::run(&args.continuum),
    };
    match result {
        Ok(()) => ExitCode::Success.into(),
        Err(failure) => {
            vlass_cli::print_error(TOOL, &failure);
            ExitCode::Usage.into()
        }
    }
}

/// Installs the global rayon pool with `--jobs` threads.
pub fn install_thread_pool(jobs: Option<usize>) -> Result<usize, Failure> {
    let threads = vlass_cli::effective_jobs(jobs);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Failure(format!("cannot start {threads} worker threads: {e}")))?;
    Ok(threads)
}
