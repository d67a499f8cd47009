//! PNG previews of an image plane for operators.
//! (Signatures first; the implementation and its full documentation follow.)

use std::fmt;
use std::path::{Path, PathBuf};

/// How pixel values are mapped to grey levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stretch {
    /// asinh stretch between the low limit and the peak.
    #[default]
    Asinh,
    /// IRAF zscale limits, linear between them.
    Zscale,
}

/// Options of [`write_preview`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewOptions {
    /// Longest side of the PNG in pixels (default 1024).
    pub max_size: usize,
    /// Grey-level mapping (default asinh).
    pub stretch: Stretch,
    /// Colour of pixels without a finite value (default dark blue).
    pub nan_rgb: [u8; 3],
    /// Colour of the peak marker (default red).
    pub marker_rgb: [u8; 3],
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            max_size: 1024,
            stretch: Stretch::Asinh,
            nan_rgb: [0, 0, 96],
            marker_rgb: [255, 0, 0],
        }
    }
}

/// Why a preview could not be written.
#[derive(Debug)]
pub struct PreviewError {
    path: PathBuf,
    problem: String,
}

impl fmt::Display for PreviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for PreviewError {}

/// Writes an RGB PNG preview of `plane` (shape `[ny, nx]`, `plane[[y, x]]`);
/// `peak` is the 0-based pixel `(x, y)` to mark.
pub fn write_preview(
    plane: ndarray::ArrayView2<f32>,
    peak: Option<(usize, usize)>,
    out: &Path,
    opts: &PreviewOptions,
) -> Result<(), PreviewError> {
    let _ = (plane, peak, opts);
    Err(PreviewError {
        path: out.to_path_buf(),
        problem: "not yet implemented".into(),
    })
}
