//! Rule 5: expected products exist and are sound.
//!
//! Globs are relative to the work directory and matched per path component
//! (`*` never crosses `/`). Only the directories a glob can reach are walked:
//! the literal leading components are joined directly and the walk depth is the
//! number of remaining components (unbounded only for `**`), and a matched or
//! CASA-table directory is never descended into, so a work directory full of
//! measurement sets costs nothing.
//!
//! Soundness: a regular file must be non-empty; a FITS file (by name) must have
//! a readable primary header and at least the data bytes its NAXISn and BITPIX
//! promise (`vlass_fits::verify_file`, no data decoded; `.fits.gz` too); a directory must be a CASA table (image or measurement set) with a
//! non-empty `table.dat` and `table.info` and non-empty `table.f*` data files.
//! A `table.lock` proves nothing and is not looked at.

use crate::verdict::{ProductResult, ProductStatus};
use std::path::{Component, Path, PathBuf};

fn has_glob_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

/// Expands one glob under `workdir` into the matching paths (sorted), or an
/// error for a glob that does not parse.
pub fn expand_glob(workdir: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let pattern_path = Path::new(pattern);
    let mut base = if pattern_path.is_absolute() {
        PathBuf::from("/")
    } else {
        workdir.to_path_buf()
    };
    let mut rest: Vec<String> = Vec::new();
    for comp in pattern_path.components() {
        match comp {
            Component::RootDir | Component::Prefix(_) => {}
            Component::CurDir => {}
            other => {
                let text = other.as_os_str().to_string_lossy().to_string();
                if rest.is_empty() && !has_glob_meta(&text) {
                    base.push(&text);
                } else {
                    rest.push(text);
                }
            }
        }
    }
    if rest.is_empty() {
        return Ok(if base.symlink_metadata().is_ok() {
            vec![base]
        } else {
            Vec::new()
        });
    }
    let glob = globset::GlobBuilder::new(&rest.join("/"))
        .literal_separator(true)
        .build()
        .map_err(|e| format!("bad glob '{pattern}': {e}"))?
        .compile_matcher();
    let unbounded = rest.iter().any(|c| c.contains("**"));
    let mut walker = walkdir::WalkDir::new(&base).min_depth(1).follow_links(true);
    if !unbounded {
        walker = walker.max_depth(rest.len());
    }
    let mut found = Vec::new();
    let mut iter = walker.into_iter();
    while let Some(entry) = iter.next() {
        let Ok(entry) = entry else { continue };
        let rel = entry.path().strip_prefix(&base).unwrap_or(entry.path());
        let is_match = glob.is_match(rel);
        if is_match {
            found.push(entry.path().to_path_buf());
        }
        if entry.file_type().is_dir() && (is_match || entry.path().join("table.dat").exists()) {
            iter.skip_current_dir();
        }
    }
    found.sort();
    Ok(found)
}

/// Checks every expected glob; a glob matching nothing gives one `missing` entry.
pub fn check_products(workdir: &Path, patterns: &[String]) -> Result<Vec<ProductResult>, String> {
    if !patterns.is_empty() && !workdir.is_dir() {
        // A mistyped --workdir is a usage error, not a run whose products are missing.
        return Err(format!(
            "{}: the work directory (--workdir) does not exist or is not a directory",
            workdir.display()
        ));
    }
    let mut results = Vec::new();
    for pattern in patterns {
        let paths = expand_glob(workdir, pattern)?;
        if paths.is_empty() {
            results.push(ProductResult {
                pattern: pattern.clone(),
                path: None,
                status: ProductStatus::Missing,
                problem: Some(format!(
                    "nothing matches '{pattern}' in {}",
                    workdir.display()
                )),
            });
        }
        for path in paths {
            let problem = soundness_problem(&path);
            let shown = path.strip_prefix(workdir).unwrap_or(&path);
            results.push(ProductResult {
                pattern: pattern.clone(),
                path: Some(shown.to_string_lossy().to_string()),
                status: if problem.is_some() {
                    ProductStatus::Invalid
                } else {
                    ProductStatus::Ok
                },
                problem,
            });
        }
    }
    Ok(results)
}

