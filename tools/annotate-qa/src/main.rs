//! annotate-qa: image QA of VLASS Quick Look, Single Epoch and coarse-cube products.
//! This binary parses arguments, finds the files, and writes the outputs; the measuring and
//! the rules live in `vlass-qa` (crates/qa).

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use vlass_capo::{CapoOptions, Settings};
use vlass_cli::ExitCode;
use vlass_qa::header_write::annotate_in_place;
use vlass_qa::keywords::{header_cards, KeywordInputs};
use vlass_qa::measure::PreviewRequest;
use vlass_qa::preview::PreviewOptions;
use vlass_qa::report::{
    group_products, run, Document, HeaderReport, ProductInput, ProductReport, SCHEMA,
};
use vlass_qa::thresholds::{full_key, is_known_key, Thresholds, DEFAULTS};

// musl's own malloc is slow under threads; see BENCHMARKS.md, "static build".
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOOL: &str = "annotate-qa";

/// Output form of `--show-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

/// Image QA for VLASS Quick Look (QL), Single Epoch (SE) and coarse-cube (CC) products.
///
/// Each PATH is a FITS file or a directory walked recursively for *.fits and *.fits.gz.
/// Files are grouped into products by their VLASS names; every file is measured (exact
/// statistics over its finite pixels, per plane for cubes), the rules of its product kind
/// decide pass / warn / fail, and a summary table is printed.
#[derive(Parser, Debug)]
#[command(name = "annotate-qa", version = vlass_cli::long_version(), long_version = vlass_cli::long_version(),
          after_help = vlass_cli::exit::EXIT_CODE_HELP)]
struct Args {
    /// FITS files or directories.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Log the version (and git commit) on stderr at start.
    #[arg(short, long)]
    verbose: bool,
    /// Write the JSON report to FILE (`-` for stdout; the table then goes to stderr).
    #[arg(long, value_name = "FILE|-")]
    json: Option<PathBuf>,
    /// Write a CSV with one row per file.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write <file>.qa.json next to each product's main file (or under --output-dir).
    #[arg(long)]
    sidecar: bool,
    /// Directory for the sidecar files (each keeps its input's place below its PATH).
    #[arg(long, value_name = "DIR", requires = "sidecar")]
    output_dir: Option<PathBuf>,
    /// Annotate the FITS files in place with the VLASS keywords and the QA verdict.
    #[arg(long)]
    write_header: bool,
    /// Write a PNG preview per image (per plane for cubes) into DIR, each keeping its
    /// input's place below its PATH.
    #[arg(long, value_name = "DIR")]
    previews: Option<PathBuf>,
    /// CAPO profile (default: $CAPO_PROFILE); none: CAPO not used.
    #[arg(long, value_name = "PROFILE", alias = "capo-profile")]
    profile: Option<String>,
    /// Colon-separated CAPO directories (default: $CAPO_PATH).
    #[arg(long, value_name = "DIRS")]
    capo_path: Option<String>,
    /// Override a threshold, e.g. `se.noisewarnjy=0.0002` (repeatable; see --show-config).
    #[arg(long, value_name = "KEY=VALUE")]
    threshold: Vec<String>,
    /// Print every threshold with its value and origin, then exit.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text", require_equals = true)]
    show_config: Option<ShowFormat>,
    /// Worker threads (0: $RAYON_NUM_THREADS, else $OMP_NUM_THREADS, else all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Check the configuration, find the files, group the products and plan every output
    /// (clashes included) as a run would, print what would be read and written (one line
    /// each), write nothing and exit 0 (2 where a run would stop or report an input error).
    #[arg(long)]
    dry_run: bool,
}

/// A problem that ends the run before any product is measured (exit 2).
struct Fatal(String);

