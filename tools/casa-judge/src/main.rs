//! casa-judge: one standard verdict on a CASA run, for DAGMan POST scripts and
//! operators. Thin binary: arguments in, `vlass_casalog::judge_run`, output and
//! exit code out.

use clap::Parser;
use std::path::PathBuf;
use vlass_casalog::policy::{self, PolicySettings};
use vlass_casalog::{JudgeRequest, Judgement, ReadMode, Verdict};
use vlass_cli::ExitCode;

// musl's own malloc is slow under threads; see BENCHMARKS.md, "static build".
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOOL: &str = "casa-judge";

const ABOUT: &str =
    "Judge a CASA run: success, or failure (retryable or permanent) with every reason.";

const LONG_ABOUT: &str = "\
Judge a CASA run: success, or failure (retryable or permanent) with every reason and its evidence.

A run succeeds only when: no fatal SEVERE record (benign list aside; flagmanager's are always fatal);
no task raised an exception; no task began without ending; no tclean divergence; every expected
product exists and is sound; and the exit status is 0 (a positive status with a clean log and sound
expected products is a false failure: success with a warning). Signals and DAGMan's -1001/-1002/-1004
make the failure retryable unless the log shows a cause a retry cannot fix.

As a DAGMan POST script:
  SCRIPT POST node casa-judge --exit-status $RETURN --policy quicklook --workdir DIR --json judge.json DIR";

#[derive(Parser)]
#[command(name = TOOL, version = vlass_cli::long_version(), long_version = vlass_cli::long_version(),
          about = ABOUT, long_about = LONG_ABOUT, after_help = vlass_cli::exit::EXIT_CODE_HELP)]
struct Args {
    /// CASA log files (any name, .gz too) and directories searched for casa-*.log / casa.log.
    #[arg(value_name = "LOG_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Exit status of the CASA process, or DAGMan's $RETURN verbatim (negative: signal or DAGMan error).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    exit_status: Option<i64>,
    /// Expected product glob, relative to --workdir (repeatable; replaces the policy's list).
    /// Globs with commas are not supported (the list is comma-separated, as in CAPO).
    #[arg(long, value_name = "GLOB")]
    expect: Vec<String>,
    /// Directory the product globs are relative to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workdir: PathBuf,
    /// Captured stderr of the CASA process (WARN/SEVERE echoes, Python tracebacks).
    #[arg(long, value_name = "FILE")]
    stderr: Option<PathBuf>,
    /// Captured stdout of the CASA process (casashell's exit message).
    #[arg(long, value_name = "FILE")]
    stdout: Option<PathBuf>,
    /// Workflow policy: default, quicklook, calibration, se_calibration, se_continuum_imaging,
    /// se_coarse_cube_imaging, seci_split_measurement_sets, image-caching.
    #[arg(long, value_name = "NAME", default_value = "default")]
    policy: String,
    /// Override one policy setting, KEY=VALUE (key with or without edu.nrao.vlass.casajudge.; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// CAPO profile (e.g. production, test); default: $CAPO_PROFILE; none: CAPO not used.
    #[arg(long, value_name = "PROFILE", alias = "capo-profile")]
    profile: Option<String>,
    /// Colon-separated CAPO directories; default: $CAPO_PATH, else /home/casa/capo:/home/ssa/capo
    /// (~/.capo is always read last).
    #[arg(long, value_name = "DIRS")]
    capo_path: Option<String>,
    /// Print the effective policy NAME, each value with its origin, and exit.
    #[arg(long, value_name = "NAME")]
    show_policy: Option<String>,
    /// Write the judgement as JSON (schema casa-judge/1) to FILE, or to stdout with '-'.
    #[arg(long, value_name = "FILE|-")]
    json: Option<PathBuf>,
    /// Write the task timeline (tab-separated) to FILE.
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Worker threads; default: $RAYON_NUM_THREADS, else $OMP_NUM_THREADS, else all cores.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// How logs are read: read (stream every log through a reused buffer) or auto (memory-map
    /// regular files of 64 KiB or more unchanged for 10 s, stream the rest; a mapped file
    /// truncated while being judged crashes the judge with SIGBUS).
    #[arg(long, value_name = "MODE", default_value = "read", value_parser = ["read", "auto"])]
    mmap: String,
    /// Resolve the policy, the logs and the expected-product globs as a run would, print what
    /// would be read and written (one line each), write nothing and exit 0 (2 on a usage error).
    #[arg(long)]
    dry_run: bool,
    /// Print nothing on stdout (the exit code and --json carry the verdict).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Log the version on stderr at start; also print warnings' evidence and the task timeline.
    #[arg(short, long)]
    verbose: bool,
}

fn policy_settings(name: &str, args: &Args) -> Result<PolicySettings, String> {
    let mut settings = PolicySettings::builtin(name).map_err(|e| e.to_string())?;
    settings
        .load_capo(&vlass_capo::CapoOptions {
            profile: args.profile.clone(),
            path: args.capo_path.clone(),
        })
        .map_err(|e| e.to_string())?;
    if !args.expect.is_empty() {
        settings
            .set(policy::KEY_PRODUCTS, &args.expect.join(","), "--expect")
            .map_err(|e| e.to_string())?;
    }
    for assignment in &args.settings {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("--set '{assignment}': expected KEY=VALUE"))?;
        settings
            .set(key, value.trim(), "--set")
            .map_err(|e| e.to_string())?;
    }
    Ok(settings)
}

