//! Bad input: every broken file gives one clear line, never a panic. The
//! files are built here in a temporary directory.

use std::path::Path;

use crate::testutil::*;
use crate::{verify_file, FitsError, Image};

/// A valid 8 x 6 x 1 x 1 image with a SIN WCS.
fn good_image_bytes() -> Vec<u8> {
    let mut cards = image_cards(-32, &[8, 6, 1, 1]);
    cards.extend(sky_cards(1, 2));
    cards.push(text_card("CTYPE3", "FREQ"));
    cards.push(card("CRVAL3", "3.0E9"));
    cards.push(text_card("CTYPE4", "STOKES"));
    cards.push(card("CRVAL4", "1.0"));
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(f32_bytes((0..48).map(|v| v as f32))));
    bytes
}

/// Opens with both entry points; both must fail, and the message must be one
/// line starting with the path.
fn open_error(path: &Path) -> (FitsError, FitsError) {
    let verify = verify_file(path).expect_err("verify_file must fail");
    let open = Image::open(path).expect_err("Image::open must fail");
    for e in [&verify, &open] {
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.starts_with(&path.display().to_string()), "{text}");
    }
    (verify, open)
}

#[test]
fn the_good_file_opens() {
    let (_dir, path) = temp_file("good.fits", &good_image_bytes());
    let summary = verify_file(&path).unwrap();
    assert_eq!(summary.naxis, vec![8, 6, 1, 1]);
    assert_eq!(summary.data_bytes_expected, 192);
    let mut image = Image::open(&path).unwrap();
    assert_eq!((image.nx(), image.ny(), image.plane_count()), (8, 6, 1));
    assert_eq!(image.read_plane(0).unwrap()[[5, 7]], 47.0);
    let gz = good_image_bytes();
    let (_dir, path) = temp_file("good.fits.gz", &gzip(&gz));
    assert!(verify_file(&path).unwrap().gzip);
    assert_eq!(
        Image::open(&path).unwrap().read_plane(0).unwrap()[[1, 2]],
        10.0
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.fits");
    let (e, _) = open_error(&path);
    assert_eq!(e.problem(), "no such file");
}

#[test]
fn empty_file() {
    let (_dir, path) = temp_file("empty.fits", b"");
    let (e, _) = open_error(&path);
    assert_eq!(e.problem(), "empty file (0 bytes)");
}

#[test]
fn text_file_named_fits() {
    let (_dir, path) = temp_file("notes.fits", b"this is a text file\nwith two lines\n");
    let (e, o) = open_error(&path);
    assert_eq!(
        e.problem(),
        "not a FITS file (does not start with a SIMPLE card)"
    );
    assert_eq!(o.problem(), e.problem());
}

#[test]
fn truncated_data() {
    let bytes = good_image_bytes();
    // Header (1 block) + 100 of the 192 data bytes.
    let (_dir, path) = temp_file("short.fits", &bytes[..2880 + 100]);
    let (e, o) = open_error(&path);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: truncated: data has 100 of the 192 bytes that NAXISn/BITPIX promise",
            path.display()
        )
    );
    assert_eq!(o, e);
    // The same inside gzip: the decompressed length counts.
    let (_dir, path) = temp_file("short.fits.gz", &gzip(&bytes[..2880 + 100]));
    let (e, _) = open_error(&path);
    assert!(
        e.problem()
            .starts_with("truncated: data has 100 of the 192"),
        "{e}"
    );
}

#[test]
fn truncated_header() {
    let bytes = good_image_bytes();
    let (_dir, path) = temp_file("cut.fits", &bytes[..1000]);
    let (e, _) = open_error(&path);
    assert_eq!(e.problem(), "truncated: the primary header has no END card");
}

