//! Tests of the name grammar on every real name from the product notes and the CASA simulation,
//! plus malformed names.

use super::*;

/// Real names: archive-derived examples and pipeline code (product notes, section 2).
const ARCHIVE_NAMES: &[&str] = &[
    "VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
    "VLASS1.1.ql.T10t12.J075402-033000.10.2048.v2.I.iter1.image.pbcor.tt0.rms.subim.fits",
    "VLASS1.2.ql.T07t14.J084202-123000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt1.rms.subim.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.alpha.subim.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.alpha.error.subim.fits",
    "VLASS2.1.se.T11t35.J231002+033000.06.2048.v1.I.catalog.csv",
    "VLASS2.1.cc.T10t35.J230600-003000.06.2048.v1.spw10.IQU.iter3.image.pbcor.tt0.rms.subim.fits",
    "VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spw10.IQU.iter3.image.pbcor.tt0.subim.com.fits",
    "VLASS2.1.cc.T10t02.J005000-023000.06.2048.V_mean_minmaxrej.subim.fits",
    "VLASS1.1.cc.T29t05.J110448+763000.10.2048.v1.fits",
    "VLASS1.1.cat.T29t05.J110448+763000.10.2048.v1.csv",
    "VLASS1.2.ql.T23t09.J083851+483000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
];

/// Real names of the CASA simulation products (casa-sim `ql/`, `se/`, `cube/`).
const SIMULATION_NAMES: &[&str] = &[
    "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.rms.subim.fits.gz",
    "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.alpha.error.subim.fits.gz",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.alpha.subim.fits.gz",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.rms.subim.fits.gz",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt1.subim.fits",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.pb.tt0.subim.fits.gz",
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits",
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw2.I.iter3.image.pbcor.subim.fits",
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits",
];

/// Intermediate CASA names seen in HISTORY cards (not archive products).
const INTERMEDIATE_NAMES: &[&str] = &[
    "s13_0.VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.tt0.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.pb.tt0.fits",
    "s7_0.VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter1.model.tt0.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.psf.tt1.fits",
    "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.residual.tt0.fits",
];

