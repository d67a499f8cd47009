//! Pure-Rust structural check of a FITS file: reads the primary header from
//! the plain or gzip-compressed byte stream and compares the bytes that follow
//! with what NAXISn/BITPIX promise. Used by casa-judge without touching
//! cfitsio, and by [`crate::Image::open`] before it hands a file to cfitsio
//! (which would otherwise read a truncated file as garbage or fail late).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::card::Card;
use crate::{FitsError, Header};

/// FITS logical record length.
pub(crate) const BLOCK: usize = 2880;
const CARD: usize = 80;
/// Bail out on absurd headers instead of reading a huge non-FITS file.
const MAX_HEADER_BLOCKS: usize = 100_000;

/// What the primary HDU of a file promises and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// NAXIS1..NAXISn of the primary HDU (empty for NAXIS = 0).
    pub naxis: Vec<usize>,
    /// BITPIX of the primary HDU.
    pub bitpix: i32,
    /// |BITPIX|/8 x product of NAXISn: bytes of primary data (without padding).
    pub data_bytes_expected: u64,
    /// Bytes after the primary header (data, padding and any extensions),
    /// after decompression for gzip files.
    pub data_bytes_present: u64,
    /// Bytes of the primary header (whole 2880-byte blocks).
    pub header_bytes: u64,
    /// Whether the file is gzip-compressed (recognised by its magic bytes).
    pub gzip: bool,
}

/// Cheap soundness check without decoding the data: a readable primary
/// header and at least the data bytes NAXISn/BITPIX promise. Works on `.fits`
/// and gzip-compressed files (recognised by content, not by name); a gzip file
/// is decompressed as a stream, never held in memory.
///
/// Errors (one line each): missing/unreadable file, empty file, not FITS,
/// header without END, corrupt or truncated gzip stream, data shorter than
/// promised.
pub fn verify_file(path: &Path) -> Result<FileSummary, FitsError> {
    scan_primary(path).map(|(_, summary)| summary)
}

/// Reads the primary header and checks the data length; see [`verify_file`].
pub(crate) fn scan_primary(path: &Path) -> Result<(Header, FileSummary), FitsError> {
    let file = File::open(path).map_err(|e| FitsError::file(path, io_problem(&e)))?;
    let metadata = file
        .metadata()
        .map_err(|e| FitsError::file(path, io_problem(&e)))?;
    if metadata.is_dir() {
        return Err(FitsError::file(path, "is a directory, not a FITS file"));
    }
    if metadata.len() == 0 {
        return Err(FitsError::file(path, "empty file (0 bytes)"));
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 2];
    let got =
        read_full(&mut reader, &mut magic).map_err(|e| FitsError::file(path, io_problem(&e)))?;
    let prefix = io::Cursor::new(magic[..got].to_vec());
    let gzip = got == 2 && magic == [0x1f, 0x8b];
    let mut stream: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(prefix.chain(reader)))
    } else {
        Box::new(prefix.chain(reader))
    };
    let gz_error =
        |e: &io::Error| FitsError::file(path, format!("corrupt or truncated gzip data ({e})"));
    let read_error = |e: &io::Error| {
        if gzip {
            gz_error(e)
        } else {
            FitsError::file(path, io_problem(e))
        }
    };

    let (cards, header_bytes) = match read_header(&mut stream, path, gzip) {
        Ok(found) => found,
        Err(HeaderProblem::Io(e)) => return Err(read_error(&e)),
        Err(HeaderProblem::Format(err)) => {
            // Damaged deflate data can decode to garbage before the CRC at the
            // end exposes it: blame the gzip layer when it is at fault.
            if gzip {
                io::copy(&mut stream, &mut io::sink()).map_err(|e| gz_error(&e))?;
            }
            return Err(err);
        }
    };
    let header = Header::from_card_images(path, 0, cards);
    let (naxis, bitpix, data_bytes_expected) = data_shape(&header)?;

    let padded_data = data_bytes_expected.div_ceil(BLOCK as u64) * BLOCK as u64;
    let data_bytes_present = if gzip {
        let mut present = io::copy(&mut (&mut stream).take(padded_data), &mut io::sink())
            .map_err(|e| gz_error(&e))?;
        if present == padded_data {
            match check_extensions(&mut stream, path) {
                Ok(bytes) => present += bytes,
                Err(HeaderProblem::Io(e)) => return Err(gz_error(&e)),
                Err(HeaderProblem::Format(err)) => {
                    io::copy(&mut stream, &mut io::sink()).map_err(|e| gz_error(&e))?;
                    return Err(err);
                }
            }
        }
        present + io::copy(&mut stream, &mut io::sink()).map_err(|e| gz_error(&e))?
    } else {
        let present = metadata.len().saturating_sub(header_bytes);
        if present >= padded_data {
            let mut rest = BufReader::new(
                File::open(path).map_err(|e| FitsError::file(path, io_problem(&e)))?,
            );
            if rest
                .seek(SeekFrom::Start(header_bytes + padded_data))
                .is_ok()
            {
                if let Err(HeaderProblem::Format(err)) = check_extensions(&mut rest, path) {
                    return Err(err);
                }
            }
        }
        present
    };
    if data_bytes_present < data_bytes_expected {
        return Err(FitsError::hdu(
            path,
            0,
            format!(
                "truncated: data has {data_bytes_present} of the {data_bytes_expected} bytes \
                 that NAXISn/BITPIX promise"
            ),
        ));
    }
    let summary = FileSummary {
        naxis,
        bitpix,
        data_bytes_expected,
        data_bytes_present,
        header_bytes,
        gzip,
    };
    Ok((header, summary))
}