#[test]
fn no_image_only_a_table() {
    let mut cards = image_cards(8, &[]);
    cards.push(card("EXTEND", "T"));
    let mut bytes = header_bytes(&cards);
    let table = vec![
        text_card("XTENSION", "BINTABLE"),
        card("BITPIX", "8"),
        card("NAXIS", "2"),
        card("NAXIS1", "4"),
        card("NAXIS2", "1"),
        card("PCOUNT", "0"),
        card("GCOUNT", "1"),
        card("TFIELDS", "1"),
        text_card("TTYPE1", "X"),
        text_card("TFORM1", "1E"),
    ];
    bytes.extend(header_bytes(&table));
    bytes.extend(data_bytes(f32_bytes([1.0])));
    let (_dir, path) = temp_file("table.fits", &bytes);
    assert_eq!(verify_file(&path).unwrap().data_bytes_expected, 0);
    let e = Image::open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: no image: the primary HDU has NAXIS = 0 (no image data)",
            path.display()
        )
    );
}

#[test]
fn header_missing_ctype() {
    let mut cards = image_cards(-32, &[4, 4]);
    cards.extend(
        sky_cards(1, 2)
            .into_iter()
            .filter(|c| !c.starts_with("CTYPE1")),
    );
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(f32_bytes([0.0; 16])));
    let (_dir, path) = temp_file("noctype.fits", &bytes);
    verify_file(&path).expect("structurally fine");
    let e = Image::open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: keyword CTYPE1: missing: cannot tell which axes are RA and Dec",
            path.display()
        )
    );
}

#[test]
fn header_missing_cdelt() {
    let mut cards = image_cards(-32, &[4, 4]);
    cards.extend(
        sky_cards(1, 2)
            .into_iter()
            .filter(|c| !c.starts_with("CDELT2")),
    );
    let mut bytes = header_bytes(&cards);
    bytes.extend(data_bytes(f32_bytes([0.0; 16])));
    let (_dir, path) = temp_file("nocdelt.fits", &bytes);
    let image = Image::open(&path).expect("pixels are readable without a WCS");
    let e = image.wcs().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: keyword CDELT2: missing (needed for the WCS)",
            path.display()
        )
    );
}

#[test]
fn corrupt_gzip() {
    let mut bytes = gzip(&good_image_bytes());
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0x5a;
    }
    let (_dir, path) = temp_file("corrupt.fits.gz", &bytes);
    let (e, _) = open_error(&path);
    assert!(
        e.problem().starts_with("corrupt or truncated gzip data"),
        "{e}"
    );

    // A gzip stream cut short.
    let bytes = gzip(&good_image_bytes());
    let (_dir, path) = temp_file("cut.fits.gz", &bytes[..bytes.len() - 20]);
    let (e, _) = open_error(&path);
    assert!(
        e.problem().starts_with("corrupt or truncated gzip data"),
        "{e}"
    );

    // Only the gzip magic bytes.
    let (_dir, path) = temp_file("magic.fits.gz", &[0x1f, 0x8b]);
    let (e, _) = open_error(&path);
    assert!(
        e.problem().starts_with("corrupt or truncated gzip data"),
        "{e}"
    );
}

#[test]
fn directory_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _) = open_error(dir.path());
    assert_eq!(e.problem(), "is a directory, not a FITS file");
}

#[test]
fn simple_false_and_bad_bitpix() {
    let mut cards = image_cards(-32, &[2, 2]);
    cards[0] = card("SIMPLE", "F");
    let (_dir, path) = temp_file("simplef.fits", &header_bytes(&cards));
    let (e, _) = open_error(&path);
    assert_eq!(e.keyword_name(), Some("SIMPLE"));

    let cards = image_cards(12, &[2, 2]);
    let (_dir, path) = temp_file("bitpix.fits", &header_bytes(&cards));
    let (e, _) = open_error(&path);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: HDU 0: keyword BITPIX: 12 is not a valid FITS BITPIX",
            path.display()
        )
    );
}

