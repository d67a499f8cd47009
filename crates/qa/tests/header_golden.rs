//! Golden check of the header writer against astropy (see
//! `scripts/golden-qa-writers.sh`): astropy wrote `testdata/header/input.fits`
//! and `cards.json`; our writer's result on them is `annotated.fits`, which
//! astropy re-opened, verified and described in `annotated.astropy.json`.
//! This test re-runs the writer, requires the very same bytes, and checks
//! that astropy read every card as intended and every HDU's data unchanged.
//! With `VLASS_QA_BLESS_GOLDEN=1` it (re)writes `annotated.fits` instead.
//! A second test re-opens the writer's output with `vlass_fits` (cfitsio).

use std::fs;
use std::path::PathBuf;

use serde_json::Value;
use vlass_qa::header_write::{annotate_in_place, CardValue, HeaderCard};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/header")
}

fn read_json(name: &str) -> Value {
    let text = fs::read_to_string(golden_dir().join(name)).expect("golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The cards of `cards.json`; reals are stored as Python `repr` text so that
/// they parse to exactly the same `f64`.
fn intended_cards() -> Vec<HeaderCard> {
    let cards = read_json("cards.json");
    cards
        .as_array()
        .expect("list")
        .iter()
        .map(|c| {
            let value = match str_field(c, "type") {
                "real" => CardValue::Real(str_field(c, "value").parse().expect("real")),
                "int" => CardValue::Int(c["value"].as_i64().expect("int")),
                "str" => CardValue::Str(str_field(c, "value").to_string()),
                "bool" => CardValue::Bool(c["value"].as_bool().expect("bool")),
                other => panic!("unknown type {other}"),
            };
            HeaderCard::new(str_field(c, "key"), value, str_field(c, "comment"))
        })
        .collect()
}

#[test]
fn astropy_reads_our_annotation_as_intended() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("input.fits");
    fs::copy(golden_dir().join("input.fits"), &work).unwrap();
    let cards = intended_cards();
    let report = annotate_in_place(&work, &cards).expect("annotate");
    let ours = fs::read(&work).unwrap();
    let golden_path = golden_dir().join("annotated.fits");
    if std::env::var_os("VLASS_QA_BLESS_GOLDEN").is_some() {
        fs::write(&golden_path, &ours).unwrap();
        return;
    }
    assert_eq!(
        ours,
        fs::read(&golden_path).expect("annotated.fits"),
        "writer output changed; rerun scripts/golden-qa-writers.sh and review"
    );

    let astropy = read_json("annotated.astropy.json");
    assert_eq!(astropy["verify"], "ok");
    assert_eq!(astropy["hdus_equal"], true, "astropy sees changed data");
    assert_eq!(str_field(&astropy, "data_sha256"), report.data_sha256);
    assert_eq!(str_field(&astropy, "input_data_sha256"), report.data_sha256);
    assert_eq!(astropy["input_header_blocks"], report.header_blocks_before);
    assert_eq!(astropy["header_blocks"], report.header_blocks_after);
    assert!(report.header_blocks_after > report.header_blocks_before);
    assert_eq!(report.updated, ["VLASSPK", "VLASSPL"]);

    let seen = astropy["cards"].as_array().expect("cards");
    assert_eq!(seen.len(), cards.len());
    for (card, read) in cards.iter().zip(seen) {
        assert_eq!(str_field(read, "key"), card.key);
        assert_eq!(read["count"], 1, "{} duplicated", card.key);
        let as_read = &read["value"];
        match &card.value {
            CardValue::Real(x) => {
                assert_eq!(str_field(read, "type"), "float");
                let back: f64 = as_read.as_str().expect("repr").parse().expect("float");
                assert_eq!(back.to_bits(), x.to_bits(), "{}", card.key);
            }
            CardValue::Int(i) => assert_eq!(as_read.as_i64(), Some(*i), "{}", card.key),
            CardValue::Str(s) => assert_eq!(as_read.as_str(), Some(s.as_str()), "{}", card.key),
            CardValue::Bool(b) => assert_eq!(as_read.as_bool(), Some(*b), "{}", card.key),
        }
        // A comment is only ever cut where the 80 columns run out.
        let comment = str_field(read, "comment");
        let line = ours
            .chunks(80)
            .find(|c| c.starts_with(format!("{:<8}=", card.key).as_bytes()))
            .expect("card in our header");
        let columns_used = line.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        assert!(
            comment == card.comment || (card.comment.starts_with(comment) && columns_used > 76),
            "{}: comment {comment:?}",
            card.key
        );
    }
}

/// The same annotation, plain and gzip-compressed, re-opened with
/// `vlass_fits` (cfitsio underneath): the keywords read back as written and
/// the pixels are bit-identical to the original's.
#[test]
fn vlass_fits_reads_annotated_plain_and_gzip_files() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let input = golden_dir().join("input.fits");
    let plain = dir.path().join("a.fits");
    fs::copy(&input, &plain).unwrap();
    let gz = dir.path().join("a.fits.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&fs::read(&input).unwrap()).unwrap();
    fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let cards = intended_cards();

    let mut original = vlass_fits::Image::open(&input).expect("open input");
    let pixels = original.read_plane(0).expect("input pixels");
    for path in [&plain, &gz] {
        annotate_in_place(path, &cards).expect("annotate");
        vlass_fits::verify_file(path).expect("verify_file");
        let mut image = vlass_fits::Image::open(path).expect("open annotated");
        let header = image.header();
        for card in &cards {
            match &card.value {
                CardValue::Real(x) => {
                    let back = header.get_f64(&card.key).expect("real");
                    assert_eq!(back.to_bits(), x.to_bits(), "{}", card.key);
                }
                CardValue::Int(i) => assert_eq!(header.get_i64(&card.key).ok(), Some(*i)),
                CardValue::Str(s) => assert_eq!(header.get_str(&card.key).ok().as_ref(), Some(s)),
                CardValue::Bool(b) => assert_eq!(header.get_bool(&card.key).ok(), Some(*b)),
            }
        }
        let after = image.read_plane(0).expect("annotated pixels");
        assert_eq!(after.dim(), pixels.dim());
        assert!(after
            .iter()
            .zip(pixels.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
