//! Unit tests of the WCS on small hand-written headers; the comparison with
//! astropy lives in `tests/astropy_golden.rs`.

use super::*;
use std::collections::HashMap;

fn header(cards: &[(&str, &str)]) -> HashMap<String, String> {
    cards
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn casa_like() -> HashMap<String, String> {
    header(&[
        ("NAXIS", "4"),
        ("CTYPE1", "RA---SIN"),
        ("CTYPE2", "DEC--SIN"),
        ("CTYPE3", "FREQ"),
        ("CTYPE4", "STOKES"),
        ("CRVAL1", "150.0"),
        ("CRVAL2", "30.0"),
        ("CRPIX1", "513"),
        ("CRPIX2", "513"),
        ("CDELT1", "-1.666666666667E-04"),
        ("CDELT2", "1.666666666667E-04"),
        ("LONPOLE", "180"),
    ])
}

#[test]
fn reference_pixel_maps_to_reference_value() {
    let wcs = Wcs::from_keywords(&casa_like()).unwrap();
    let (ra, dec) = wcs.pixel_to_world(512.0, 512.0).unwrap();
    assert!((ra - 150.0).abs() < 1e-12 && (dec - 30.0).abs() < 1e-12);
    assert!((wcs.pixel_scale_arcsec() - 0.6).abs() < 1e-9);
}

#[test]
fn round_trip_is_exact_to_micro_pixels() {
    let wcs = Wcs::from_keywords(&casa_like()).unwrap();
    for &(x, y) in &[
        (0.0, 0.0),
        (1023.0, 0.0),
        (100.5, 900.25),
        (-5000.0, 7000.0),
    ] {
        let (ra, dec) = wcs.pixel_to_world(x, y).unwrap();
        let (x2, y2) = wcs.world_to_pixel(ra, dec).unwrap();
        assert!(
            (x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6,
            "{x},{y} -> {x2},{y2}"
        );
    }
}

#[test]
fn east_is_left_and_north_is_up_for_negative_cdelt1() {
    let wcs = Wcs::from_keywords(&casa_like()).unwrap();
    let (ra_left, _) = wcs.pixel_to_world(500.0, 512.0).unwrap();
    let (_, dec_up) = wcs.pixel_to_world(512.0, 530.0).unwrap();
    assert!(ra_left > 150.0 && dec_up > 30.0);
    assert!(wcs.north_angle_deg(512.0, 512.0).abs() < 1e-6);
}

#[test]
fn axes_are_found_in_any_order() {
    let mut h = casa_like();
    for (from, to) in [("1", "3"), ("2", "4")] {
        for key in ["CTYPE", "CRVAL", "CRPIX", "CDELT"] {
            let v = h.remove(&format!("{key}{from}")).unwrap();
            h.insert(format!("{key}{to}"), v);
        }
    }
    h.insert("CTYPE1".into(), "FREQ".into());
    h.insert("CTYPE2".into(), "STOKES".into());
    let wcs = Wcs::from_keywords(&h).unwrap();
    assert_eq!(wcs.celestial_axes(), (2, 3));
    let (ra, dec) = wcs.pixel_to_world(512.0, 512.0).unwrap();
    assert!((ra - 150.0).abs() < 1e-12 && (dec - 30.0).abs() < 1e-12);
}

#[test]
fn missing_keywords_are_named() {
    let mut h = casa_like();
    h.remove("CDELT2");
    let err = Wcs::from_keywords(&h).unwrap_err();
    assert_eq!(err.keyword_name(), Some("CDELT2"));
    assert_eq!(
        err.to_string(),
        "keyword CDELT2: missing (needed for the WCS)"
    );

    let mut h = casa_like();
    h.remove("CTYPE1");
    let err = Wcs::from_keywords(&h).unwrap_err();
    assert!(
        err.to_string().contains("no celestial longitude axis"),
        "{err}"
    );

    let mut h = casa_like();
    h.insert("CTYPE1".into(), "RA---ZEA".into());
    h.insert("CTYPE2".into(), "DEC--ZEA".into());
    let err = Wcs::from_keywords(&h).unwrap_err();
    assert!(err.to_string().contains("'ZEA' is not supported"), "{err}");
}

#[test]
fn sin_horizon_is_rejected_both_ways() {
    let wcs = Wcs::from_keywords(&casa_like()).unwrap();
    // 1.2 radians of plane offset is beyond the SIN unit circle.
    let far = 1.2f64.to_degrees() / 1.666666666667E-04;
    assert!(wcs.pixel_to_world(512.0 + far, 512.0).is_none());
    // The antipode of the reference point is on the hidden hemisphere.
    assert!(wcs.world_to_pixel(330.0, -30.0).is_none());
}

#[test]
fn ra_is_normalised_across_zero() {
    let mut h = casa_like();
    h.insert("CRVAL1".into(), "0.0".into());
    let wcs = Wcs::from_keywords(&h).unwrap();
    let (ra_east, _) = wcs.pixel_to_world(400.0, 512.0).unwrap();
    let (ra_west, _) = wcs.pixel_to_world(600.0, 512.0).unwrap();
    assert!(ra_east > 0.0 && ra_east < 1.0, "{ra_east}");
    assert!(ra_west > 359.0 && ra_west < 360.0, "{ra_west}");
    let (x, _) = wcs.world_to_pixel(ra_west - 360.0, 30.0).unwrap();
    assert!((x - 600.0).abs() < 1e-6);
}

#[test]
fn north_angle_follows_a_rotated_pc_matrix() {
    let mut h = casa_like();
    let theta = 37.0f64.to_radians();
    h.insert("PC1_1".into(), theta.cos().to_string());
    h.insert("PC1_2".into(), (-theta.sin()).to_string());
    h.insert("PC2_1".into(), theta.sin().to_string());
    h.insert("PC2_2".into(), theta.cos().to_string());
    let wcs = Wcs::from_keywords(&h).unwrap();
    // North lies along pixel direction (sin 37, cos 37): 37 deg clockwise from +y.
    assert!((wcs.north_angle_deg(512.0, 512.0) + 37.0).abs() < 1e-6);
    // Far from the reference point the meridians converge: the angle changes.
    assert!((wcs.north_angle_deg(0.0, 512.0) + 37.0).abs() > 1e-3);
}

#[test]
fn a_moved_fiducial_point_is_refused() {
    let mut h = casa_like();
    h.insert("PV1_2".into(), "45.0".into());
    let err = Wcs::from_keywords(&h).unwrap_err();
    assert_eq!(err.keyword_name(), Some("PV1_2"));
    let mut h = casa_like();
    h.insert("PV1_2".into(), "90.0".into());
    assert!(Wcs::from_keywords(&h).is_ok());
}

#[test]
fn non_finite_input_gives_none() {
    let wcs = Wcs::from_keywords(&casa_like()).unwrap();
    assert!(wcs.pixel_to_world(f64::NAN, 1.0).is_none());
    assert!(wcs.pixel_to_world(1.0, f64::INFINITY).is_none());
    assert!(wcs.world_to_pixel(f64::NAN, 30.0).is_none());
    assert!(wcs.world_to_pixel(150.0, f64::NAN).is_none());
    assert!(wcs.world_to_pixel(150.0, 91.0).is_none());
}

#[test]
fn a_present_optional_keyword_that_is_not_a_number_is_named() {
    // Each of these defaults when absent; present but unreadable it must not
    // quietly take the default (a rotation lost, the pole moved).
    for (key, value) in [
        ("PC1_2", "abc"),
        ("PC1_1", "NaN"),
        ("PC2_2", "inf"),
        ("CD1_1", "x"),
        ("CROTA2", ""),
        ("LONPOLE", "NAN"),
        ("PV2_1", "?"),
        ("PV1_3", "north"),
    ] {
        let mut h = casa_like();
        h.insert(key.into(), value.into());
        let err = Wcs::from_keywords(&h).unwrap_err();
        assert_eq!(err.keyword_name(), Some(key), "{key} = {value}: {err}");
        assert_eq!(
            err.to_string(),
            format!("keyword {key}: value is not a finite number")
        );
    }
    // A required keyword that is present but unreadable is not "missing".
    let mut h = casa_like();
    h.insert("CRPIX2".into(), "five".into());
    let err = Wcs::from_keywords(&h).unwrap_err();
    assert_eq!(
        err.to_string(),
        "keyword CRPIX2: value is not a finite number"
    );
    // The same keywords with numbers are read as before.
    let mut h = casa_like();
    h.insert("PC1_2".into(), "0.0".into());
    h.insert("CROTA2".into(), "0".into());
    h.insert("PV2_1".into(), "0".into());
    assert!(Wcs::from_keywords(&h).is_ok());
}
