//! Behaviour of `vlass_qa::header_write::annotate_in_place` on generated FITS
//! files: update versus add, idempotence, header growth, data bytes
//! untouched, gzip, permissions, refusals, and a writer killed at random
//! moments (the test binary re-runs itself as the child, see `kill_child`).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vlass_qa::header_write::{annotate_in_place, AnnotateError, CardValue, HeaderCard};

const BLOCK: usize = 2880;

/// One 80-character card from its text.
fn card(text: &str) -> Vec<u8> {
    assert!(text.len() <= 80, "test card too long: {text}");
    format!("{text:<80}").into_bytes()
}

/// A FITS file: primary header with `extra` cards after the mandatory ones,
/// an `nx` x `ny` BITPIX -32 image of deterministic pseudo-random bytes, and
/// optionally `tail` appended (e.g. an extension).
fn fits_bytes(extra: &[&str], nx: usize, ny: usize, tail: &[u8]) -> Vec<u8> {
    let mut header = Vec::new();
    for text in [
        "SIMPLE  =                    T / conforms to FITS",
        "BITPIX  =                  -32",
        "NAXIS   =                    2",
        &format!("NAXIS1  = {nx:>20}"),
        &format!("NAXIS2  = {ny:>20}"),
        "EXTEND  =                    T",
    ] {
        header.extend(card(text));
    }
    for text in extra {
        header.extend(card(text));
    }
    header.extend(card("END"));
    header.resize(header.len().div_ceil(BLOCK) * BLOCK, b' ');
    let mut data = Vec::with_capacity(nx * ny * 4);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..nx * ny {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&(state as u32).to_be_bytes());
    }
    data.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
    [header, data, tail.to_vec()].concat()
}

fn vlass_cards() -> Vec<HeaderCard> {
    vec![
        HeaderCard::new(
            "VLASSRMS",
            CardValue::Real(1.4e-4),
            "Median rms of the RMS image",
        ),
        HeaderCard::new(
            "VLASSPK",
            CardValue::Real(0.0123456789),
            "Peak flux density",
        ),
        HeaderCard::new(
            "VLASSBWN",
            CardValue::Int(2_000_000_000),
            "Nominal bandwidth",
        ),
        HeaderCard::new("VLASSPL", CardValue::Str("I".into()), "Stokes plane"),
        HeaderCard::new(
            "QAPASS",
            CardValue::Bool(true),
            "annotate-qa verdict is pass",
        ),
    ]
}

/// Position and text of every card of the primary header (up to END).
fn header_cards(bytes: &[u8]) -> Vec<String> {
    let mut cards = Vec::new();
    for chunk in bytes.chunks(80) {
        let text = String::from_utf8(chunk.to_vec()).expect("ascii header");
        let end = text.trim_end() == "END";
        cards.push(text);
        if end {
            return cards;
        }
    }
    panic!("no END card");
}

fn header_len(bytes: &[u8]) -> usize {
    header_cards(bytes).len().div_ceil(36) * BLOCK
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write fixture");
    path
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn existing_keyword_is_updated_in_place_and_new_ones_added_before_end() {
    let dir = tempfile::tempdir().unwrap();
    let original = fits_bytes(
        &[
            "VLASSPK =                  1.0 / old peak",
            "OBJECT  = 'T07t14  '",
        ],
        10,
        10,
        &[],
    );
    let path = write_file(dir.path(), "a.fits", &original);
    let report = annotate_in_place(&path, &vlass_cards()).expect("annotate");
    assert_eq!(report.updated, ["VLASSPK"]);
    assert_eq!(report.added, ["VLASSRMS", "VLASSBWN", "VLASSPL", "QAPASS"]);
    let after = fs::read(&path).unwrap();
    let cards = header_cards(&after);
    let before_cards = header_cards(&original);
    // VLASSPK keeps its position (7th card), OBJECT stays after it.
    assert!(cards[6].starts_with("VLASSPK =         0.0123456789 / Peak flux density"));
    assert_eq!(cards[7], before_cards[7]);
    assert_eq!(
        cards.iter().filter(|c| c.starts_with("VLASSPK ")).count(),
        1
    );
    let names: Vec<&str> = cards[8..].iter().map(|c| c[..8].trim_end()).collect();
    assert_eq!(names, ["VLASSRMS", "VLASSBWN", "VLASSPL", "QAPASS", "END"]);
    assert_eq!(
        cards[10],
        format!("{:<80}", "VLASSPL = 'I       '           / Stokes plane")
    );
    assert_eq!(&after[BLOCK..], &original[BLOCK..], "data bytes changed");
    assert_eq!(report.data_sha256, sha256_hex(&original[BLOCK..]));
    assert_eq!(
        (report.header_blocks_before, report.header_blocks_after),
        (1, 1)
    );
    assert_eq!(dir_entries(dir.path()), ["a.fits"], "temporary file left");
}

#[test]
fn annotating_twice_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "b.fits",
        &fits_bytes(&["VLASSRMS=  9.0"], 7, 5, &[]),
    );
    annotate_in_place(&path, &vlass_cards()).expect("first");
    let first = fs::read(&path).unwrap();
    let report = annotate_in_place(&path, &vlass_cards()).expect("second");
    assert_eq!(fs::read(&path).unwrap(), first);
    assert!(report.added.is_empty());
    assert_eq!(report.updated.len(), vlass_cards().len());
}