fn main() -> std::process::ExitCode {
    vlass_cli::reset_sigpipe();
    // Planes are read from memory maps; a file truncated meanwhile ends the run with one line.
    vlass_fits::exit_cleanly_on_truncated_maps(TOOL, ExitCode::Usage.code());
    let args = Args::parse();
    if args.verbose {
        vlass_cli::log_version(TOOL);
    }
    // A dry run writes nothing, not even the error document.
    let json = args.json.clone().filter(|_| !args.dry_run);
    match try_main(args) {
        Ok(code) => code.into(),
        Err(Fatal(message)) => {
            vlass_cli::print_error(TOOL, &message);
            // Outputs that would clash were refused with "nothing written": keep that true.
            let clash = OUTPUTS_CLASH.load(std::sync::atomic::Ordering::Relaxed);
            if let (Some(path), false) = (json, clash) {
                write_error_document(&path, &message);
            }
            ExitCode::Usage.into()
        }
    }
}

/// Set when the planned outputs clash (the run then writes nothing at all).
static OUTPUTS_CLASH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After a fatal error (exit 2, nothing measured) the `--json` file, when it names
/// a file, still gets a document, `{schema, tool_version, error, products: []}`:
/// a DAG node's named output then exists, so HTCondor hands the exit code to
/// DAGMan (whose ABORT-DAG-ON stops the DAG) instead of holding the job for a
/// missing output. A path that exists and does not end in `.json` is left alone
/// (it may be an input named by mistake).
fn write_error_document(path: &Path, message: &str) {
    let is_json_name = path.extension().is_some_and(|e| e == "json");
    if path.as_os_str() == "-" || (path.exists() && !is_json_name) {
        return;
    }
    let doc = serde_json::json!({
        "schema": SCHEMA,
        "tool_version": vlass_cli::VERSION,
        "error": message,
        "products": [],
    });
    if let Err(e) = vlass_cli::json::write_json(path, &doc) {
        vlass_cli::print_error(TOOL, &format!("{}: {e}", path.display()));
    }
}

fn settings(args: &Args) -> Result<Settings, Fatal> {
    let mut s = Settings::new();
    for t in DEFAULTS {
        s.default_value(&full_key(t.key), t.value, t.why);
    }
    let opts = CapoOptions {
        profile: args.profile.clone(),
        path: args.capo_path.clone(),
    };
    s.load_capo(&opts).map_err(|e| Fatal(e.to_string()))?;
    for assignment in &args.threshold {
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(Fatal(format!(
                "--threshold '{assignment}': expected KEY=VALUE"
            )));
        };
        if !is_known_key(key) {
            return Err(Fatal(format!(
                "--threshold '{assignment}': unknown key '{}' (see --show-config)",
                key.trim()
            )));
        }
        s.set_flag_from(&full_key(key), value.trim(), "--threshold")
            .map_err(|e| Fatal(e.to_string()))?;
    }
    Ok(s)
}

fn is_fits_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    match name {
        // Hidden files include the atomic writers' temporaries (`.<name>.tmp-…`).
        Some(n) => !n.starts_with('.') && (n.ends_with(".fits") || n.ends_with(".fits.gz")),
        None => false,
    }
}

/// One input file and its place under the PATH argument it was found under: the path
/// below a directory argument, or the file name for a file argument. Outputs written under
/// `--output-dir` and `--previews` mirror it.
struct Input {
    path: PathBuf,
    relative: PathBuf,
}

