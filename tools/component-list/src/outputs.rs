//! Which output files a run writes and how: the `--format` list, the output
//! directory, and atomic writes (a DAG node never sees half a catalogue).

use crate::Failure;
use std::path::{Path, PathBuf};

/// The output kinds `--format` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Fits,
    Ds9,
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Fits => "fits",
            Format::Ds9 => "ds9",
            Format::Json => "json",
        }
    }
}

/// Parses `--format` (comma-separated); `allowed` lists the kinds this mode
/// writes, and is also the default when the flag is absent.
pub fn parse_formats(text: Option<&str>, allowed: &[Format]) -> Result<Vec<Format>, Failure> {
    let Some(text) = text else {
        return Ok(allowed.to_vec());
    };
    let mut formats = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let format = allowed
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(word))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
                Failure(format!(
                    "--format: unknown output {word:?} (choose from {})",
                    names.join(", ")
                ))
            })?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(Failure("--format: no output named".into()));
    }
    Ok(formats)
}

/// Writes files under one directory with one prefix, remembering what it wrote.
pub struct OutputSet {
    dir: PathBuf,
    prefix: String,
    pub written: Vec<PathBuf>,
}

impl OutputSet {
    /// Creates the directory if needed.
    pub fn new(dir: &Path, prefix: &str) -> Result<OutputSet, Failure> {
        let set = OutputSet::planned(dir, prefix)?;
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure(format!(
                "{}: cannot create output directory: {e}",
                dir.display()
            ))
        })?;
        Ok(set)
    }

    /// The same set with the prefix checked, creating nothing (`--dry-run`).
    pub fn planned(dir: &Path, prefix: &str) -> Result<OutputSet, Failure> {
        if prefix.is_empty() || prefix.contains('/') {
            return Err(Failure(format!(
                "--prefix {prefix:?}: must be a non-empty file name without '/'"
            )));
        }
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            written: Vec::new(),
        })
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path `<dir>/<prefix><suffix>`.
    pub fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}{suffix}", self.prefix))
    }

    /// Writes `<prefix><suffix>` atomically.
    pub fn write(&mut self, suffix: &str, bytes: &[u8]) -> Result<(), Failure> {
        let path = self.path(suffix);
        vlass_cli::write_atomic(&path, bytes)
            .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display())))?;
        self.written.push(path);
        Ok(())
    }

    /// Writes several `(suffix, bytes)` files atomically, in parallel (each
    /// write ends with an fsync, which dominates for small catalogues); the
    /// list of written files keeps the given order.
    pub fn write_all(&mut self, files: &[(&str, Vec<u8>)]) -> Result<(), Failure> {
        use rayon::prelude::*;
        let results: Vec<Result<PathBuf, Failure>> = files
            .par_iter()
            .map(|(suffix, bytes)| {
                let path = self.path(suffix);
                vlass_cli::write_atomic(&path, bytes)
                    .map(|()| path.clone())
                    .map_err(|e| Failure(format!("{}: cannot write: {e}", path.display())))
            })
            .collect();
        for result in results {
            self.written.push(result?);
        }
        Ok(())
    }

    /// The written paths as JSON strings, plus `extra` (written later, e.g. the JSON itself).
    pub fn listing(&self, extra: &[PathBuf]) -> Vec<serde_json::Value> {
        self.written
            .iter()
            .chain(extra)
            .map(|p| serde_json::Value::String(p.display().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_lists() {
        let all = [Format::Csv, Format::Fits, Format::Ds9, Format::Json];
        assert_eq!(parse_formats(None, &all).unwrap(), all.to_vec());
        assert_eq!(
            parse_formats(Some("json, CSV,json"), &all).unwrap(),
            vec![Format::Json, Format::Csv]
        );
        let err = parse_formats(Some("csv,ds9"), &[Format::Csv, Format::Json]).unwrap_err();
        assert!(err.0.contains("\"ds9\""), "{err}");
        assert!(parse_formats(Some(","), &all).is_err());
    }
}