#[test]
fn duplicates_are_collapsed_and_trailing_blank_cards_reused() {
    let dir = tempfile::tempdir().unwrap();
    let original = fits_bytes(
        &[
            "VLASSPL = 'Q       '",
            "OBJECT  = 'x       '",
            "VLASSPL = 'U       '",
            "",
            "",
        ],
        4,
        4,
        &[],
    );
    let path = write_file(dir.path(), "dup.fits", &original);
    let cards = [
        HeaderCard::new("VLASSPL", CardValue::Str("I".into()), ""),
        HeaderCard::new("NEWKEY", CardValue::Int(1), ""),
    ];
    let report = annotate_in_place(&path, &cards).expect("annotate");
    assert_eq!((report.updated.len(), report.added.len()), (1, 1));
    let after = header_cards(&fs::read(&path).unwrap());
    let names: Vec<&str> = after[6..].iter().map(|c| c[..8].trim_end()).collect();
    // One blank card used by NEWKEY, one left before END.
    assert_eq!(names, ["VLASSPL", "OBJECT", "NEWKEY", "", "END"]);
}

#[test]
fn header_growing_past_a_block_shifts_the_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    // 6 mandatory + 29 extra + END = 36 cards: exactly one full block.
    let extra: Vec<String> = (0..29).map(|i| format!("KEY{i:<5}= {i:>20}")).collect();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut extension = card("XTENSION= 'IMAGE   '");
    extension.resize(BLOCK * 2, b'x');
    let original = fits_bytes(&extra, 33, 17, &extension);
    assert_eq!(header_len(&original), BLOCK);
    let path = write_file(dir.path(), "grow.fits", &original);
    let report = annotate_in_place(&path, &vlass_cards()).expect("annotate");
    assert_eq!(
        (report.header_blocks_before, report.header_blocks_after),
        (1, 2)
    );
    let after = fs::read(&path).unwrap();
    assert_eq!(after.len(), original.len() + BLOCK);
    assert_eq!(header_len(&after), 2 * BLOCK);
    assert_eq!(
        &after[2 * BLOCK..],
        &original[BLOCK..],
        "data or extension changed"
    );
    assert!(after[2 * BLOCK - 80..2 * BLOCK].iter().all(|&b| b == b' '));
    // Growing again is not needed for an update: idempotent.
    annotate_in_place(&path, &vlass_cards()).expect("again");
    assert_eq!(fs::read(&path).unwrap(), after);
}

#[test]
fn gzip_file_is_annotated_like_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let original = fits_bytes(&["VLASSPK =                  1.0"], 50, 40, &[]);
    let plain = write_file(dir.path(), "p.fits", &original);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&original).unwrap();
    let gz_path = write_file(dir.path(), "p.fits.gz", &gz.finish().unwrap());
    let plain_report = annotate_in_place(&plain, &vlass_cards()).expect("plain");
    let gz_report = annotate_in_place(&gz_path, &vlass_cards()).expect("gzip");
    assert_eq!(gz_report, plain_report);
    let compressed = fs::read(&gz_path).unwrap();
    let mut decompressed = Vec::new();
    flate2::read::MultiGzDecoder::new(&compressed[..])
        .read_to_end(&mut decompressed)
        .unwrap();
    assert_eq!(decompressed, fs::read(&plain).unwrap());
    annotate_in_place(&gz_path, &vlass_cards()).expect("gzip again");
    assert_eq!(
        fs::read(&gz_path).unwrap(),
        compressed,
        "gzip not idempotent"
    );
}