/// The files to process (directories walked, sorted) and the soft errors met on the way.
/// A file reached twice (the same PATH given twice, a file inside a directory also given,
/// a link) is processed once, where it was first found.
fn collect_files(paths: &[PathBuf]) -> (Vec<Input>, Vec<String>) {
    use std::os::unix::fs::MetadataExt;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |files: &mut Vec<Input>, path: PathBuf, relative: PathBuf| {
        let first = match std::fs::metadata(&path) {
            Ok(md) => seen.insert((md.dev(), md.ino())),
            // Unreadable metadata: kept, and reported when the file is measured.
            Err(_) => true,
        };
        if first {
            files.push(Input { path, relative });
        }
    };
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push(format!("{}: {}", path.display(), vlass_cli::io_problem(&e))),
            Ok(md) if md.is_dir() => {
                let mut found = Vec::new();
                for entry in walkdir::WalkDir::new(path).follow_links(true) {
                    match entry {
                        Ok(e) if e.file_type().is_file() && is_fits_name(e.path()) => {
                            found.push(e.into_path())
                        }
                        Ok(_) => {}
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                found.sort();
                for f in found {
                    // walkdir's paths all start with the directory argument.
                    let relative = match f.strip_prefix(path) {
                        Ok(r) => r.to_path_buf(),
                        Err(_) => PathBuf::from(f.file_name().unwrap_or_default()),
                    };
                    add(&mut files, f, relative);
                }
            }
            Ok(_) => {
                let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
                add(&mut files, path.clone(), relative);
            }
        }
    }
    (files, errors)
}

fn progress_bar(total: usize, hidden: bool) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

/// Writes the header keywords of every file of a product; returns the soft errors.
fn annotate_product(p: &mut ProductReport) -> Vec<String> {
    let mut errors = Vec::new();
    let peak_of = |files: &[vlass_qa::report::FileReport], t: &str| {
        files
            .iter()
            .find(|f| f.image_type == t)
            .and_then(|f| f.metrics.as_ref())
            .and_then(|m| m.peak.as_ref().map(|p| p.value))
    };
    let rms_of = |files: &[vlass_qa::report::FileReport], t: &str| {
        files
            .iter()
            .find(|f| f.image_type == t)
            .and_then(|f| f.metrics.as_ref())
            .and_then(|m| m.median)
    };
    let (peak_tt0, peak_tt1, peak_image) = (
        peak_of(&p.files, "tt0"),
        peak_of(&p.files, "tt1"),
        peak_of(&p.files, "image"),
    );
    let (rms_tt0, rms_tt1, rms_image) = (
        rms_of(&p.files, "tt0.rms"),
        rms_of(&p.files, "tt1.rms"),
        rms_of(&p.files, "image.rms"),
    );
    // Coarse cubes: (rms, peak) of each spw's intensity file, native and `.com` apart.
    type SpwKey = (Option<String>, bool);
    let mut cube_spw: BTreeMap<SpwKey, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for f in &p.files {
        let name = Path::new(&f.path)
            .file_name()
            .and_then(|n| vlass_products::parse(&n.to_string_lossy()).ok());
        let (Some(name), Some(m)) = (name, f.metrics.as_ref()) else {
            continue;
        };
        let entry = cube_spw
            .entry((name.spw_selection, name.common_beam))
            .or_default();
        if matches!(f.image_type.as_str(), "image" | "tt0") && entry.1.is_none() {
            *entry = (m.rms_median, m.peak.as_ref().map(|pk| pk.value));
        }
    }
    let status = p.status;
    for f in p.files.iter_mut() {
        if f.error.is_some() {
            continue;
        }
        let path = PathBuf::from(&f.path);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(name) = vlass_products::parse(&file_name) else {
            let mut skipped = BTreeMap::new();
            skipped.insert("*".to_string(), "not a VLASS product name".to_string());
            f.header = Some(HeaderReport {
                skipped,
                ..HeaderReport::default()
            });
            continue;
        };
        let (rms, peak) = match f.image_type.as_str() {
            // Coarse cubes: the intensity file of this file's spw (its Stokes I headline).
            _ if name.kind.code() == "CC" => cube_spw
                .get(&(name.spw_selection.clone(), name.common_beam))
                .copied()
                .unwrap_or_default(),
            "tt1" | "tt1.rms" => (rms_tt1, peak_tt1),
            "image" | "image.rms" => (rms_image, peak_image),
            _ => (rms_tt0, peak_tt0),
        };
        // One spw's planes share its rejection: VLASSRJ follows the Stokes I plane(s).
        let has_i = f.planes.iter().any(|pl| pl.stokes.as_deref() == Some("I"));
        let rejected: Vec<bool> = f
            .planes
            .iter()
            .filter(|pl| !has_i || pl.stokes.as_deref() == Some("I"))
            .map(|pl| pl.rejected)
            .collect();
        let is_cube_intensity =
            matches!(f.image_type.as_str(), "image" | "tt0") && name.kind.code() == "CC";
        let spw = f.header_spw.clone().or_else(|| name.spw_selection.clone());
        let input = KeywordInputs {
            name: &name,
            spw,
            rms_median: rms,
            peak,
            plane_rejected: if is_cube_intensity { &rejected } else { &[] },
            status,
            tool_version: vlass_cli::VERSION,
        };
        let (cards, skipped) = header_cards(&input);
        match annotate_in_place(&path, &cards) {
            Ok(r) => {
                f.header = Some(HeaderReport {
                    updated: r.updated,
                    added: r.added,
                    skipped: skipped.into_iter().collect(),
                    data_sha256: r.data_sha256,
                })
            }
            Err(e) => errors.push(format!("--write-header: {e}")),
        }
    }
    errors
}

