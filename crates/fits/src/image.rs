//! One image HDU opened for reading plane by plane: axes found by CTYPE,
//! per-plane frequency, Stokes and restoring beam, and pixel access through
//! cfitsio subset reads so a cube is never loaded whole. Planes of uncompressed
//! float32 images without scaling (what CASA exports) are read with one plain
//! read and a byte swap instead, giving the same values as cfitsio, or mapped
//! ([`MappedPlane`]) and decoded in parts by a reader that does not need the
//! plane in memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use vlass_wcs::{celestial_axis, CelestialAxis, Wcs};

use crate::cfitsio::CfitsioFile;
use crate::verify::{io_problem, scan_primary};
use crate::{FitsError, Header};

/// A restoring beam: FWHM axes in arcsec, position angle in degrees east of north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beam {
    /// Major axis FWHM, arcsec.
    pub bmaj_arcsec: f64,
    /// Minor axis FWHM, arcsec.
    pub bmin_arcsec: f64,
    /// Position angle of the major axis, degrees.
    pub bpa_deg: f64,
}

/// What is known about one 2-D plane of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneInfo {
    /// Plane number as accepted by [`Image::read_plane`] (0-based).
    pub index: usize,
    /// Frequency of the plane in Hz when the image has a FREQ axis.
    pub frequency_hz: Option<f64>,
    /// FITS Stokes code (1 = I, 2 = Q, 3 = U, 4 = V, negative = correlations)
    /// when the image has a STOKES axis.
    pub stokes: Option<i32>,
    /// Restoring beam of this plane: from the BEAMS table when `CASAMBM = T`,
    /// else the header beam.
    pub beam: Option<Beam>,
}

/// Axis layout of the image, 0-based axis positions (FITS axis n is n-1).
#[derive(Debug, Clone)]
struct Axes {
    lengths: Vec<usize>,
    lon: usize,
    lat: usize,
    /// The non-celestial axes in FITS order (the first varies fastest in plane numbers).
    others: Vec<usize>,
    freq: Option<usize>,
    stokes: Option<usize>,
}

impl Axes {
    /// Pixel index (0-based) on each non-celestial axis for plane `index`.
    fn plane_position(&self, mut index: usize) -> Vec<usize> {
        self.others
            .iter()
            .map(|&axis| {
                let n = self.lengths[axis].max(1);
                let position = index % n;
                index /= n;
                position
            })
            .collect()
    }

    fn plane_count(&self) -> usize {
        self.others
            .iter()
            .map(|&a| self.lengths[a])
            .product::<usize>()
            .max(1)
    }
}

/// One opened image HDU (the primary HDU of a CASA export).
///
/// Holds a cfitsio handle, so it is neither `Send` nor `Sync`: in a rayon
/// pool open one `Image` per task (opening costs a header read; gzip files are
/// decompressed into memory by cfitsio on open).
pub struct Image {
    path: PathBuf,
    header: Header,
    file: CfitsioFile,
    axes: Axes,
    planes: Vec<PlaneInfo>,
    beam: Option<Beam>,
    /// Byte offset of the data when planes can be read without cfitsio (uncompressed,
    /// BITPIX = -32, no BSCALE/BZERO scaling, RA and Dec the first two axes).
    raw_float_data: Option<u64>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("path", &self.path)
            .field("axes", &self.axes.lengths)
            .finish()
    }
}

