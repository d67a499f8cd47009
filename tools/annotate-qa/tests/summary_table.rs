//! The operator's summary table.

mod common;
use common::*;

/// One product found in two directories gives two rows, told apart by directory.
#[test]
fn a_product_in_two_directories_is_two_rows_named_by_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits";
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::copy(
            testdata("images").join(name),
            dir.path().join(sub).join(name),
        )
        .unwrap();
    }
    let json = dir.path().join("qa.json");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let out = run(&[
        "--no-progress",
        "--json",
        json.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("VLASS3.1.ql"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0] != rows[1], "{table}");
    assert!(
        rows.iter().any(|r| r.contains("/a/")) && rows.iter().any(|r| r.contains("/b/")),
        "{table}"
    );
    // A product found once keeps its bare key.
    let out = run(&[
        "--no-progress",
        "--json",
        json.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("VLASS3.1.ql"))
        .expect("a row");
    assert!(row.starts_with("VLASS3.1.ql"), "{table}");
}
