//! FITS product soundness for rule 5: a readable primary header and at least
//! the data bytes its NAXISn and BITPIX promise (`.fits` and `.fits.gz`).
//!
//! This is a minimal private check, used because `vlass_fits::verify_file`
//! (the toolkit's FITS crate) was not available when casa-judge was built; it
//! reads 2880-byte header blocks up to `END` and never decodes data.

use std::io::Read;
use std::path::Path;

const BLOCK: usize = 2880;
const CARD: usize = 80;
/// A primary header longer than this is treated as damage, not read further.
const MAX_HEADER_BLOCKS: usize = 10_000;

/// What is wrong with the FITS file at `path`, or `None` when it is sound.
pub fn fits_problem(path: &Path) -> Option<String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(format!("cannot open: {e}")),
    };
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let mut reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    check(&mut reader).err()
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> Result<usize, String> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("read error: {e}")),
        }
    }
    Ok(got)
}

fn check(reader: &mut dyn Read) -> Result<(), String> {
    let mut block = vec![0u8; BLOCK];
    let mut bitpix: Option<i64> = None;
    let mut naxis: Option<usize> = None;
    let mut axes: Vec<Option<u64>> = Vec::new();
    let mut header_blocks = 0;
    let mut ended = false;
    while !ended {
        let got = read_full(reader, &mut block)?;
        if got < BLOCK {
            return Err(if header_blocks == 0 && got < CARD {
                "not a FITS file (shorter than one header card)".to_string()
            } else {
                format!("primary header truncated in block {}", header_blocks + 1)
            });
        }
        header_blocks += 1;
        if header_blocks > MAX_HEADER_BLOCKS {
            return Err("no END card in the primary header".to_string());
        }
        for (i, card) in block.chunks(CARD).enumerate() {
            let key = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
            if header_blocks == 1 && i == 0 && !card.starts_with(b"SIMPLE  =") {
                return Err("not a FITS file (no SIMPLE card)".to_string());
            }
            if key == "END" {
                ended = true;
                break;
            }
            if card.get(8..10) != Some(b"= ") {
                continue;
            }
            let value = String::from_utf8_lossy(&card[10..]);
            let value = value.split('/').next().unwrap_or("").trim();
            match key {
                "BITPIX" => bitpix = value.parse().ok(),
                "NAXIS" => {
                    let n: usize = value.parse().map_err(|_| format!("bad NAXIS '{value}'"))?;
                    if n > 999 {
                        return Err(format!("bad NAXIS {n}"));
                    }
                    naxis = Some(n);
                    axes = vec![None; n];
                }
                _ => {
                    if let Some(n) = key
                        .strip_prefix("NAXIS")
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        if (1..=axes.len()).contains(&n) {
                            axes[n - 1] =
                                Some(value.parse().map_err(|_| format!("bad {key} '{value}'"))?);
                        }
                    }
                }
            }
        }
    }
    let bitpix = bitpix.ok_or("primary header has no BITPIX")?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(format!("bad BITPIX {bitpix}"));
    }
    let naxis = naxis.ok_or("primary header has no NAXIS")?;
    let mut expected: u64 = if naxis == 0 {
        0
    } else {
        bitpix.unsigned_abs() / 8
    };
    for (i, axis) in axes.iter().enumerate() {
        let len = axis.ok_or_else(|| format!("primary header has no NAXIS{}", i + 1))?;
        expected = expected.saturating_mul(len);
    }
    let mut present: u64 = 0;
    loop {
        let got = read_full(reader, &mut block)? as u64;
        present += got;
        if got < BLOCK as u64 || present >= expected {
            break;
        }
    }
    if present < expected {
        return Err(format!(
            "truncated: data unit needs {expected} bytes after the {} header bytes, only {present} present",
            header_blocks * BLOCK
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[&str]) -> Vec<u8> {
        let mut h = Vec::new();
        for c in cards.iter().chain(std::iter::once(&"END")) {
            h.extend_from_slice(format!("{c:<80}").as_bytes());
        }
        h.resize(h.len().div_ceil(BLOCK) * BLOCK, b' ');
        h
    }

    #[test]
    fn complete_truncated_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.fits");
        let mut bytes = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                  -32",
            "NAXIS   =                    2",
            "NAXIS1  =                   10",
            "NAXIS2  =                   10",
        ]);
        bytes.extend(vec![0u8; 400]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(fits_problem(&path), None);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(fits_problem(&path).unwrap().contains("needs 400 bytes"));
        std::fs::write(&path, &bytes[..1000]).unwrap();
        assert!(fits_problem(&path).unwrap().contains("header truncated"));
        std::fs::write(&path, b"hello world, not fits at all").unwrap();
        assert!(fits_problem(&path).unwrap().contains("not a FITS file"));
    }
}