impl Image {
    /// Opens the primary image of a `.fits` or gzip-compressed FITS file.
    ///
    /// The file is first checked in pure Rust (see [`crate::verify_file`]):
    /// truncated data, non-FITS content, corrupt gzip and a primary HDU without
    /// an image are reported here, before any pixel is read. The RA and Dec axes
    /// must be identifiable by CTYPE.
    pub fn open(path: &Path) -> Result<Image, FitsError> {
        let (header, summary) = scan_primary(path)?;
        if summary.naxis.is_empty() {
            return Err(FitsError::hdu(
                path,
                0,
                "no image: the primary HDU has NAXIS = 0 (no image data)",
            ));
        }
        if summary.data_bytes_expected == 0 {
            return Err(FitsError::hdu(
                path,
                0,
                "no image: an NAXISn is 0 (no image data)",
            ));
        }
        let axes = find_axes(&header, &summary.naxis)?;
        let keyword_is =
            |key: &str, default: f64| !header.contains(key) || header.opt_f64(key) == Some(default);
        let unscaled = keyword_is("BSCALE", 1.0) && keyword_is("BZERO", 0.0);
        let raw_float_data =
            (!summary.gzip && summary.bitpix == -32 && unscaled && axes.lon.max(axes.lat) == 1)
                .then_some(summary.header_bytes);
        let mut file = CfitsioFile::open(path)?;
        let beam = header_beam(&header);
        let table_beams = if header.opt_bool("CASAMBM") == Some(true) {
            Some(read_beams_table(&mut file, path, &axes)?)
        } else {
            None
        };
        let planes = (0..axes.plane_count())
            .map(|index| {
                let position = axes.plane_position(index);
                let at = |axis: Option<usize>| {
                    axis.and_then(|a| axes.others.iter().position(|&o| o == a))
                        .map(|k| position[k])
                };
                let channel = at(axes.freq);
                let polarization = at(axes.stokes);
                let plane_beam = match &table_beams {
                    Some(table) => table.beam(channel.unwrap_or(0), polarization.unwrap_or(0)),
                    None => beam,
                };
                PlaneInfo {
                    index,
                    frequency_hz: axes
                        .freq
                        .zip(channel)
                        .and_then(|(a, c)| axis_frequency(&header, a, c)),
                    stokes: axes
                        .stokes
                        .zip(polarization)
                        .and_then(|(a, p)| axis_stokes(&header, a, p)),
                    beam: plane_beam,
                }
            })
            .collect();
        Ok(Image {
            path: path.to_path_buf(),
            header,
            file,
            axes,
            planes,
            beam,
            raw_float_data,
        })
    }

    /// The path the image was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The primary header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Length of the RA (longitude) axis.
    pub fn nx(&self) -> usize {
        self.axes.lengths[self.axes.lon]
    }

    /// Length of the Dec (latitude) axis.
    pub fn ny(&self) -> usize {
        self.axes.lengths[self.axes.lat]
    }

    /// Number of 2-D planes: the product of the non-celestial axis lengths, at least 1.
    pub fn plane_count(&self) -> usize {
        self.planes.len()
    }

    /// One entry per plane, in plane order.
    pub fn planes(&self) -> &[PlaneInfo] {
        &self.planes
    }

    /// The header restoring beam (BMAJ/BMIN/BPA); `None` if absent, as in
    /// CASA multi-beam images (use [`Image::planes`] there).
    pub fn beam(&self) -> Option<Beam> {
        self.beam
    }

    /// The BUNIT value; `None` when absent or blank (CASA writes a blank
    /// BUNIT for alpha images).
    pub fn bunit(&self) -> Option<String> {
        self.header
            .opt_str("BUNIT")
            .filter(|u| !u.trim().is_empty())
    }

    /// 0-based FITS axis positions of the (RA, Dec) axes.
    pub fn celestial_axes(&self) -> (usize, usize) {
        (self.axes.lon, self.axes.lat)
    }

    /// Reads plane `index` as `[ny, nx]` (index `a[[y, x]]`, 0-based) with
    /// BSCALE/BZERO applied; blanked pixels (BLANK or NaN) are NaN. Only this
    /// plane is read from disk.
    pub fn read_plane(&mut self, index: usize) -> Result<Array2<f32>, FitsError> {
        self.check_plane_index(index)?;
        let (nx, ny) = (self.nx(), self.ny());
        let mut pixels = vec![0f32; nx * ny];
        match self.raw_plane_offset(index) {
            Some(offset) => self.read_raw_float_plane(offset, &mut pixels)?,
            None => {
                let (first, last) = self.plane_box(index);
                self.file.move_to(0)?;
                self.file.read_box_f32(0, &first, &last, &mut pixels)?;
            }
        }
        let shape_error = |_| FitsError::hdu(&self.path, 0, "internal error: plane shape");
        if self.axes.lon < self.axes.lat {
            Array2::from_shape_vec((ny, nx), pixels).map_err(shape_error)
        } else {
            // Dec varies fastest: memory is [x][y]; transpose to [y][x].
            let transposed = Array2::from_shape_vec((nx, ny), pixels).map_err(shape_error)?;
            Ok(transposed.reversed_axes().as_standard_layout().into_owned())
        }
    }

