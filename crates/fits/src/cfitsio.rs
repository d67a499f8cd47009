//! A minimal safe wrapper over the few cfitsio calls this crate needs.
//!
//! Files are opened with `fits_open_diskfile`, which takes the name literally
//! (no extended filename syntax, so names with `+`, `[` or `-` are safe) and
//! still decompresses gzip files transparently. The handle holds a raw
//! pointer and is therefore neither `Send` nor `Sync`: cfitsio allows one
//! handle per thread, so open one per task.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_long, c_void};
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

use fitsio::sys;

use crate::FitsError;

/// An open, read-only cfitsio file handle.
pub(crate) struct CfitsioFile {
    handle: NonNull<sys::fitsfile>,
    path: PathBuf,
}

/// cfitsio's text for a status code, e.g. "cfitsio status 108: error reading from FITS file".
pub(crate) fn status_text(status: c_int) -> String {
    let mut buffer: [c_char; 32] = [0; 32];
    // SAFETY: ffgerr writes at most FLEN_STATUS (31) bytes including the NUL.
    unsafe { sys::ffgerr(status, buffer.as_mut_ptr()) };
    // SAFETY: the buffer is NUL-terminated (zero-initialised, 31 bytes written at most).
    let text = unsafe { CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy();
    format!("cfitsio status {status}: {text}")
}

impl CfitsioFile {
    /// Opens `path` read-only.
    pub(crate) fn open(path: &Path) -> Result<CfitsioFile, FitsError> {
        let name = path
            .to_str()
            .ok_or_else(|| FitsError::file(path, "file name is not valid UTF-8"))?;
        let c_name = CString::new(name)
            .map_err(|_| FitsError::file(path, "file name contains a NUL byte"))?;
        let mut handle: *mut sys::fitsfile = ptr::null_mut();
        let mut status: c_int = 0;
        // SAFETY: valid C string and out-pointers; mode 0 = READONLY.
        unsafe { sys::ffdkopn(&mut handle, c_name.as_ptr(), 0, &mut status) };
        if status != 0 {
            if !handle.is_null() {
                let mut ignored = 0;
                // SAFETY: the handle came from ffdkopn.
                unsafe { sys::ffclos(handle, &mut ignored) };
            }
            return Err(FitsError::file(
                path,
                format!("cannot open: {}", status_text(status)),
            ));
        }
        let handle = NonNull::new(handle)
            .ok_or_else(|| FitsError::file(path, "cannot open: cfitsio returned no handle"))?;
        Ok(CfitsioFile {
            handle,
            path: path.to_path_buf(),
        })
    }

    fn check(&self, status: c_int, hdu: usize, what: &str) -> Result<(), FitsError> {
        if status == 0 {
            Ok(())
        } else {
            Err(FitsError::hdu(
                &self.path,
                hdu,
                format!("{what}: {}", status_text(status)),
            ))
        }
    }

    /// Makes HDU `hdu` (0 = primary) current.
    pub(crate) fn move_to(&mut self, hdu: usize) -> Result<(), FitsError> {
        let mut status = 0;
        let mut kind = 0;
        // SAFETY: valid handle; cfitsio numbers HDUs from 1.
        unsafe {
            sys::ffmahd(
                self.handle.as_ptr(),
                hdu as c_int + 1,
                &mut kind,
                &mut status,
            )
        };
        self.check(status, hdu, "cannot move to HDU")
    }

    /// Makes the binary table with EXTNAME `name` current; returns its HDU
    /// number (0-based), or `None` if the file has no such table.
    pub(crate) fn move_to_table(&mut self, name: &str) -> Result<Option<usize>, FitsError> {
        let mut c_name = CString::new(name)
            .map_err(|_| FitsError::file(&self.path, "table name contains a NUL byte"))?
            .into_bytes_with_nul();
        let mut status = 0;
        // SAFETY: valid handle and NUL-terminated name buffer (cfitsio does not write it).
        unsafe {
            sys::ffmnhd(
                self.handle.as_ptr(),
                sys::BINARY_TBL as c_int,
                c_name.as_mut_ptr() as *mut c_char,
                0,
                &mut status,
            )
        };
        if status == sys::BAD_HDU_NUM as c_int {
            return Ok(None);
        }
        self.check(status, 0, &format!("cannot find the {name} table"))?;
        let mut number = 0;
        // SAFETY: valid handle.
        unsafe { sys::ffghdn(self.handle.as_ptr(), &mut number) };
        Ok(Some((number as usize).saturating_sub(1)))
    }

    /// All header card images (80 columns) of the current HDU, END excluded.
    pub(crate) fn header_card_images(&mut self, hdu: usize) -> Result<Vec<String>, FitsError> {
        let mut count = 0;
        let mut more = 0;
        let mut status = 0;
        // SAFETY: valid handle and out-pointers.
        unsafe { sys::ffghsp(self.handle.as_ptr(), &mut count, &mut more, &mut status) };
        self.check(status, hdu, "cannot read header")?;
        let mut cards = Vec::with_capacity(count.max(0) as usize);
        for record in 1..=count {
            let mut buffer: [c_char; 81] = [0; 81];
            // SAFETY: ffgrec writes at most FLEN_CARD (81) bytes including the NUL.
            unsafe {
                sys::ffgrec(
                    self.handle.as_ptr(),
                    record,
                    buffer.as_mut_ptr(),
                    &mut status,
                )
            };
            self.check(status, hdu, "cannot read header card")?;
            // SAFETY: NUL-terminated by cfitsio (buffer zero-initialised).
            let text = unsafe { CStr::from_ptr(buffer.as_ptr()) };
            cards.push(format!("{:<80}", text.to_string_lossy()));
        }
        Ok(cards)
    }

    /// Number of rows of the current table.
    pub(crate) fn row_count(&mut self, hdu: usize) -> Result<usize, FitsError> {
        let mut rows: c_long = 0;
        let mut status = 0;
        // SAFETY: valid handle and out-pointers.
        unsafe { sys::ffgnrw(self.handle.as_ptr(), &mut rows, &mut status) };
        self.check(status, hdu, "cannot count table rows")?;
        Ok(rows.max(0) as usize)
    }

    /// Column `column` (1-based) of the current table as f64, `rows` rows
    /// (first element of each cell).
    pub(crate) fn read_column(
        &mut self,
        hdu: usize,
        column: usize,
        rows: usize,
    ) -> Result<Vec<f64>, FitsError> {
        let mut values = vec![0.0f64; rows];
        if rows == 0 {
            return Ok(values);
        }
        let mut null = f64::NAN;
        let mut any_null = 0;
        let mut status = 0;
        // SAFETY: `values` holds `rows` elements of the requested type TDOUBLE.
        unsafe {
            sys::ffgcv(
                self.handle.as_ptr(),
                sys::TDOUBLE as c_int,
                column as c_int,
                1,
                1,
                rows as i64,
                &mut null as *mut f64 as *mut c_void,
                values.as_mut_ptr() as *mut c_void,
                &mut any_null,
                &mut status,
            )
        };
        self.check(status, hdu, &format!("cannot read table column {column}"))?;
        Ok(values)
    }

    /// Reads the box `first..=last` (1-based FITS pixel numbers per axis) of
    /// the current image as f32 with BSCALE/BZERO applied; blank pixels
    /// (BLANK for integer images, NaN for float images) become NaN.
    pub(crate) fn read_box_f32(
        &mut self,
        hdu: usize,
        first: &[usize],
        last: &[usize],
        out: &mut [f32],
    ) -> Result<(), FitsError> {
        let expected: usize = first.iter().zip(last).map(|(a, b)| b + 1 - a).product();
        if expected != out.len() || first.len() != last.len() {
            return Err(FitsError::hdu(
                &self.path,
                hdu,
                "internal error: read box size mismatch",
            ));
        }
        let mut blc: Vec<c_long> = first.iter().map(|&v| v as c_long).collect();
        let mut trc: Vec<c_long> = last.iter().map(|&v| v as c_long).collect();
        let mut inc: Vec<c_long> = vec![1; first.len()];
        let mut null = f32::NAN;
        let mut any_null = 0;
        let mut status = 0;
        // SAFETY: blc/trc/inc have NAXIS entries; `out` has exactly the box's pixel count.
        unsafe {
            sys::ffgsv(
                self.handle.as_ptr(),
                sys::TFLOAT as c_int,
                blc.as_mut_ptr(),
                trc.as_mut_ptr(),
                inc.as_mut_ptr(),
                &mut null as *mut f32 as *mut c_void,
                out.as_mut_ptr() as *mut c_void,
                &mut any_null,
                &mut status,
            )
        };
        self.check(status, hdu, "cannot read pixels")
    }
}

impl Drop for CfitsioFile {
    fn drop(&mut self) {
        let mut status = 0;
        // SAFETY: the handle is valid and closed exactly once.
        unsafe { sys::ffclos(self.handle.as_ptr(), &mut status) };
    }
}