/// The file a product's sidecar is named after: its tt0 or cube image, else its first file.
fn main_input(p: &ProductInput) -> Option<&Path> {
    p.files
        .iter()
        .find(|(_, name)| {
            name.as_ref()
                .is_ok_and(|n| matches!(n.image_type.as_str(), "tt0" | "image"))
        })
        .or_else(|| p.files.first())
        .map(|(path, _)| path.as_path())
}

/// Where every output of the run goes, decided (and checked for clashes) before anything
/// is written.
struct OutputPlan {
    /// Sidecar of each product, in product order.
    sidecars: Vec<Option<PathBuf>>,
    /// Sub-directory of `--previews` for each input (inputs found at the top stay at the top).
    preview_subdirs: BTreeMap<PathBuf, PathBuf>,
    /// Directories to create.
    dirs: Vec<PathBuf>,
}

/// The absolute, normalised form of an output path, used to tell whether two outputs are
/// one file: `.` and `..` resolved, and symbolic links resolved in the part that exists.
fn output_key(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut norm = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                norm.pop();
            }
            Component::CurDir => {}
            other => norm.push(other),
        }
    }
    let mut existing = norm.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(mut key) = existing.canonicalize() {
            key.extend(rest.iter().rev());
            return key;
        }
        match existing.file_name().map(|n| n.to_os_string()) {
            Some(name) if existing.pop() => rest.push(name),
            _ => return norm,
        }
    }
}

/// Whether `--json`/`--csv` writes to a file that could clash with another output: not
/// stdout, not a device or a /proc descriptor (those are written in place, in order).
fn is_file_output(path: &Path) -> bool {
    if path == Path::new("-") {
        return false;
    }
    let key = output_key(path);
    if key.starts_with("/dev") || key.starts_with("/proc") {
        return false;
    }
    std::fs::metadata(&key).map_or(true, |md| md.is_file())
}

/// The preview stems a `--json`/`--csv` file name could collide with: `S` for `S.png` and
/// `S.plane<k>.png`.
fn preview_stems_of(key: &Path) -> Vec<PathBuf> {
    let Some(name) = key.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let Some(base) = name.strip_suffix(".png") else {
        return Vec::new();
    };
    let mut stems = vec![key.with_file_name(base)];
    if let Some((stem, k)) = base.rsplit_once(".plane") {
        if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) {
            stems.push(key.with_file_name(stem));
        }
    }
    stems
}