enum HeaderProblem {
    Io(io::Error),
    Format(FitsError),
}

/// Reads header blocks up to and including the one holding END.
fn read_header(
    stream: &mut dyn Read,
    path: &Path,
    gzip: bool,
) -> Result<(Vec<String>, u64), HeaderProblem> {
    let mut cards = Vec::new();
    let mut block = vec![0u8; BLOCK];
    for block_index in 0..MAX_HEADER_BLOCKS {
        let got = read_full(stream, &mut block).map_err(HeaderProblem::Io)?;
        if block_index == 0 && !block[..got].starts_with(b"SIMPLE  =") {
            let what = if gzip {
                "gzip file does not contain FITS data (no SIMPLE card)"
            } else {
                "not a FITS file (does not start with a SIMPLE card)"
            };
            return Err(HeaderProblem::Format(FitsError::file(path, what)));
        }
        if block_index == 0 {
            let simple = Card::parse(&block[..CARD.min(got)]);
            if simple.value.as_deref() != Some("T") {
                return Err(HeaderProblem::Format(FitsError::keyword(
                    path,
                    0,
                    "SIMPLE",
                    "is not T: the file does not follow the FITS standard",
                )));
            }
        }
        for image in block[..got].chunks(CARD) {
            if image.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
                return Err(HeaderProblem::Format(FitsError::hdu(
                    path,
                    0,
                    "header holds non-ASCII bytes: not a FITS file or a damaged one",
                )));
            }
            let card = Card::parse(image);
            if card.key == "END" && card.value.is_none() {
                if got < BLOCK {
                    return Err(HeaderProblem::Format(FitsError::hdu(
                        path,
                        0,
                        "truncated: the header ends inside its last 2880-byte block",
                    )));
                }
                let bytes = ((block_index + 1) * BLOCK) as u64;
                return Ok((cards, bytes));
            }
            // ASCII checked above, so this is the card image unchanged.
            cards.push(String::from_utf8_lossy(image).into_owned());
        }
        if got < BLOCK {
            return Err(HeaderProblem::Format(FitsError::hdu(
                path,
                0,
                "truncated: the primary header has no END card",
            )));
        }
    }
    Err(HeaderProblem::Format(FitsError::hdu(
        path,
        0,
        "header has no END card within 100000 blocks",
    )))
}

/// The FITS standard's bound on TFIELDS.
const MAX_TFIELDS: i64 = 999;

