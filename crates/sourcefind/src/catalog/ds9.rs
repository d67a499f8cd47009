//! ds9 region file of a source list, in PyBDSF's layout
//! (`write_catalog(format='ds9')`): ellipses at (RA, Dec) in degrees with the
//! image-plane FWHM in arcsec (floored at 1", ds9 cannot draw a line) and
//! angle PA_img_plane + 90 (ds9 measures from the +x axis and does not correct
//! for the local direction of north, hence the uncorrected values); a
//! zero-size object is a cross. Frame `icrs` for ICRS images, otherwise
//! `fk5` (`fk4` for equinox 1950) as PyBDSF.

use super::table::{format_python_float, Table};
use std::fmt::Write as _;

/// The ds9 frame name for an image's RADESYS and EQUINOX.
pub fn frame_name(radesys: Option<&str>, equinox: f64) -> &'static str {
    match radesys.map(|s| s.trim().to_ascii_uppercase()) {
        Some(s) if s == "ICRS" => "icrs",
        _ if equinox.is_finite() && equinox.trunc() == 1950.0 => "fk4",
        _ => "fk5",
    }
}

/// The region file text for a source-list table (columns RA, DEC,
/// Maj_img_plane, Min_img_plane, PA_img_plane, Isl_id, Source_id);
/// regions are named `<root>_i<isl>_s<src>` as PyBDSF names them.
pub fn regions(srl: &Table, root: &str, frame: &str) -> String {
    let mut out = String::from(
        "# Region file format: DS9 version 4.0\nglobal color=green font=\"helvetica 10 normal\" \
select=1 highlite=1 edit=1 move=1 delete=1 include=1 fixed=0 source\n",
    );
    out.push_str(frame);
    out.push('\n');
    let empty_f: &[f64] = &[];
    let empty_i: &[i64] = &[];
    let ra = srl.floats("RA").unwrap_or(empty_f);
    let dec = srl.floats("DEC").unwrap_or(empty_f);
    let maj = srl.floats("Maj_img_plane").unwrap_or(empty_f);
    let min = srl.floats("Min_img_plane").unwrap_or(empty_f);
    let pa = srl.floats("PA_img_plane").unwrap_or(empty_f);
    let isl = srl.ints("Isl_id").unwrap_or(empty_i);
    let src = srl.ints("Source_id").unwrap_or(empty_i);
    for i in 0..ra.len() {
        if !(ra[i].is_finite() && dec[i].is_finite()) {
            continue;
        }
        let name = format!("{root}_i{}_s{}", isl[i], src[i]);
        let (ra_s, dec_s) = (format_python_float(ra[i]), format_python_float(dec[i]));
        if maj[i] == 0.0 && min[i] == 0.0 {
            let _ = writeln!(
                out,
                "point({ra_s},{dec_s}) # point=cross width=2 text={{{name}}}"
            );
        } else {
            let floor = 1.0 / 3600.0;
            let _ = writeln!(
                out,
                "ellipse({ra_s},{dec_s},{}\",{}\",{}) # text={{{name}}}",
                format_python_float(maj[i].max(floor) * 3600.0),
                format_python_float(min[i].max(floor) * 3600.0),
                format_python_float(pa[i] + 90.0)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_and_point_lines() {
        let mut t = Table::default();
        t.push_int("Source_id", vec![0, 1]);
        t.push_int("Isl_id", vec![0, 1]);
        t.push_float("RA", "deg", vec![150.0797063587767, 10.5]);
        t.push_float("DEC", "deg", vec![29.93125156338258, -1.0]);
        t.push_float("Maj_img_plane", "deg", vec![0.001, 0.0]);
        t.push_float("Min_img_plane", "deg", vec![0.0001, 0.0]);
        t.push_float("PA_img_plane", "deg", vec![3.5, 0.0]);
        let text = regions(&t, "ql", "fk5");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "fk5");
        assert_eq!(
            lines[3],
            "ellipse(150.0797063587767,29.93125156338258,3.6\",1.0\",93.5) # text={ql_i0_s0}"
        );
        assert_eq!(
            lines[4],
            "point(10.5,-1.0) # point=cross width=2 text={ql_i1_s1}"
        );
        assert_eq!(frame_name(Some("ICRS"), 2000.0), "icrs");
        assert_eq!(frame_name(Some("FK5"), 2000.0), "fk5");
        assert_eq!(frame_name(None, 1950.0), "fk4");
    }
}
