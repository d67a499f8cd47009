//! Image reading on hand-made files: axes in any order, plane numbering,
//! scaling and blanks, header and table beams. (The real CASA cut-outs are
//! checked against astropy in `tests/astropy_images.rs`.)

use crate::testutil::*;
use crate::{Beam, Image};

fn write_image(
    name: &str,
    cards: &[String],
    data: Vec<u8>,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut bytes = header_bytes(cards);
    bytes.extend(data_bytes(data));
    temp_file(name, &bytes)
}

#[test]
fn two_axis_image_with_dec_before_ra_is_transposed() {
    // NAXIS1 = Dec (3 long), NAXIS2 = RA (4 long); value = 10 * ra_index + dec_index.
    let mut cards = image_cards(-32, &[3, 4]);
    cards.extend(sky_cards(2, 1));
    let values = (0..4).flat_map(|ra| (0..3).map(move |dec| (10 * ra + dec) as f32));
    let (_dir, path) = write_image("t.fits", &cards, f32_bytes(values));
    let mut image = Image::open(&path).unwrap();
    assert_eq!((image.nx(), image.ny(), image.plane_count()), (4, 3, 1));
    assert_eq!(image.celestial_axes(), (1, 0));
    let plane = image.read_plane(0).unwrap();
    assert_eq!(plane.dim(), (3, 4));
    assert_eq!(plane[[2, 3]], 32.0);
    assert_eq!(plane[[1, 0]], 1.0);
    assert_eq!(image.planes()[0].frequency_hz, None);
    assert_eq!(image.beam(), None);
    assert_eq!(image.wcs().unwrap().celestial_axes(), (1, 0));
}

#[test]
fn planes_of_a_cube_with_axes_in_unusual_order() {
    // Axes: FREQ (2), RA (3), STOKES (2), DEC (2); value encodes all four indices.
    let mut cards = image_cards(-32, &[2, 3, 2, 2]);
    cards.extend(sky_cards(2, 4));
    cards.push(text_card("CTYPE1", "FREQ"));
    cards.push(card("CRVAL1", "1.5"));
    cards.push(card("CDELT1", "0.25"));
    cards.push(card("CRPIX1", "1.0"));
    cards.push(text_card("CUNIT1", "GHz"));
    cards.push(text_card("CTYPE3", "STOKES"));
    cards.push(card("CRVAL3", "1.0"));
    cards.push(card("CDELT3", "1.0"));
    cards.push(card("CRPIX3", "1.0"));
    cards.push(card("BMAJ", "1.0E-03"));
    cards.push(card("BMIN", "5.0E-04"));
    cards.push(card("BPA", "-12.5"));
    let mut values = Vec::new();
    for dec in 0..2 {
        for stokes in 0..2 {
            for ra in 0..3 {
                for freq in 0..2 {
                    values.push((1000 * dec + 100 * stokes + 10 * ra + freq) as f32);
                }
            }
        }
    }
    let (_dir, path) = write_image("cube.fits", &cards, f32_bytes(values));
    let mut image = Image::open(&path).unwrap();
    assert_eq!((image.nx(), image.ny(), image.plane_count()), (3, 2, 4));
    let beam = Beam {
        bmaj_arcsec: 3.6,
        bmin_arcsec: 1.8,
        bpa_deg: -12.5,
    };
    let info: Vec<_> = image
        .planes()
        .iter()
        .map(|p| (p.index, p.frequency_hz, p.stokes, p.beam))
        .collect();
    let close = |a: Option<Beam>| {
        let a = a.unwrap();
        (a.bmaj_arcsec - beam.bmaj_arcsec).abs() < 1e-9
            && (a.bmin_arcsec - beam.bmin_arcsec).abs() < 1e-9
    };
    assert!(info.iter().all(|i| close(i.3)));
    // The first non-celestial axis (FREQ) varies fastest.
    assert_eq!(info[1].1, Some(1.75e9));
    assert_eq!(info[2].1, Some(1.5e9));
    assert_eq!(
        (info[0].2, info[1].2, info[2].2, info[3].2),
        (Some(1), Some(1), Some(2), Some(2))
    );
    for index in 0..4 {
        let (freq, stokes) = (index % 2, index / 2);
        let plane = image.read_plane(index).unwrap();
        assert_eq!(plane.dim(), (2, 3));
        for dec in 0..2 {
            for ra in 0..3 {
                let expected = (1000 * dec + 100 * stokes + 10 * ra + freq) as f32;
                assert_eq!(plane[[dec, ra]], expected, "plane {index} at ({ra}, {dec})");
            }
        }
    }
}