/// Walks the extension headers after the primary data unit and refuses a
/// table whose TFIELDS is outside the standard's 0..=999: cfitsio sets up one
/// column per TFIELDS for every table it passes on its way to BEAMS, so a
/// damaged TFIELDS of 10^8 took gigabytes of memory and minutes inside it.
/// Any other damage ends the walk quietly and is left to cfitsio. Returns the
/// bytes read.
fn check_extensions(stream: &mut dyn Read, path: &Path) -> Result<u64, HeaderProblem> {
    let mut consumed = 0u64;
    let mut block = vec![0u8; BLOCK];
    for hdu in 1..10_000usize {
        let mut cards = Vec::new();
        let mut ended = false;
        for block_index in 0..MAX_HEADER_BLOCKS {
            let got = read_full(stream, &mut block).map_err(HeaderProblem::Io)?;
            consumed += got as u64;
            if got < BLOCK || (block_index == 0 && !block.starts_with(b"XTENSION=")) {
                return Ok(consumed);
            }
            for image in block.chunks(CARD) {
                if image.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
                    return Ok(consumed);
                }
                let card = Card::parse(image);
                if card.key == "END" && card.value.is_none() {
                    ended = true;
                    break;
                }
                cards.push(String::from_utf8_lossy(image).into_owned());
            }
            if ended {
                break;
            }
        }
        if !ended {
            return Ok(consumed);
        }
        let header = Header::from_card_images(path, hdu, cards);
        if let Some(fields) = header.opt_i64("TFIELDS") {
            if !(0..=MAX_TFIELDS).contains(&fields) {
                return Err(HeaderProblem::Format(FitsError::keyword(
                    path,
                    hdu,
                    "TFIELDS",
                    format!("{fields} is outside the FITS standard's 0..{MAX_TFIELDS}"),
                )));
            }
        }
        let Some(size) = extension_data_bytes(&header) else {
            return Ok(consumed);
        };
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let skipped =
            io::copy(&mut stream.take(padded), &mut io::sink()).map_err(HeaderProblem::Io)?;
        consumed += skipped;
        if skipped < padded {
            return Ok(consumed);
        }
    }
    Ok(consumed)
}

/// (|BITPIX|/8 x NAXIS1 x ... x NAXISn + PCOUNT) x GCOUNT, `None` when a
/// keyword is missing or the size overflows.
fn extension_data_bytes(header: &Header) -> Option<u64> {
    let bitpix = header.opt_i64("BITPIX")?;
    let naxis = header.opt_i64("NAXIS")?;
    if !(0..=999).contains(&naxis) {
        return None;
    }
    let mut elements = if naxis == 0 { 0u64 } else { 1u64 };
    for axis in 1..=naxis {
        let n = u64::try_from(header.opt_i64(&format!("NAXIS{axis}"))?).ok()?;
        elements = elements.checked_mul(n)?;
    }
    let pcount = u64::try_from(header.opt_i64("PCOUNT").unwrap_or(0)).ok()?;
    let gcount = u64::try_from(header.opt_i64("GCOUNT").unwrap_or(1)).ok()?;
    elements
        .checked_mul(bitpix.unsigned_abs() / 8)?
        .checked_add(pcount)?
        .checked_mul(gcount)
}

/// NAXISn, BITPIX and the data size they promise.
fn data_shape(header: &Header) -> Result<(Vec<usize>, i32, u64), FitsError> {
    let bitpix = header.get_i64("BITPIX")?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(FitsError::keyword(
            header.path(),
            0,
            "BITPIX",
            format!("{bitpix} is not a valid FITS BITPIX"),
        ));
    }
    let naxis = header.get_i64("NAXIS")?;
    if !(0..=999).contains(&naxis) {
        return Err(FitsError::keyword(
            header.path(),
            0,
            "NAXIS",
            format!("{naxis} is outside 0..999"),
        ));
    }
    let mut lengths = Vec::with_capacity(naxis as usize);
    for axis in 1..=naxis {
        let key = format!("NAXIS{axis}");
        let n = header.get_i64(&key)?;
        if n < 0 {
            return Err(FitsError::keyword(
                header.path(),
                0,
                &key,
                format!("negative length {n}"),
            ));
        }
        lengths.push(n as usize);
    }
    let pixels = if lengths.is_empty() {
        0u64
    } else {
        lengths
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64))
            .ok_or_else(|| FitsError::hdu(header.path(), 0, "NAXISn product overflows"))?
    };
    let bytes = pixels
        .checked_mul(bitpix.unsigned_abs() / 8)
        .ok_or_else(|| FitsError::hdu(header.path(), 0, "data size overflows"))?;
    Ok((lengths, bitpix as i32, bytes))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(stream: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// An I/O error as a short phrase without Rust's Debug decoration.
pub(crate) fn io_problem(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}