fn is_fits_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.ends_with(".fits") || name.ends_with(".fit") || name.ends_with(".fts")
}

/// What is wrong with a product, or `None` when it is sound.
pub fn soundness_problem(path: &Path) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot read: {e}")),
    };
    if meta.is_dir() {
        return casa_table_problem(path);
    }
    if !meta.is_file() {
        return Some("not a regular file or directory".to_string());
    }
    if meta.len() == 0 {
        return Some("empty file".to_string());
    }
    if is_fits_name(path) {
        // The error names the file; the product entry already does, so keep only the problem.
        return vlass_fits::verify_file(path).err().map(|e| {
            let text = e.to_string();
            let prefix = format!("{}: ", path.display());
            text.strip_prefix(&prefix)
                .map_or(text.clone(), str::to_string)
        });
    }
    None
}

fn casa_table_problem(dir: &Path) -> Option<String> {
    for required in ["table.dat", "table.info"] {
        match std::fs::metadata(dir.join(required)) {
            Ok(m) if m.is_file() && m.len() > 0 => {}
            Ok(_) => return Some(format!("CASA table: {required} is empty")),
            Err(_) => return Some(format!("not a complete CASA table: {required} is missing")),
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return Some(format!("cannot list: {e}")),
    };
    let mut data_files = 0;
    let mut names: Vec<(String, u64)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let is_data = name
                .strip_prefix("table.f")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
            is_data.then(|| (name, e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    names.sort();
    for (name, len) in names {
        data_files += 1;
        if len == 0 {
            return Some(format!("CASA table: data file {name} is empty"));
        }
    }
    if data_files == 0 {
        return Some("CASA table without data files (no table.f*)".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn globs_match_per_component_and_skip_table_contents() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("products/a.txt"), b"x");
        touch(&d.join("products/sub/b.txt"), b"x");
        touch(&d.join("products/img.image/table.dat"), b"x");
        touch(&d.join("products/img.image/inner.txt"), b"x");
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(d).unwrap().to_string_lossy().to_string())
                .collect()
        };
        assert_eq!(
            rel(expand_glob(d, "products/*.txt").unwrap()),
            vec!["products/a.txt"]
        );
        assert_eq!(
            rel(expand_glob(d, "products/**/*.txt").unwrap()),
            vec!["products/a.txt", "products/sub/b.txt"]
        );
        assert_eq!(
            rel(expand_glob(d, "products/*.image").unwrap()),
            vec!["products/img.image"]
        );
        assert_eq!(
            rel(expand_glob(d, "products/a.txt").unwrap()),
            vec!["products/a.txt"]
        );
        assert!(expand_glob(d, "nothing/*.fits").unwrap().is_empty());
        assert!(expand_glob(d, "products/[").is_err());
    }

    #[test]
    fn casa_tables_need_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("x.image");
        touch(&t.join("table.lock"), b"lock");
        assert!(soundness_problem(&t)
            .unwrap()
            .contains("table.dat is missing"));
        touch(&t.join("table.dat"), b"dat");
        touch(&t.join("table.info"), b"info");
        assert!(soundness_problem(&t).unwrap().contains("no table.f"));
        touch(&t.join("table.f0"), b"");
        assert!(soundness_problem(&t).unwrap().contains("table.f0 is empty"));
        touch(&t.join("table.f0"), b"data");
        assert_eq!(soundness_problem(&t), None);
        let not_fits = dir.path().join("x.fits");
        touch(&not_fits, b"plain text, not a FITS header");
        assert!(soundness_problem(&not_fits).is_some());
        let empty = dir.path().join("empty.csv");
        touch(&empty, b"");
        assert_eq!(soundness_problem(&empty).as_deref(), Some("empty file"));
    }

    #[test]
    fn missing_globs_are_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = check_products(dir.path(), &["products/*.fits".to_string()]).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, ProductStatus::Missing);
        assert_eq!(r[0].path, None);
    }
}