#[test]
fn bscale_bzero_and_blank_of_an_integer_image() {
    let mut cards = image_cards(16, &[3, 2]);
    cards.extend(sky_cards(1, 2));
    cards.push(card("BSCALE", "0.5"));
    cards.push(card("BZERO", "10.0"));
    cards.push(card("BLANK", "-32768"));
    let raw: [i16; 6] = [0, 2, -32768, 4, -2, 100];
    let data = raw.iter().flat_map(|v| v.to_be_bytes()).collect();
    let (_dir, path) = write_image("int.fits", &cards, data);
    let plane = Image::open(&path).unwrap().read_plane(0).unwrap();
    assert_eq!(plane[[0, 0]], 10.0);
    assert_eq!(plane[[0, 1]], 11.0);
    assert!(plane[[0, 2]].is_nan());
    assert_eq!(plane[[1, 0]], 12.0);
    assert_eq!(plane[[1, 1]], 9.0);
    assert_eq!(plane[[1, 2]], 60.0);
}

#[test]
fn nan_pixels_of_a_float_image_stay_nan() {
    let mut cards = image_cards(-32, &[2, 2]);
    cards.extend(sky_cards(1, 2));
    let (_dir, path) = write_image("nan.fits", &cards, f32_bytes([1.0, f32::NAN, 3.0, 4.0]));
    let plane = Image::open(&path).unwrap().read_plane(0).unwrap();
    assert!(plane[[0, 1]].is_nan());
    assert_eq!(plane[[1, 1]], 4.0);
}

/// A CASA-style BEAMS table HDU: rows of (bmaj, bmin, bpa, chan, pol).
fn beams_hdu(rows: &[(f32, f32, f32, i32, i32)], size_unit: &str) -> Vec<u8> {
    let mut cards = vec![
        text_card("XTENSION", "BINTABLE"),
        card("BITPIX", "8"),
        card("NAXIS", "2"),
        card("NAXIS1", "20"),
        card("NAXIS2", &rows.len().to_string()),
        card("PCOUNT", "0"),
        card("GCOUNT", "1"),
        card("TFIELDS", "5"),
        text_card("EXTNAME", "BEAMS"),
    ];
    for (i, (name, form, unit)) in [
        ("BMAJ", "1E", size_unit),
        ("BMIN", "1E", size_unit),
        ("BPA", "1E", "deg"),
        ("CHAN", "1J", ""),
        ("POL", "1J", ""),
    ]
    .iter()
    .enumerate()
    {
        cards.push(text_card(&format!("TTYPE{}", i + 1), name));
        cards.push(text_card(&format!("TFORM{}", i + 1), form));
        if !unit.is_empty() {
            cards.push(text_card(&format!("TUNIT{}", i + 1), unit));
        }
    }
    let mut data = Vec::new();
    for &(bmaj, bmin, bpa, chan, pol) in rows {
        data.extend(bmaj.to_be_bytes());
        data.extend(bmin.to_be_bytes());
        data.extend(bpa.to_be_bytes());
        data.extend(chan.to_be_bytes());
        data.extend(pol.to_be_bytes());
    }
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(data));
    bytes
}

/// RA, DEC, FREQ (2), STOKES (2) image with CASAMBM = T and the given table.
fn multibeam_file(table: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut cards = image_cards(-32, &[2, 2, 2, 2]);
    cards.extend(sky_cards(1, 2));
    cards.push(card("EXTEND", "T"));
    cards.push(card("CASAMBM", "T"));
    cards.push(text_card("CTYPE3", "FREQ"));
    cards.push(card("CRVAL3", "2.0E9"));
    cards.push(card("CDELT3", "1.0E9"));
    cards.push(card("CRPIX3", "1.0"));
    cards.push(text_card("CTYPE4", "STOKES"));
    cards.push(card("CRVAL4", "1.0"));
    cards.push(card("CDELT4", "3.0"));
    cards.push(card("CRPIX4", "1.0"));
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(f32_bytes((0..16).map(|v| v as f32))));
    bytes.extend_from_slice(table);
    temp_file("multibeam.fits", &bytes)
}