    /// Plane `index` mapped from the file, when the image is stored so that its pixels can
    /// be used in place (uncompressed, BITPIX = -32, no BSCALE/BZERO scaling, RA the first
    /// axis and Dec the second); `Ok(None)` otherwise (use [`Image::read_plane`]).
    ///
    /// The pixels are the ones [`Image::read_plane`] gives, decoded on demand with
    /// [`MappedPlane::decode`], so no plane-sized buffer is allocated, copied or faulted
    /// in: a reader that goes over the plane a few times costs the page cache's memory
    /// only. If another process truncates the file while the plane is in use, reading the
    /// lost pages raises SIGBUS: a tool that installed
    /// [`exit_cleanly_on_truncated_maps`](crate::exit_cleanly_on_truncated_maps) then stops
    /// with one error line naming the file and its input-error code; otherwise it dies.
    pub fn map_plane(&self, index: usize) -> Result<Option<MappedPlane>, FitsError> {
        self.check_plane_index(index)?;
        let Some(offset) = self.raw_plane_offset(index) else {
            return Ok(None);
        };
        if (self.axes.lon, self.axes.lat) != (0, 1) {
            return Ok(None);
        }
        let (nx, ny) = (self.nx(), self.ny());
        let bytes = 4 * nx * ny;
        let file =
            File::open(&self.path).map_err(|e| FitsError::file(&self.path, io_problem(&e)))?;
        let length = file
            .metadata()
            .map_err(|e| FitsError::file(&self.path, io_problem(&e)))?
            .len();
        if length < offset + bytes as u64 {
            return Err(FitsError::hdu(
                &self.path,
                0,
                "truncated: the file ends inside a plane",
            ));
        }
        // SAFETY: the map is read-only (nothing in this process writes the file through it);
        // the length was checked against the file. If another process truncates the file while
        // the plane is in use, reading the lost pages faults (SIGBUS), which map_guard turns
        // into a clear error and exit for the tools that install it.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(bytes)
                .map(&file)
        }
        .map_err(|e| {
            FitsError::file(
                &self.path,
                format!("cannot map the data: {}", io_problem(&e)),
            )
        })?;
        let registration = crate::map_guard::Registration::new(map.as_ptr(), map.len(), &self.path);
        Ok(Some(MappedPlane {
            _registration: registration,
            map,
            nx,
            ny,
        }))
    }

    /// Error unless `index` is a plane of the image.
    fn check_plane_index(&self, index: usize) -> Result<(), FitsError> {
        if index < self.planes.len() {
            return Ok(());
        }
        Err(FitsError::hdu(
            &self.path,
            0,
            format!(
                "plane {index} does not exist (the image has {} planes)",
                self.planes.len()
            ),
        ))
    }

    /// First and last pixel (1-based, per FITS axis) of plane `index`.
    fn plane_box(&self, index: usize) -> (Vec<usize>, Vec<usize>) {
        let position = self.axes.plane_position(index);
        let mut first: Vec<usize> = vec![1; self.axes.lengths.len()];
        let mut last: Vec<usize> = self.axes.lengths.clone();
        for (&axis, &p) in self.axes.others.iter().zip(&position) {
            first[axis] = p + 1;
            last[axis] = p + 1;
        }
        (first, last)
    }

    /// Byte offset in the file of plane `index` when planes can be read without cfitsio.
    fn raw_plane_offset(&self, index: usize) -> Option<u64> {
        let data_start = self.raw_float_data?;
        let (first, _) = self.plane_box(index);
        // Pixels before this plane: its 0-based corner in FITS (column-major) order.
        let mut stride = 1;
        let mut skipped = 0;
        for (&start, &length) in first.iter().zip(&self.axes.lengths) {
            skipped += (start - 1) * stride;
            stride *= length;
        }
        Some(data_start + 4 * skipped as u64)
    }

    /// Reads `out.len()` big-endian float32 pixels starting `offset` bytes into the file,
    /// converted by [`decode_float_pixel`].
    fn read_raw_float_plane(&self, offset: u64, out: &mut [f32]) -> Result<(), FitsError> {
        let io_error = |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                FitsError::hdu(&self.path, 0, "truncated: the file ends inside a plane")
            } else {
                FitsError::file(&self.path, io_problem(&e))
            }
        };
        let mut file = File::open(&self.path).map_err(io_error)?;
        file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
        // SAFETY: any 4 bytes are a valid f32 bit pattern, and the byte view covers exactly
        // the memory of `out`, which it borrows mutably for its whole life.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                out.as_mut_ptr().cast::<u8>(),
                std::mem::size_of_val(out),
            )
        };
        file.read_exact(bytes).map_err(io_error)?;
        for pixel in out.iter_mut() {
            *pixel = decode_float_pixel(u32::from_be(pixel.to_bits()));
        }
        Ok(())
    }

    /// The celestial WCS of the image; errors name the missing or bad keyword.
    pub fn wcs(&self) -> Result<Wcs, FitsError> {
        Wcs::from_keywords(&self.header).map_err(|e| match e.keyword_name() {
            Some(key) => FitsError::keyword(&self.path, 0, key, e.problem()),
            None => FitsError::hdu(&self.path, 0, e.problem()),
        })
    }
}