#[cfg(unix)]
#[test]
fn permissions_are_kept_and_symlinks_followed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.fits", &fits_bytes(&[], 3, 3, &[]));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.fits");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    annotate_in_place(&link, &vlass_cards()).expect("annotate");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert!(header_cards(&fs::read(&path).unwrap())
        .iter()
        .any(|c| c.starts_with("QAPASS  =")));
}

/// Asserts that annotating `path` fails with a message containing `needle`
/// and leaves the directory exactly as it was.
fn assert_refused(path: &Path, cards: &[HeaderCard], needle: &str) -> AnnotateError {
    let dir = path.parent().unwrap();
    let before = fs::read(path).unwrap();
    let entries = dir_entries(dir);
    let err = annotate_in_place(path, cards).expect_err("should be refused");
    let message = err.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains(needle), "{message}");
    assert!(!message.contains('\n'));
    assert_eq!(fs::read(path).unwrap(), before);
    assert_eq!(dir_entries(dir), entries);
    err
}

#[cfg(unix)]
#[test]
fn read_only_file_is_refused_and_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "ro.fits", &fits_bytes(&[], 3, 3, &[]));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let err = assert_refused(&path, &vlass_cards(), "read-only");
    assert!(matches!(err, AnnotateError::ReadOnly { .. }));
}

#[cfg(unix)]
#[test]
fn unwritable_directory_is_refused_and_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ro");
    fs::create_dir(&sub).unwrap();
    let path = write_file(&sub, "d.fits", &fits_bytes(&[], 3, 3, &[]));
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = sub.join("probe");
    if fs::write(&probe, b"").is_ok() {
        // Running as root: directory permissions do not apply, so make the
        // temporary copy impossible another way (its name is too long).
        fs::remove_file(&probe).unwrap();
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
        let long = write_file(
            &sub,
            &format!("{}.fits", "n".repeat(245)),
            &fits_bytes(&[], 3, 3, &[]),
        );
        assert_refused(&long, &vlass_cards(), "cannot create a temporary copy");
        return;
    }
    assert_refused(&path, &vlass_cards(), "cannot create a temporary copy");
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn bad_input_is_refused_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let not_fits = write_file(dir.path(), "text.fits", &[b'x'; 3000]);
    assert_refused(&not_fits, &vlass_cards(), "does not start with SIMPLE = T");
    let short = write_file(dir.path(), "short.fits", b"SIMPLE  =                    T");
    assert_refused(
        &short,
        &vlass_cards(),
        "shorter than one 2880-byte header block",
    );
    let mut no_end = fits_bytes(&[], 3, 3, &[]);
    no_end.truncate(BLOCK);
    let end_at = header_cards(&no_end).len() - 1;
    no_end[end_at * 80..end_at * 80 + 3].copy_from_slice(b"   ");
    let truncated = write_file(dir.path(), "noend.fits", &no_end);
    assert_refused(&truncated, &vlass_cards(), "no END card");

    // A gzip stream cut inside the data: found while copying, copy removed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&fits_bytes(&[], 300, 300, &[])).unwrap();
    let mut cut = gz.finish().unwrap();
    cut.truncate(cut.len() / 2);
    let cut_gz = write_file(dir.path(), "cut.fits.gz", &cut);
    let err = assert_refused(&cut_gz, &vlass_cards(), "cannot copy the data");
    assert!(matches!(err, AnnotateError::Io { .. }));

    let good = write_file(dir.path(), "good.fits", &fits_bytes(&[], 3, 3, &[]));
    let mut cards = vlass_cards();
    cards.push(HeaderCard::new("NAXIS1", CardValue::Int(5), ""));
    assert_refused(&good, &cards, "keyword \"NAXIS1\"");
    let nan = [HeaderCard::new("VLASSPK", CardValue::Real(f64::NAN), "")];
    assert_refused(&good, &nan, "cannot be written in a FITS header");
    let twice = [vlass_cards(), vlass_cards()].concat();
    assert_refused(&good, &twice, "given more than once");
    let missing = dir.path().join("missing.fits");
    let err = annotate_in_place(&missing, &vlass_cards()).expect_err("missing");
    assert!(err.to_string().starts_with(&missing.display().to_string()));
}