#[test]
fn beams_table_gives_each_channel_and_stokes_its_beam() {
    // Rows out of order, sizes in degrees (converted to arcsec).
    let rows = [
        (2.0 / 3600.0, 1.0 / 3600.0, 10.0, 1, 0),
        (4.0 / 3600.0, 3.0 / 3600.0, 20.0, 0, 0),
        (6.0 / 3600.0, 5.0 / 3600.0, 30.0, 0, 1),
        (8.0 / 3600.0, 7.0 / 3600.0, 40.0, 1, 1),
    ];
    let (_dir, path) = multibeam_file(&beams_hdu(&rows, "deg"));
    let mut image = Image::open(&path).unwrap();
    assert_eq!(image.beam(), None);
    let got: Vec<_> = image
        .planes()
        .iter()
        .map(|p| {
            let b = p.beam.unwrap();
            (
                p.frequency_hz.unwrap(),
                p.stokes.unwrap(),
                b.bmaj_arcsec,
                b.bmin_arcsec,
                b.bpa_deg,
            )
        })
        .collect();
    let expected = [
        (2e9, 1, 4.0, 3.0, 20.0),
        (3e9, 1, 2.0, 1.0, 10.0),
        (2e9, 4, 6.0, 5.0, 30.0),
        (3e9, 4, 8.0, 7.0, 40.0),
    ];
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!((g.0, g.1), (e.0, e.1));
        assert!(
            (g.2 - e.2).abs() < 1e-4 && (g.3 - e.3).abs() < 1e-4 && (g.4 - e.4).abs() < 1e-6,
            "{g:?} vs {e:?}"
        );
    }
    // Reading pixels after the table still reads the primary image.
    assert_eq!(image.read_plane(3).unwrap()[[1, 1]], 15.0);
}

#[test]
fn beams_table_problems_are_reported() {
    let rows = [
        (2.0, 1.0, 10.0, 0, 0),
        (2.0, 1.0, 10.0, 1, 0),
        (2.0, 1.0, 10.0, 0, 1),
    ];
    let (_dir, path) = multibeam_file(&beams_hdu(&rows, "arcsec"));
    let e = Image::open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 1: BEAMS table has no row for channel 1, polarization 1",
            path.display()
        )
    );

    let (_dir, path) = multibeam_file(&beams_hdu(&rows, "furlong"));
    let e = Image::open(&path).unwrap_err();
    assert_eq!(e.keyword_name(), Some("TUNIT1"));

    let (_dir, path) = multibeam_file(&[]);
    let e = Image::open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: keyword CASAMBM: is T but the file has no BEAMS table",
            path.display()
        )
    );
}

/// A 4 x 3 x 2 x 3 cube (RA, Dec, FREQ, STOKES) whose pixels include every kind of
/// special float32: NaN, infinities, zeros of both signs, subnormals, extremes.
fn cube_with_special_values() -> (Vec<String>, Vec<u8>) {
    let mut cards = image_cards(-32, &[4, 3, 2, 3]);
    cards.extend(sky_cards(1, 2));
    cards.push(text_card("CTYPE3", "FREQ"));
    cards.push(card("CRVAL3", "3.0E9"));
    cards.push(card("CDELT3", "1.0E9"));
    cards.push(card("CRPIX3", "1.0"));
    cards.push(text_card("CTYPE4", "STOKES"));
    cards.push(card("CRVAL4", "1.0"));
    cards.push(card("CDELT4", "1.0"));
    cards.push(card("CRPIX4", "1.0"));
    let specials = [
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1e-45,
        -1e-40,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
    ];
    let values = (0..4 * 3 * 2 * 3).map(|i| {
        if i % 5 == 0 {
            specials[(i / 5) % specials.len()]
        } else {
            i as f32 * -1.25e-4
        }
    });
    (cards, f32_bytes(values))
}

#[test]
fn plain_float_planes_equal_cfitsio_planes_bit_for_bit() {
    // The uncompressed file takes the direct read; its gzip copy goes through cfitsio.
    let (cards, data) = cube_with_special_values();
    let (_dir, plain) = write_image("plain.fits", &cards, data.clone());
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(data));
    let (_gz_dir, compressed) = temp_file("cube.fits.gz", &gzip(&bytes));
    let mut direct = Image::open(&plain).unwrap();
    let mut through_cfitsio = Image::open(&compressed).unwrap();
    assert_eq!(direct.plane_count(), 6);
    for index in 0..6 {
        let a = direct.read_plane(index).unwrap();
        let b = through_cfitsio.read_plane(index).unwrap();
        let bits = |p: &ndarray::Array2<f32>| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "plane {index}");
    }
    // cfitsio turns infinities into NaN and subnormals into zero; so does the direct read.
    let first = direct.read_plane(0).unwrap();
    assert!(first[[1, 1]].is_nan(), "infinity read as {}", first[[1, 1]]);
    assert!(first
        .iter()
        .all(|v| v.is_nan() || v.is_normal() || *v == 0.0));
}