/// One plane of an image mapped from its file (see [`Image::map_plane`]): big-endian
/// float32 pixels in row-major order (`y * nx + x`), decoded on demand. `Send` and `Sync`,
/// so several threads can decode parts of it at once.
#[derive(Debug)]
pub struct MappedPlane {
    // Declared before `map` so that it is dropped (unregistered) before the unmapping.
    _registration: crate::map_guard::Registration,
    map: memmap2::Mmap,
    nx: usize,
    ny: usize,
}

impl MappedPlane {
    /// Columns (RA axis length).
    pub fn nx(&self) -> usize {
        self.nx
    }

    /// Rows (Dec axis length).
    pub fn ny(&self) -> usize {
        self.ny
    }

    /// Number of pixels, `nx * ny`.
    pub fn len(&self) -> usize {
        self.nx * self.ny
    }

    /// Whether the plane has no pixel (never, for an opened image).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `out` with pixels `start..start + out.len()` (row-major), converted as
    /// [`Image::read_plane`] converts them.
    ///
    /// # Panics
    /// If the range goes past the end of the plane (a caller's bug, not bad input).
    pub fn decode(&self, start: usize, out: &mut [f32]) {
        // Decoded a kilobyte at a time, each step first asking for the kilobyte `AHEAD`
        // steps further on: the processor's own prefetcher stops at every 4 KB page of the
        // map, which made this loop wait for memory (measured: 40% faster per pass).
        const STEP: usize = 1024;
        const AHEAD: usize = 16;
        let first = 4 * start;
        let bytes = &self.map[first..first + 4 * out.len()];
        for (k, (pixels, raws)) in out.chunks_mut(STEP / 4).zip(bytes.chunks(STEP)).enumerate() {
            let ahead = first + (k + AHEAD) * STEP;
            if raws.len() == STEP && ahead + STEP <= self.map.len() {
                prefetch(&self.map[ahead..ahead + STEP]);
            }
            decode_run(pixels, raws);
        }
    }
}

