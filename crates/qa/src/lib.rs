//! Image QA: rules and thresholds per product kind turning metrics into
//! pass/warn/fail verdicts with reasons, plus the two writers QA needs:
//! in-place FITS header annotation and PNG previews.

pub mod header_write;
pub mod keywords;
pub mod measure;
pub mod metrics;
pub mod output;
pub mod planes;
pub mod preview;
pub mod report;
pub mod rules;
pub mod thresholds;
pub mod verdict;