#[test]
fn plane_out_of_range_is_an_error() {
    let (_dir, path) = temp_file("good.fits", &good_image_bytes());
    let mut image = Image::open(&path).unwrap();
    let e = image.read_plane(1).unwrap_err();
    assert_eq!(
        e.problem(),
        "plane 1 does not exist (the image has 1 planes)"
    );
}

#[test]
fn names_with_cfitsio_syntax_characters_are_taken_literally() {
    for name in ["a[1].fits", "J100000+300000.fits", "x.fits+1", "-.fits"] {
        let (_dir, path) = temp_file(name, &good_image_bytes());
        let mut image = Image::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(image.read_plane(0).unwrap()[[0, 1]], 1.0, "{name}");
    }
}

#[test]
fn every_cut_gives_an_error_not_a_panic() {
    let good = good_image_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.fits");
    // Truncation points all through the header cards and the data.
    for len in (0..good.len()).step_by(19) {
        std::fs::write(&path, &good[..len]).unwrap();
        let opened = Image::open(&path);
        // Only the padding of the last data block may be missing.
        assert_eq!(opened.is_ok(), len >= 2880 + 192, "cut at {len}");
        assert_eq!(
            verify_file(&path).is_ok(),
            len >= 2880 + 192,
            "cut at {len}"
        );
    }
}

#[test]
fn damaged_header_bytes_give_errors_not_panics() {
    let good = good_image_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.fits");
    // Anything may happen except a panic, and a successful open must still read.
    for position in (0..2880).step_by(43) {
        for replacement in [b'\0', b'\'', b'9', 0xff] {
            let mut bytes = good.clone();
            bytes[position] = replacement;
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(mut image) = Image::open(&path) {
                for index in 0..image.plane_count() {
                    let _ = image.read_plane(index);
                }
                let _ = image.wcs();
            }
        }
    }
}

#[test]
fn a_table_with_an_absurd_tfields_is_refused_before_cfitsio_sees_it() {
    // cfitsio sets up one column per TFIELDS on its way to BEAMS: with
    // 10^8 it took 4 GB and minutes. The standard allows at most 999.
    let mut bytes = good_image_bytes();
    let table = |tfields: &str| {
        let cards = vec![
            text_card("XTENSION", "BINTABLE"),
            card("BITPIX", "8"),
            card("NAXIS", "2"),
            card("NAXIS1", "4"),
            card("NAXIS2", "1"),
            card("PCOUNT", "0"),
            card("GCOUNT", "1"),
            card("TFIELDS", tfields),
            text_card("TTYPE1", "X"),
            text_card("TFORM1", "1E"),
            text_card("EXTNAME", "OTHER"),
        ];
        let mut t = header_bytes(&cards);
        t.extend(data_bytes(f32_bytes([1.0])));
        t
    };
    let good = bytes.clone();
    bytes.extend(table("99999999"));
    bytes.extend(table("1"));
    let expected = "HDU 1: keyword TFIELDS: 99999999 is outside the FITS standard's 0..999";
    let (_dir, path) = temp_file("tfields.fits", &bytes);
    let started = std::time::Instant::now();
    let (verify, open) = open_error(&path);
    assert!(started.elapsed().as_secs() < 5);
    for e in [verify, open] {
        assert_eq!(e.to_string(), format!("{}: {expected}", path.display()));
    }
    let (_dir, path) = temp_file("tfields.fits.gz", &gzip(&bytes));
    let (verify, open) = open_error(&path);
    for e in [verify, open] {
        assert_eq!(e.to_string(), format!("{}: {expected}", path.display()));
    }
    // Sound tables after the image still open.
    let mut sound = good;
    sound.extend(table("1"));
    sound.extend(table("999"));
    let (_dir, path) = temp_file("tables.fits", &sound);
    Image::open(&path).unwrap();
    let (_dir, path) = temp_file("tables.fits.gz", &gzip(&sound));
    Image::open(&path).unwrap();
}
