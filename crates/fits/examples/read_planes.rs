//! Benchmark driver for `scripts/bench_fits.sh`: opens each FITS file given
//! on the command line, reads every plane with `Image::read_plane` and prints
//! `<file> <planes> <finite pixels> <sum of finite pixels>` (the same line as
//! the script's astropy side, so the two can be compared).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        match summarise(Path::new(&arg)) {
            Ok((planes, finite, sum)) => println!("{arg} {planes} {finite} {sum:.4}"),
            Err(e) => {
                eprintln!("read_planes: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn summarise(path: &Path) -> Result<(usize, usize, f64), vlass_fits::FitsError> {
    let mut image = vlass_fits::Image::open(path)?;
    let (mut finite, mut sum) = (0usize, 0f64);
    for index in 0..image.plane_count() {
        let plane = image.read_plane(index)?;
        for &v in plane.iter().filter(|v| v.is_finite()) {
            finite += 1;
            sum += f64::from(v);
        }
    }
    Ok((image.plane_count(), finite, sum))
}