const KILL_CHILD_ENV: &str = "VLASS_QA_HEADER_KILL_CHILD";

/// Entry point of the child process of
/// `killed_writer_leaves_original_or_complete_result`: annotates the file
/// named by the environment variable. Without it (a normal test run) there is
/// nothing to do.
#[test]
fn kill_child() {
    if let Ok(path) = std::env::var(KILL_CHILD_ENV) {
        annotate_in_place(Path::new(&path), &vlass_cards()).expect("child annotate");
    }
}

fn spawn_child(path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "kill_child", "--test-threads=1", "--quiet"])
        .env(KILL_CHILD_ENV, path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// The temporary copies `vlass_cli::AtomicFile` names `.<name>.tmp-<pid>-<n>`.
fn is_temp_copy_of(entry: &str, target_name: &str) -> bool {
    entry
        .strip_prefix(&format!(".{target_name}.tmp-"))
        .is_some_and(|rest| {
            let mut parts = rest.split('-');
            let all_digits = |s: Option<&str>| {
                s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            };
            all_digits(parts.next()) && all_digits(parts.next()) && parts.next().is_none()
        })
}

#[cfg(unix)]
#[test]
fn killed_writer_leaves_original_or_complete_result() {
    let dir = tempfile::tempdir().unwrap();
    let name = "big.fits";
    // About 32 MB: long enough that random kills land mid-copy.
    let original = fits_bytes(&["VLASSPK =                  1.0"], 4000, 2000, &[]);
    let pristine = write_file(dir.path(), "pristine.src", &original);
    let target = dir.path().join(name);
    fs::copy(&pristine, &target).unwrap();
    annotate_in_place(&target, &vlass_cards()).expect("reference run");
    let annotated = fs::read(&target).unwrap();

    // Time uninterrupted child runs to spread the kills over one run.
    let mut full_run = Duration::ZERO;
    for _ in 0..2 {
        fs::copy(&pristine, &target).unwrap();
        let started = Instant::now();
        let status = spawn_child(&target).wait().unwrap();
        assert!(status.success(), "child failed on its own");
        full_run = full_run.max(started.elapsed());
        assert_eq!(fs::read(&target).unwrap(), annotated);
    }

    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let (mut untouched, mut complete, mut leftovers) = (0, 0, 0);
    for _ in 0..24 {
        fs::copy(&pristine, &target).unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = full_run.mul_f64((seed % 1000) as f64 / 1000.0);
        let mut child = spawn_child(&target);
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL child"); // Child::kill sends SIGKILL on Unix
        child.wait().unwrap();
        let now = fs::read(&target).unwrap();
        if now == original {
            untouched += 1;
        } else if now == annotated {
            complete += 1;
        } else {
            panic!("after a kill at {delay:?} the file is neither original nor annotated");
        }
        for entry in dir_entries(dir.path()) {
            if entry == name || entry == "pristine.src" {
                continue;
            }
            assert!(is_temp_copy_of(&entry, name), "unexpected file {entry}");
            assert!(!entry.ends_with(".fits") && !entry.ends_with(".fits.gz"));
            fs::remove_file(dir.path().join(&entry)).unwrap();
            leftovers += 1;
        }
    }
    eprintln!(
        "kill test: full run {full_run:?}; {untouched} untouched, {complete} complete, {leftovers} temporary copies left"
    );
    assert!(
        untouched > 0,
        "no kill landed before the rename; test proved nothing"
    );
    // A temporary copy exists only between its creation and the rename: at
    // least one kill must have landed while the copy was being written.
    assert!(
        leftovers > 0,
        "no kill landed mid-write; test proved nothing"
    );
}
