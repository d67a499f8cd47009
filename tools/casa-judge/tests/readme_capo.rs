//! The README's CAPO examples that run casa-judge (see `tests/readme_capo_examples.rs`).

#[path = "../../../tests/readme_capo_examples.rs"]
mod readme_capo_examples;

#[test]
fn readme_capo_examples_work() {
    let ran =
        readme_capo_examples::run_examples("casa-judge", env!("CARGO_BIN_EXE_casa-judge").as_ref());
    assert!(
        ran > 0,
        "the README's CAPO section shows no casa-judge example"
    );
}