/// Decides every output path of the run. Under `--output-dir` and `--previews` each input
/// keeps its place below the PATH argument it was found under, so files of one name in
/// different directories get different outputs. Two outputs that would still be one file
/// (two PATH arguments holding the same relative path, `--json` or `--csv` naming another
/// output or an input) end the run before anything is written.
fn plan_outputs(
    args: &Args,
    inputs: &[Input],
    products: &[ProductInput],
) -> Result<OutputPlan, Fatal> {
    let relative: BTreeMap<&Path, &Path> = inputs
        .iter()
        .map(|i| (i.path.as_path(), i.relative.as_path()))
        .collect();
    let subdir_of = |path: &Path| -> PathBuf {
        relative
            .get(path)
            .and_then(|r| r.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    // Output identity -> what it is, for the message on a clash.
    let mut taken: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut claim = |target: &Path, what: String| -> Result<(), Fatal> {
        match taken.entry(output_key(target)) {
            std::collections::btree_map::Entry::Occupied(e) => Err(Fatal(format!(
                "{}: would be written twice, as {} and as {what}; nothing written (give \
                 the directories' common parent as one PATH, or run them separately)",
                target.display(),
                e.get()
            ))),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(what);
                Ok(())
            }
        }
    };

    let mut sidecars = Vec::with_capacity(products.len());
    for p in products {
        let target = if args.sidecar {
            main_input(p).and_then(|main| {
                let name = format!("{}.qa.json", main.file_name()?.to_string_lossy());
                Some(match &args.output_dir {
                    Some(dir) => {
                        let sub = dir.join(subdir_of(main));
                        dirs.push(sub.clone());
                        sub.join(name)
                    }
                    None => main.with_file_name(name),
                })
            })
        } else {
            None
        };
        if let (Some(t), Some(main)) = (&target, main_input(p)) {
            claim(t, format!("the sidecar of {}", main.display()))?;
        }
        sidecars.push(target);
    }

    let mut preview_subdirs = BTreeMap::new();
    let mut preview_stems: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    if let Some(dir) = &args.previews {
        dirs.push(dir.clone());
        for input in inputs {
            let sub = subdir_of(&input.path);
            let target_dir = dir.join(&sub);
            if !sub.as_os_str().is_empty() {
                dirs.push(target_dir.clone());
                preview_subdirs.insert(input.path.clone(), sub);
            }
            // Preview names are the stem plus `.png` or `.plane<k>.png`, and every stem
            // ends in `.fits` or `.fits.gz`: two inputs' previews can only meet when their
            // stems are equal.
            let stem = target_dir.join(input.path.file_name().unwrap_or_default());
            let what = format!("the preview of {}", input.path.display());
            match preview_stems.entry(output_key(&stem)) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    return Err(Fatal(format!(
                        "{}: would be written twice, as the preview of {} and as {what}; \
                         nothing written (give the directories' common parent as one PATH, \
                         or run them separately)",
                        stem.with_file_name(format!(
                            "{}.png",
                            stem.file_name().unwrap_or_default().to_string_lossy()
                        ))
                        .display(),
                        e.get().display()
                    )))
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(input.path.clone());
                }
            }
        }
    }

    let inputs_by_key: BTreeMap<PathBuf, &Path> = inputs
        .iter()
        .map(|i| (output_key(&i.path), i.path.as_path()))
        .collect();
    for (flag, path) in [("--json", &args.json), ("--csv", &args.csv)] {
        let Some(path) = path.as_deref().filter(|p| is_file_output(p)) else {
            continue;
        };
        let key = output_key(path);
        if let Some(input) = inputs_by_key.get(&key) {
            return Err(Fatal(format!(
                "{}: {flag} names the input {}; nothing written",
                path.display(),
                input.display()
            )));
        }
        if let Some(of) = preview_stems_of(&key)
            .iter()
            .find_map(|s| preview_stems.get(s))
        {
            return Err(Fatal(format!(
                "{}: {flag} names a preview of {}; nothing written",
                path.display(),
                of.display()
            )));
        }
        claim(path, format!("the {flag} file"))?;
    }
    if let Some(dir) = &args.output_dir {
        dirs.push(dir.clone());
    }
    dirs.sort();
    dirs.dedup();
    Ok(OutputPlan {
        sidecars,
        preview_subdirs,
        dirs,
    })
}