fn write_outputs(args: &Args, judgement: &Judgement) -> Result<(), String> {
    if let Some(path) = &args.timeline {
        vlass_cli::write_atomic(path, judgement.timeline_tsv().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = &args.json {
        vlass_cli::json::write_json(path, judgement).map_err(|e| {
            if vlass_cli::is_broken_pipe(&e) {
                String::new()
            } else {
                format!("{}: {e}", path.display())
            }
        })?;
    }
    if !args.quiet && !json_to_stdout {
        use std::io::Write;
        let text = judgement.to_text(args.verbose);
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            if !vlass_cli::is_broken_pipe(&e) {
                return Err(format!("stdout: {e}"));
            }
        }
    }
    Ok(())
}

/// `--dry-run`: what `judge_run` would read (logs, streams, product matches) and what the
/// run would write, found the way a run finds them; nothing is read beyond the search.
fn dry_run(
    args: &Args,
    request: &JudgeRequest,
    policy: &vlass_casalog::Policy,
) -> Result<ExitCode, String> {
    use vlass_casalog::{products, source};
    let found = source::discover_logs(&request.inputs)
        .map_err(|e| vlass_casalog::JudgeError::from(e).to_string())?;
    if found.logs.is_empty() && request.exit_status.is_none() {
        return Err("nothing to judge: no CASA log found and no --exit-status given".into());
    }
    let mut lines = vec![format!("policy {}", args.policy)];
    lines.extend(found.logs.iter().map(|p| format!("read {}", p.display())));
    lines.extend(
        found
            .not_casa
            .iter()
            .map(|p| format!("skip {} (an HTCondor job event log)", p.display())),
    );
    for (path, what) in [(&request.stdout, "--stdout"), (&request.stderr, "--stderr")] {
        let Some(path) = path else { continue };
        lines.push(if path.exists() {
            format!("read {}", path.display())
        } else {
            format!("skip {} ({what} file does not exist)", path.display())
        });
    }
    if !policy.expected_products.is_empty() && !request.workdir.is_dir() {
        return Err(format!(
            "{}: the work directory (--workdir) does not exist or is not a directory",
            request.workdir.display()
        ));
    }
    for pattern in &policy.expected_products {
        let paths = products::expand_glob(&request.workdir, pattern)?;
        if paths.is_empty() {
            lines.push(format!(
                "expect {pattern}: nothing matches in {}",
                request.workdir.display()
            ));
        }
        lines.extend(
            paths
                .iter()
                .map(|p| format!("expect {pattern}: {}", p.display())),
        );
    }
    for path in [&args.json, &args.timeline].into_iter().flatten() {
        if path.as_os_str() == "-" {
            lines.push("write - (stdout)".to_string());
        } else {
            lines.push(format!("write {}", path.display()));
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if !vlass_cli::is_broken_pipe(&e) {
            return Err(format!("stdout: {e}"));
        }
    }
    Ok(ExitCode::Success)
}

fn try_main(args: &Args) -> Result<ExitCode, String> {
    if let Some(name) = &args.show_policy {
        let settings = policy_settings(name, args)?;
        settings.to_policy().map_err(|e| e.to_string())?;
        print!("{}", settings.describe());
        return Ok(ExitCode::Success);
    }
    let settings = policy_settings(&args.policy, args)?;
    for warning in settings.warnings() {
        vlass_cli::print_warning(TOOL, &warning);
    }
    let policy = settings.to_policy().map_err(|e| e.to_string())?;
    let mut request = JudgeRequest::new(args.inputs.clone());
    request.stdout = args.stdout.clone();
    request.stderr = args.stderr.clone();
    request.exit_status = args.exit_status;
    request.workdir = args.workdir.clone();
    request.jobs = vlass_cli::effective_jobs(args.jobs);
    if args.mmap == "auto" {
        request.read.mode = ReadMode::Auto;
    }
    if args.dry_run {
        return dry_run(args, &request, &policy);
    }
    let judgement = vlass_casalog::judge_run(&request, &policy).map_err(|e| e.to_string())?;
    write_outputs(args, &judgement)?;
    let code = match (judgement.verdict, judgement.retryable) {
        (Verdict::Success, _) => ExitCode::Success,
        (Verdict::Failure, true) => ExitCode::Retryable,
        (Verdict::Failure, false) => ExitCode::Failure,
    };
    // The process ends now: freeing a big run's timeline (hundreds of thousands
    // of tasks) piece by piece would only cost time; the kernel reclaims it whole.
    std::mem::forget(judgement);
    Ok(code)
}

fn main() -> std::process::ExitCode {
    vlass_cli::reset_sigpipe();
    // With --mmap auto a log may be mapped; one truncated meanwhile ends the run
    // with one line and the input-error code, as a log that shrinks while streamed does.
    vlass_casalog::exit_cleanly_on_truncated_maps(TOOL, ExitCode::Usage.code());
    let args = Args::parse();
    if args.verbose {
        vlass_cli::log_version(TOOL);
    }
    match try_main(&args) {
        Ok(code) => code.into(),
        Err(message) => {
            if !message.is_empty() {
                vlass_cli::print_error(TOOL, &message);
            }
            ExitCode::Usage.into()
        }
    }
}