#[test]
fn mapped_planes_decode_to_the_planes_read() {
    let (cards, data) = cube_with_special_values();
    let (_dir, plain) = write_image("plain.fits", &cards, data.clone());
    let mut image = Image::open(&plain).unwrap();
    let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for index in 0..image.plane_count() {
        let mapped = image
            .map_plane(index)
            .unwrap()
            .expect("plain float32 is mapped");
        assert_eq!((mapped.nx(), mapped.ny(), mapped.len()), (4, 3, 12));
        let mut whole = vec![1f32; 12];
        mapped.decode(0, &mut whole);
        let read = image.read_plane(index).unwrap();
        assert_eq!(
            bits(&whole),
            bits(read.as_slice().unwrap()),
            "plane {index}"
        );
        // Any sub-range decodes to the same pixels.
        let mut part = vec![1f32; 5];
        mapped.decode(6, &mut part);
        assert_eq!(bits(&part), bits(&whole[6..11]), "plane {index}");
    }
    assert!(image.map_plane(6).is_err());
    // A compressed file, and one with Dec before RA, are read instead.
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(data));
    let (_gz_dir, compressed) = temp_file("cube.fits.gz", &gzip(&bytes));
    assert!(Image::open(&compressed)
        .unwrap()
        .map_plane(0)
        .unwrap()
        .is_none());
    let mut swapped = image_cards(-32, &[3, 4]);
    swapped.extend(sky_cards(2, 1));
    let (_swapped_dir, swapped) = write_image(
        "swapped.fits",
        &swapped,
        f32_bytes((0..12).map(|i| i as f32)),
    );
    assert!(Image::open(&swapped)
        .unwrap()
        .map_plane(0)
        .unwrap()
        .is_none());
}

#[test]
fn vectorised_decoding_equals_the_plain_loop_bit_for_bit() {
    let (_, data) = cube_with_special_values();
    let mut raws = data.clone();
    // Every exponent and sign, with mantissas that are not all zero.
    for e in 0..=255u32 {
        for sign in [0u32, 1] {
            raws.extend(((sign << 31) | (e << 23) | ((e * 2_654_435) & 0x7f_ffff)).to_be_bytes());
        }
    }
    let n = raws.len() / 4;
    let (mut fast, mut plain) = (vec![1f32; n], vec![2f32; n]);
    crate::image::decode_run(&mut fast, &raws);
    crate::image::decode_run_plain(&mut plain, &raws);
    let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fast), bits(&plain));
    assert!(plain
        .iter()
        .all(|v| v.is_nan() || v.is_normal() || v.to_bits() == 0));
}

#[test]
fn file_cut_short_after_open_is_reported_as_truncated() {
    let (cards, data) = cube_with_special_values();
    let (_dir, path) = write_image("cut.fits", &cards, data);
    let mut image = Image::open(&path).unwrap();
    // Keep the header and the first five planes of 4 x 3 pixels, and part of the sixth.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(2880 + 5 * 12 * 4 + 10).unwrap();
    let e = image.read_plane(5).unwrap_err();
    assert!(e.problem().starts_with("truncated"), "{e}");
    let e = image.map_plane(5).unwrap_err();
    assert!(e.problem().starts_with("truncated"), "{e}");
    assert!(image.read_plane(0).is_ok());
    assert!(image.map_plane(0).unwrap().is_some());
}

/// In a child process (this test binary run again with `CHILD_ENV` set): install the guard,
/// map a plane, cut the file short under the map, then touch the lost pages.
#[test]
fn plane_truncated_while_mapped_ends_in_one_error_line() {
    const CHILD_ENV: &str = "VLASS_FITS_TRUNCATED_MAP_CHILD";
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let path = std::path::PathBuf::from(path);
        assert!(crate::exit_cleanly_on_truncated_maps("fits-test", 2));
        let image = Image::open(&path).unwrap();
        let mapped = image
            .map_plane(0)
            .unwrap()
            .expect("plain float32 is mapped");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(2880).unwrap();
        let mut out = vec![0f32; mapped.len()];
        mapped.decode(0, &mut out);
        unreachable!("the truncated pages were read: {}", out[0]);
    }
    // Planes of several pages, so the data lies past the first page of the file.
    let (nx, ny) = (256, 64);
    let mut cards = image_cards(-32, &[nx, ny]);
    cards.extend(sky_cards(1, 2));
    let (dir, path) = write_image(
        "cut.fits",
        &cards,
        f32_bytes((0..nx * ny).map(|i| i as f32)),
    );
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "image_tests::plane_truncated_while_mapped_ends_in_one_error_line",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "child: {stderr}");
    let expected = format!(
        "fits-test: {}: the file was truncated by another process while it was being read",
        path.display()
    );
    assert!(stderr.lines().any(|l| l == expected), "child: {stderr}");
    drop(dir);
}