/// `--dry-run`: the products found and every output of the plan, one line each, on stdout.
/// Previews need each file's plane count, read from its header (a file that does not open
/// gets its single-plane name; a run would report the file instead).
fn dry_run(
    args: &Args,
    products: &[ProductInput],
    plan: &OutputPlan,
    inputs_ok: bool,
) -> Result<ExitCode, Fatal> {
    let mut lines = Vec::new();
    for p in products {
        for (path, _) in &p.files {
            lines.push(format!("read {} (product {})", path.display(), p.key));
        }
    }
    for dir in &plan.dirs {
        if !dir.is_dir() {
            // Shown without the trailing `/` a join with an empty sub-directory leaves.
            let dir: PathBuf = dir.components().collect();
            lines.push(format!("mkdir {}", dir.display()));
        }
    }
    for (flag, path) in [("--json", &args.json), ("--csv", &args.csv)] {
        match path {
            Some(p) if p.as_os_str() == "-" => lines.push(format!("write - (stdout, {flag})")),
            Some(p) => lines.push(format!("write {}", p.display())),
            None => {}
        }
    }
    lines.extend(
        plan.sidecars
            .iter()
            .flatten()
            .map(|p| format!("write {}", p.display())),
    );
    if let Some(dir) = &args.previews {
        for p in products {
            for (path, _) in &p.files {
                let target = match plan.preview_subdirs.get(path) {
                    Some(sub) => dir.join(sub),
                    None => dir.clone(),
                };
                let planes = vlass_fits::Image::open(path).map_or(1, |i| i.plane_count());
                for plane in 0..planes {
                    let name = vlass_qa::measure::preview_name(path, plane, planes);
                    lines.push(format!("write {}", target.join(name).display()));
                }
            }
        }
    }
    if args.write_header {
        for p in products {
            for (path, name) in &p.files {
                if name.is_ok() {
                    lines.push(format!("write {} (header, in place)", path.display()));
                }
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
        if !vlass_cli::is_broken_pipe(&e) {
            return Err(Fatal(format!("stdout: {e}")));
        }
    }
    Ok(if inputs_ok {
        ExitCode::Success
    } else {
        ExitCode::Usage
    })
}

fn try_main(args: Args) -> Result<ExitCode, Fatal> {
    let settings = settings(&args)?;
    // Checked before --show-config prints them: a value a run refuses is an error there too.
    let thresholds = Thresholds::from_lookup(&|key| settings.get_str(key).map(str::to_string))
        .map_err(|e| Fatal(settings.invalid(&e.key, e.expected).to_string()))?;
    if let Some(format) = args.show_config {
        let show = settings.show_config();
        let text = match format {
            ShowFormat::Text => show.to_string(),
            ShowFormat::Json => serde_json::to_string_pretty(&show)
                .map(|s| s + "\n")
                .map_err(|e| Fatal(e.to_string()))?,
        };
        print!("{text}");
        return Ok(ExitCode::Success);
    }
    for warning in settings.warnings() {
        vlass_cli::print_warning(TOOL, &warning);
    }
    if args.paths.is_empty() {
        return Err(Fatal("no PATH given (see --help)".into()));
    }

    let (inputs, mut soft_errors) = collect_files(&args.paths);
    // PATHs that do not exist each get their line and nothing more; when no PATH exists, the
    // last of those lines is the run's fatal error.
    let shown: Vec<String> = args
        .paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    let last = if inputs.is_empty() && shown.is_empty() {
        soft_errors.pop()
    } else {
        None
    };
    for e in &soft_errors {
        vlass_cli::print_error(TOOL, e);
    }
    if let Some(last) = last {
        return Err(Fatal(last));
    }
    if inputs.is_empty() {
        return Err(Fatal(format!(
            "{}: nothing to do: no *.fits or *.fits.gz file found",
            shown.join(", ")
        )));
    }
    let files: Vec<PathBuf> = inputs.iter().map(|i| i.path.clone()).collect();
    let products = group_products(&files);
    let plan = plan_outputs(&args, &inputs, &products)
        .inspect_err(|_| OUTPUTS_CLASH.store(true, std::sync::atomic::Ordering::Relaxed))?;
    if args.dry_run {
        return dry_run(&args, &products, &plan, soft_errors.is_empty());
    }
    for dir in &plan.dirs {
        std::fs::create_dir_all(dir).map_err(|e| Fatal(format!("{}: {e}", dir.display())))?;
    }
    let preview = args.previews.as_ref().map(|dir| PreviewRequest {
        dir: dir.clone(),
        subdirs: plan.preview_subdirs.clone(),
        options: PreviewOptions::default(),
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(vlass_cli::effective_jobs(Some(args.jobs)))
        .build()
        .map_err(|e| Fatal(format!("cannot start worker threads: {e}")))?;
    let bar = progress_bar(files.len(), args.no_progress);
    let mut reports =
        pool.install(|| run(&products, &thresholds, preview.as_ref(), &|| bar.inc(1)));
    bar.finish_and_clear();

    for p in &reports {
        for f in &p.files {
            if let Some(e) = &f.error {
                vlass_cli::print_error(TOOL, e);
                soft_errors.push(e.clone());
            }
        }
    }
    if args.write_header {
        for p in reports.iter_mut() {
            for e in annotate_product(p) {
                vlass_cli::print_error(TOOL, &e);
                soft_errors.push(e);
            }
        }
    }

    let config = settings
        .describe()
        .into_iter()
        .map(|e| {
            (
                e.key,
                serde_json::json!({"value": e.value, "origin": e.origin}),
            )
        })
        .collect();
    let mut doc = Document {
        schema: SCHEMA,
        tool_version: vlass_cli::VERSION.to_string(),
        products: reports,
        totals: Default::default(),
        config,
    };
    doc.count();
    doc.totals.file_errors = soft_errors.len();

    let mut write_error = |what: &str, r: std::io::Result<()>| {
        if let Err(e) = r {
            if !vlass_cli::is_broken_pipe(&e) {
                let message = format!("{what}: {e}");
                vlass_cli::print_error(TOOL, &message);
                soft_errors.push(message);
            }
        }
    };
    if let Some(path) = &args.json {
        write_error(
            &path.display().to_string(),
            vlass_cli::json::write_json(path, &doc),
        );
    }
    if let Some(path) = &args.csv {
        write_error(
            &path.display().to_string(),
            vlass_cli::write_atomic(path, vlass_qa::output::csv(&doc).as_bytes()),
        );
    }
    if args.sidecar {
        for (p, target) in doc.products.iter().zip(&plan.sidecars) {
            let Some(target) = target else {
                continue;
            };
            let one = Document {
                products: vec![p.clone()],
                ..doc.clone()
            };
            let mut one = one;
            one.count();
            write_error(
                &target.display().to_string(),
                vlass_cli::json::write_json(target, &one),
            );
        }
    }
    let table = vlass_qa::output::summary_table(&doc);
    let to_stdout = args.json.as_deref() != Some(Path::new("-"));
    {
        use std::io::Write;
        let result = if to_stdout {
            std::io::stdout().lock().write_all(table.as_bytes())
        } else {
            std::io::stderr().lock().write_all(table.as_bytes())
        };
        if let Err(e) = result {
            if vlass_cli::is_broken_pipe(&e) {
                return Ok(exit_code(&doc, &soft_errors));
            }
        }
    }
    Ok(exit_code(&doc, &soft_errors))
}

/// 2 after any soft error (input or output problem), else 1 if a product failed, else 0.
fn exit_code(doc: &Document, soft_errors: &[String]) -> ExitCode {
    if !soft_errors.is_empty() {
        ExitCode::Usage
    } else if doc.totals.fail > 0 {
        ExitCode::Failure
    } else {
        ExitCode::Success
    }
}