/// Decodes big-endian float32 `raws` into `pixels` (see [`decode_float_pixel`]); compiled
/// for AVX where the processor has it (the same integer operations, which the compiler then
/// vectorises with a byte shuffle: 30% faster per pass).
pub(crate) fn decode_run(pixels: &mut [f32], raws: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the processor has AVX (checked just above).
        return unsafe { decode_run_avx(pixels, raws) };
    }
    decode_run_plain(pixels, raws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn decode_run_avx(pixels: &mut [f32], raws: &[u8]) {
    decode_run_plain(pixels, raws)
}

/// [`decode_run`] for any processor.
#[inline(always)]
pub(crate) fn decode_run_plain(pixels: &mut [f32], raws: &[u8]) {
    for (pixel, raw) in pixels.iter_mut().zip(raws.chunks_exact(4)) {
        let raw: [u8; 4] = [raw[0], raw[1], raw[2], raw[3]];
        *pixel = decode_float_pixel(u32::from_be_bytes(raw));
    }
}

/// Asks the processor to bring `bytes` into its caches (a hint; nothing is read).
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch has no effect on memory or on the program's state; the
        // address is inside `bytes`, which is mapped.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                line.as_ptr().cast::<i8>(),
                std::arch::x86_64::_MM_HINT_T0,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A float32 pixel from its bits, as cfitsio converts it when NaN is the null value:
/// NaN and infinities become NaN, zeros and subnormals become +0.
#[inline(always)]
fn decode_float_pixel(bits: u32) -> f32 {
    const EXPONENT: u32 = 0x7f80_0000;
    let exponent = bits & EXPONENT;
    if exponent == EXPONENT {
        f32::NAN
    } else if exponent == 0 {
        0.0
    } else {
        f32::from_bits(bits)
    }
}

/// Finds the RA/Dec axes and the spectral and Stokes axes by CTYPE.
fn find_axes(header: &Header, lengths: &[usize]) -> Result<Axes, FitsError> {
    let path = header.path();
    if lengths.len() < 2 {
        return Err(FitsError::hdu(
            path,
            0,
            format!(
                "no image: NAXIS = {} (an image needs RA and Dec axes)",
                lengths.len()
            ),
        ));
    }
    let mut lon = None;
    let mut lat = None;
    let mut freq = None;
    let mut stokes = None;
    let mut others = Vec::new();
    let mut missing_ctype = None;
    for (axis, _) in lengths.iter().enumerate() {
        let key = format!("CTYPE{}", axis + 1);
        let ctype = match header.get_str(&key) {
            Ok(c) => c.trim().to_ascii_uppercase(),
            Err(_) => {
                missing_ctype.get_or_insert(key);
                others.push(axis);
                continue;
            }
        };
        match celestial_axis(&ctype) {
            Some(CelestialAxis::Longitude) if lon.is_none() => lon = Some(axis),
            Some(CelestialAxis::Latitude) if lat.is_none() => lat = Some(axis),
            Some(_) => {
                return Err(FitsError::keyword(
                    path,
                    0,
                    &key,
                    format!("second celestial axis '{ctype}'"),
                ));
            }
            None => {
                if ctype.starts_with("FREQ") && freq.is_none() {
                    freq = Some(axis);
                } else if ctype == "STOKES" && stokes.is_none() {
                    stokes = Some(axis);
                }
                others.push(axis);
            }
        }
    }
    match (lon, lat) {
        (Some(lon), Some(lat)) => Ok(Axes {
            lengths: lengths.to_vec(),
            lon,
            lat,
            others,
            freq,
            stokes,
        }),
        _ => Err(match missing_ctype {
            Some(key) => FitsError::keyword(
                path,
                0,
                &key,
                "missing: cannot tell which axes are RA and Dec",
            ),
            None => FitsError::hdu(path, 0, "no RA/Dec axes among the CTYPEn keywords"),
        }),
    }
}

/// World value of pixel `index` (0-based) on a linear axis `axis` (0-based).
fn linear_axis_value(header: &Header, axis: usize, index: usize) -> Option<f64> {
    let n = axis + 1;
    let crval = header.opt_f64(&format!("CRVAL{n}"))?;
    let crpix = header.opt_f64(&format!("CRPIX{n}")).unwrap_or(1.0);
    let cdelt = header.opt_f64(&format!("CDELT{n}")).unwrap_or(1.0);
    Some(crval + (index as f64 + 1.0 - crpix) * cdelt)
}

/// Frequency in Hz of channel `index`, honouring CUNITn (Hz, kHz, MHz, GHz).
fn axis_frequency(header: &Header, axis: usize, index: usize) -> Option<f64> {
    let unit = header
        .opt_str(&format!("CUNIT{}", axis + 1))
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let scale = match unit.as_str() {
        "" | "hz" => 1.0,
        "khz" => 1e3,
        "mhz" => 1e6,
        "ghz" => 1e9,
        _ => return None,
    };
    linear_axis_value(header, axis, index).map(|v| v * scale)
}

/// FITS Stokes code of pixel `index` on the STOKES axis.
fn axis_stokes(header: &Header, axis: usize, index: usize) -> Option<i32> {
    linear_axis_value(header, axis, index).map(|v| v.round() as i32)
}

/// The BMAJ/BMIN/BPA beam of the header (degrees there, arcsec here).
fn header_beam(header: &Header) -> Option<Beam> {
    let bmaj = header.opt_f64("BMAJ")?;
    let bmin = header.opt_f64("BMIN")?;
    let bpa = header.opt_f64("BPA").unwrap_or(0.0);
    Some(Beam {
        bmaj_arcsec: bmaj * 3600.0,
        bmin_arcsec: bmin * 3600.0,
        bpa_deg: bpa,
    })
}

/// The per-channel, per-polarization beams of a CASA `BEAMS` table.
struct BeamTable {
    /// (channel, polarization, beam)
    rows: Vec<(i64, i64, Beam)>,
}

impl BeamTable {
    fn beam(&self, channel: usize, polarization: usize) -> Option<Beam> {
        self.rows
            .iter()
            .find(|(c, p, _)| *c == channel as i64 && *p == polarization as i64)
            .map(|(_, _, b)| *b)
    }
}

/// Reads the BEAMS binary table that CASA writes for `CASAMBM = T` images.
/// Axis columns are converted from their TUNITn (arcsec assumed if absent).
fn read_beams_table(
    file: &mut CfitsioFile,
    path: &Path,
    axes: &Axes,
) -> Result<BeamTable, FitsError> {
    let hdu = file.move_to_table("BEAMS")?.ok_or_else(|| {
        FitsError::keyword(path, 0, "CASAMBM", "is T but the file has no BEAMS table")
    })?;
    let header = Header::from_card_images(path, hdu, file.header_card_images(hdu)?);
    let rows = file.row_count(hdu)?;
    let columns = header.opt_i64("TFIELDS").unwrap_or(0).max(0) as usize;
    let find = |name: &str| -> Result<(usize, String), FitsError> {
        (1..=columns)
            .find(|i| {
                header
                    .opt_str(&format!("TTYPE{i}"))
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(name))
            })
            .map(|i| (i, header.opt_str(&format!("TUNIT{i}")).unwrap_or_default()))
            .ok_or_else(|| FitsError::hdu(path, hdu, format!("BEAMS table has no {name} column")))
    };
    let mut read =
        |name: &str, unit_scale: &dyn Fn(&str) -> Option<f64>| -> Result<Vec<f64>, FitsError> {
            let (column, unit) = find(name)?;
            let scale = unit_scale(unit.trim()).ok_or_else(|| {
                FitsError::keyword(
                    path,
                    hdu,
                    &format!("TUNIT{column}"),
                    format!("unit '{}' of column {name} is not supported", unit.trim()),
                )
            })?;
            Ok(file
                .read_column(hdu, column, rows)?
                .into_iter()
                .map(|v| v * scale)
                .collect())
        };
    let size_to_arcsec = |unit: &str| match unit.to_ascii_lowercase().as_str() {
        "" | "arcsec" => Some(1.0),
        "arcmin" => Some(60.0),
        "deg" => Some(3600.0),
        "rad" => Some(180.0 / std::f64::consts::PI * 3600.0),
        _ => None,
    };
    let angle_to_deg = |unit: &str| match unit.to_ascii_lowercase().as_str() {
        "" | "deg" => Some(1.0),
        "rad" => Some(180.0 / std::f64::consts::PI),
        _ => None,
    };
    let counting = |_: &str| Some(1.0);
    let bmaj = read("BMAJ", &size_to_arcsec)?;
    let bmin = read("BMIN", &size_to_arcsec)?;
    let bpa = read("BPA", &angle_to_deg)?;
    let chan = read("CHAN", &counting)?;
    let pol = read("POL", &counting)?;
    file.move_to(0)?;
    let table = BeamTable {
        rows: (0..rows)
            .map(|r| {
                let beam = Beam {
                    bmaj_arcsec: bmaj[r],
                    bmin_arcsec: bmin[r],
                    bpa_deg: bpa[r],
                };
                (chan[r] as i64, pol[r] as i64, beam)
            })
            .collect(),
    };
    let channels = axes.freq.map_or(1, |a| axes.lengths[a]);
    let polarizations = axes.stokes.map_or(1, |a| axes.lengths[a]);
    for c in 0..channels {
        for p in 0..polarizations {
            if table.beam(c, p).is_none() {
                return Err(FitsError::hdu(
                    path,
                    hdu,
                    format!("BEAMS table has no row for channel {c}, polarization {p}"),
                ));
            }
        }
    }
    Ok(table)
}