fn ok(name: &str) -> ProductName {
    match parse(name) {
        Ok(p) => p,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn reason(name: &str) -> String {
    match parse(name) {
        Ok(p) => panic!("{name} was accepted: {p:?}"),
        Err(e) => e.reason().to_string(),
    }
}

#[test]
fn every_real_name_parses_and_keeps_its_key_fields() {
    for name in ARCHIVE_NAMES
        .iter()
        .chain(SIMULATION_NAMES)
        .chain(INTERMEDIATE_NAMES)
    {
        let p = ok(name);
        assert_eq!(p.file_name, *name);
        // The group key is a prefix of the name (apart from a working prefix).
        let stem = name.split_once("VLASS").map(|(_, s)| s).unwrap_or(name);
        let key = p.group_key();
        let key_rest = key.strip_prefix("VLASS").unwrap_or(&key);
        if p.spw_selection.is_none() && p.image_type != ImageType::VMeanMinMaxRej {
            assert!(stem.starts_with(key_rest), "{name}: key {key}");
        }
    }
}

#[test]
fn quick_look_tt0_fields() {
    let p = ok("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits");
    assert_eq!(p.epoch, "VLASS1.1");
    assert_eq!(p.epoch_number(), "1.1");
    assert_eq!(p.kind, Kind::QuickLook);
    assert_eq!(p.kind.code(), "QL");
    assert_eq!(p.tile, "T10t12");
    assert_eq!(p.phase_center, "J075402-033000");
    assert_eq!(p.cell_code, "10");
    assert_eq!(p.cell_arcsec, 1.0);
    assert_eq!(p.bandwidth_mhz, 2048);
    assert_eq!(p.version, 1);
    assert_eq!(p.spw, None);
    assert_eq!(p.stokes, "I");
    assert_eq!(p.iteration, Some(1));
    assert_eq!(p.image_type, ImageType::Tt0);
    assert_eq!(p.taylor_term, Some(0));
    assert!(p.pbcor && p.subim && !p.common_beam && !p.gzip && !p.legacy);
    assert_eq!(p.extension, "fits");
    assert_eq!(p.working_prefix, None);
}

#[test]
fn single_epoch_ancillary_types() {
    let base = "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.";
    let cases = [
        ("image.pbcor.tt0.subim.fits", ImageType::Tt0),
        ("image.pbcor.tt1.subim.fits", ImageType::Tt1),
        ("image.pbcor.tt0.rms.subim.fits", ImageType::Tt0Rms),
        ("image.pbcor.tt1.rms.subim.fits", ImageType::Tt1Rms),
        ("alpha.subim.fits", ImageType::Alpha),
        ("alpha.error.subim.fits", ImageType::AlphaError),
        ("image.pbcor.alpha.subim.fits.gz", ImageType::Alpha),
        (
            "image.pbcor.alpha.error.subim.fits.gz",
            ImageType::AlphaError,
        ),
        ("pb.tt0.subim.fits.gz", ImageType::Pb),
        ("psf.tt0.fits", ImageType::Psf),
        ("residual.tt1.fits", ImageType::Residual),
        ("model.tt0.fits", ImageType::Model),
    ];
    for (tail, expected) in cases {
        let p = ok(&format!("{base}{tail}"));
        assert_eq!(p.image_type, expected, "{tail}");
        assert_eq!(p.kind, Kind::SingleEpoch);
        assert_eq!(p.cell_arcsec, 0.6);
        assert_eq!(p.iteration, Some(3));
        assert_eq!(
            p.group_key(),
            "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I",
            "{tail}"
        );
    }
    assert!(ok(&format!("{base}image.pbcor.tt1.rms.subim.fits"))
        .image_type
        .is_rms());
    assert!(!ok(&format!("{base}alpha.subim.fits")).image_type.is_rms());
}

#[test]
fn single_epoch_catalogue_groups_with_its_images() {
    let cat = ok("VLASS2.1.se.T11t35.J231002+033000.06.2048.v1.I.catalog.csv");
    assert_eq!(cat.image_type, ImageType::Catalog);
    assert_eq!(cat.iteration, None);
    assert_eq!(cat.extension, "csv");
    let img = ok("VLASS2.1.se.T11t35.J231002+033000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits");
    assert_eq!(cat.group_key(), img.group_key());
}

#[test]
fn coarse_cube_spw_and_common_beam() {
    let p = ok("VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spw10.IQU.iter3.image.pbcor.tt0.subim.com.fits");
    assert_eq!(p.kind, Kind::CoarseCube);
    assert_eq!(p.spw, Some(10));
    assert_eq!(p.spw_selection.as_deref(), Some("10"));
    assert_eq!(p.stokes, "IQU");
    assert!(p.common_beam && p.subim && p.pbcor);
    assert_eq!(p.image_type, ImageType::Tt0);
    // The spw files of one tile are planes of one product.
    assert_eq!(
        p.group_key(),
        "VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spws.IQU"
    );
    let spw11 = ok(
        "VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spw11.IQU.iter3.image.pbcor.tt0.subim.fits",
    );
    assert_eq!(spw11.group_key(), p.group_key());

    let multi = ok(
        "VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spw2_3.IQU.iter3.image.pbcor.tt0.subim.fits",
    );
    assert_eq!(multi.spw, None);
    assert_eq!(multi.spw_selection.as_deref(), Some("2_3"));
    assert_eq!(multi.group_key(), p.group_key());

    let sim_cube =
        ok("VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits");
    assert_eq!(sim_cube.image_type, ImageType::Image);
    assert_eq!(sim_cube.taylor_term, None);
    assert_eq!(sim_cube.bandwidth_mhz, 1024);
    let plane =
        ok("VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits");
    assert_eq!(plane.spw, Some(6));
    // A cube stacked into one file stays apart from the per-spw files.
    assert_ne!(plane.group_key(), sim_cube.group_key());
    let plane_rms =
        ok("VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.rms.subim.fits");
    assert_eq!(plane_rms.image_type, ImageType::ImageRms);
    assert_eq!(plane_rms.group_key(), plane.group_key());
}

#[test]
fn stokes_v_average_has_no_version() {
    let p = ok("VLASS2.1.cc.T10t02.J005000-023000.06.2048.V_mean_minmaxrej.subim.fits");
    assert_eq!(p.image_type, ImageType::VMeanMinMaxRej);
    assert_eq!(p.version, 0);
    assert_eq!(p.stokes, "V");
    assert_eq!(p.group_key(), "VLASS2.1.cc.T10t02.J005000-023000.06.2048.V");
    let json = serde_json::to_value(&p).expect("serializes");
    assert!(json["version"].is_null());
}

#[test]
fn legacy_layouts() {
    let cube = ok("VLASS1.1.cc.T29t05.J110448+763000.10.2048.v1.fits");
    assert!(cube.legacy);
    assert_eq!(cube.image_type, ImageType::LegacyCube);
    assert_eq!(cube.stokes, "");
    let cat = ok("VLASS1.1.cat.T29t05.J110448+763000.10.2048.v1.csv");
    assert_eq!(cat.kind, Kind::LegacyCatalogue);
    assert_eq!(cat.image_type, ImageType::Catalog);
    assert_eq!(cube.phase_center_deg(), cat.phase_center_deg());
}

#[test]
fn suffixes_and_prefixes() {
    let gz = ok("VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.pb.tt0.subim.fits.gz");
    assert!(gz.gzip && !gz.header_only);
    let header = ok(
        "VLASS1.2.ql.T23t09.J083851+483000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits.header",
    );
    assert!(header.header_only);
    let prefixed = ok("s13_0.VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.tt0.fits");
    assert_eq!(prefixed.working_prefix.as_deref(), Some("s13_0"));
    assert!(!prefixed.pbcor && !prefixed.subim);
    let unprefixed = ok("VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.tt0.fits");
    assert_eq!(prefixed.group_key(), unprefixed.group_key());
    let with_dir = ok("quicklook/VLASS1.2v2/T23t09/VLASS1.2.ql.T23t09.J083851+483000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits");
    assert_eq!(with_dir.epoch, "VLASS1.2");
    assert!(with_dir.file_name.starts_with("VLASS1.2.ql"));
}

#[test]
fn versions_make_different_products() {
    let v1 = ok("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits");
    let v2 =
        ok("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v2.I.iter1.image.pbcor.tt0.rms.subim.fits");
    assert_eq!(v2.version, 2);
    assert_ne!(v1.group_key(), v2.group_key());
}

#[test]
fn phase_centre_in_degrees() {
    let p = ok("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits");
    let (ra, dec) = p.phase_center_deg();
    // 07h54m02s = 118.508333 deg, -03d30m00s = -3.5 deg.
    assert!((ra - 118.508_333_333).abs() < 1e-6, "{ra}");
    assert!((dec + 3.5).abs() < 1e-12, "{dec}");
}

#[test]
fn serializes_for_annotation_json() {
    let p = ok("VLASS2.1.cc.T10t35.J230600-003000.06.2048.v1.spw10.IQU.iter3.image.pbcor.tt0.rms.subim.fits");
    let json = serde_json::to_value(&p).expect("serializes");
    assert_eq!(json["epoch"], "VLASS2.1");
    assert_eq!(json["kind"], "CC");
    assert_eq!(json["tile"], "T10t35");
    assert_eq!(json["phase_center"], "J230600-003000");
    assert_eq!(json["version"], 1);
    assert_eq!(json["stokes"], "IQU");
    assert_eq!(json["iteration"], 3);
    assert_eq!(json["image_type"], "tt0.rms");
    assert_eq!(json["spw"], 10);
    assert_eq!(json["cell_arcsec"], 0.6);
    assert_eq!(json["bandwidth_mhz"], 2048);
}

#[test]
fn header_product_type_values() {
    assert_eq!(Kind::from_vlasspt("QL"), Some(Kind::QuickLook));
    assert_eq!(Kind::from_vlasspt("VLASS-SE-CONT"), Some(Kind::SingleEpoch));
    assert_eq!(Kind::from_vlasspt("vlass-se-cube "), Some(Kind::CoarseCube));
    assert_eq!(Kind::from_vlasspt("SE-CUBE"), None);
}

#[test]
fn rejects_with_a_reason() {
    let ql = "VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits";
    let cases: &[(&str, &str)] = &[
        ("", "empty file name"),
        ("casa-20261125-133037.log", "extension '.log'"),
        ("image.fits", "does not start with VLASS"),
        ("NVSS.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "does not start with VLASS"),
        ("VLASS1.1.fits", "ends before the product type"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.fits", "ends before the version"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.fits", "ends before the image type"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.fits", "needs Stokes and image type"),
        ("VLASS0.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "VLASS1..VLASS9"),
        ("VLASS12.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "VLASS1..VLASS9"),
        ("VLASS1.3.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "campaign half must be 1 or 2"),
        ("VLASS1.2v2.ql.T23t09.J083851+483000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "archive directory"),
        ("VLASS1.1.xx.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "product type 'xx'"),
        ("VLASS1.1.ql.T1t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "tile field 'T1t12'"),
        ("VLASS1.1.ql.T10t12.J0754-0330.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "phase-centre field"),
        ("VLASS1.1.ql.T10t12.J250000-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "out of range"),
        ("VLASS1.1.ql.T10t12.J075402-913000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "out of range"),
        ("VLASS1.1.ql.T10t12.J075402-033000.1.2048.v1.I.iter1.image.pbcor.tt0.subim.fits", "cell-size field '1'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2GHz.v1.I.iter1.image.pbcor.tt0.subim.fits", "bandwidth field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.version1.I.iter1.image.pbcor.tt0.subim.fits", "version field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v0.I.iter1.image.pbcor.tt0.subim.fits", "version field 'v0'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.RR.iter1.image.pbcor.tt0.subim.fits", "Stokes field 'RR'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iterX.image.pbcor.tt0.subim.fits", "iteration field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.mask.fits", "unknown image type 'mask'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt2.subim.fits", "only tt0 and tt1"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.ttx.subim.fits", "Taylor-term field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.extra.fits", "unexpected field(s) 'extra'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim..fits", "empty field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits.", "empty field"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.csv", "must end in .fits"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits.header.txt", "extension '.txt'"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.com.fits", "only in coarse-cube"),
        ("VLASS1.1.ql.T10t12.J075402-033000.10.2048.v1.spw3.I.iter1.image.pbcor.tt0.subim.fits", "only in coarse-cube"),
        ("VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spwX.IQU.iter3.image.pbcor.tt0.subim.fits", "spectral-window field 'spwX'"),
        ("VLASS2.1.se.T10t02.J005000-023000.06.2048.V_mean_minmaxrej.subim.fits", "only in coarse-cube"),
        ("VLASS2.1.se.T11t35.J231002+033000.06.2048.v1.I.catalog.fits", "must end in .csv"),
        ("VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.alpha.rms.subim.fits", "unexpected field(s) 'rms.subim' after the alpha"),
        ("VLASS1.1.cat.T29t05.J110448+763000.10.2048.v1.fits", "must end in .csv"),
        ("VLASS1.1.cat.T29t05.J110448+763000.10.2048.v1.I.csv", "extra fields"),
    ];
    for (name, expected) in cases {
        let why = reason(name);
        assert!(
            why.contains(expected),
            "{name}: got '{why}', wanted '{expected}'"
        );
    }
    // Display puts the reason after a fixed lead-in, on one line.
    let shown = parse(&ql.replace("ql", "qq"))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(shown.starts_with("not a VLASS product name: "));
    assert!(!shown.contains('\n'));
}

#[test]
fn truncations_of_a_real_name_never_panic() {
    // Every prefix of every real name (cut at any byte, also inside multi-byte-free ASCII)
    // gives either a value or an error, never a panic; most are errors.
    for name in ARCHIVE_NAMES.iter().chain(SIMULATION_NAMES) {
        for cut in 0..name.len() {
            let _ = parse(&name[..cut]);
        }
    }
    assert!(parse("VLASS2.1.se.T10t01.J000200-0030").is_err());
    assert!(
        parse("VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fi")
            .is_err()
    );
    assert!(parse(
        "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits.g"
    )
    .is_err());
    // Non-ASCII text where fields are expected is an error too.
    assert!(
        parse("VLASS1.1.ql.T1\u{e9}2.J075402-033000.10.2048.v1.I.iter1.image.tt0.fits").is_err()
    );
    assert!(
        parse("VLASS1.1.ql.T10t12.J07540\u{e9}033000.10.2048.v1.I.iter1.image.tt0.fits").is_err()
    );
}

/// When the simulation tree sits beside the repository, every product name in it parses.
#[test]
fn simulation_tree_names_parse_when_present() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/casa-sim");
    for sub in ["ql", "se", "cube"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only the products themselves: other tools may leave logs beside them.
            let product = name.ends_with(".fits") || name.ends_with(".fits.gz");
            if name.starts_with("VLASS") && product {
                ok(&name);
                assert!(
                    SIMULATION_NAMES.contains(&name.as_str()),
                    "new name {name}: add it to SIMULATION_NAMES"
                );
            }
        }
    }
}
