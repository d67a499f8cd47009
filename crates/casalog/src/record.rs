//! One CASA log record: `time TAB priority TAB origin TAB message`, parsed from
//! the raw bytes of one physical line (see the README's "log records" part).
//!
//! Parsing never fails loudly: a line that is not a record gives `None`, and the
//! caller decides what that means. Text fields are decoded lossily, so logs with
//! non-UTF-8 bytes are read as well as clean ones.

use std::borrow::Cow;

/// Length of a record time stamp, `YYYY-MM-DD HH:MM:SS`.
pub const TIME_LEN: usize = 19;

/// The priorities casacore writes into a log file.
const PRIORITIES: [&[u8]; 12] = [
    b"SEVERE",
    b"WARN",
    b"INFO",
    b"INFO1",
    b"INFO2",
    b"INFO3",
    b"INFO4",
    b"INFO5",
    b"DEBUG1",
    b"DEBUG2",
    b"DEBUGGING",
    b"ERROR",
];

/// A parsed log record borrowing the bytes of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub time: &'a [u8],
    /// `SEVERE`, `WARN`, `INFO`, ... (`ERROR` is accepted as a spelling of `SEVERE`).
    pub priority: &'a [u8],
    /// The origin field exactly as written (may end in spaces and a `+` continuation marker).
    pub origin: &'a [u8],
    /// Everything after the third TAB (may itself contain TABs).
    pub message: &'a [u8],
}

impl<'a> Record<'a> {
    /// True for `SEVERE` (and its alias `ERROR`).
    pub fn is_severe(&self) -> bool {
        self.priority == b"SEVERE" || self.priority == b"ERROR"
    }

    /// True for `WARN`.
    pub fn is_warn(&self) -> bool {
        self.priority == b"WARN"
    }

    /// True when the origin carries casacore's continuation marker (`+` at its end).
    pub fn is_continuation(&self) -> bool {
        self.origin.last() == Some(&b'+')
    }

    /// The origin without a continuation marker and without trailing spaces,
    /// so a continuation can be matched with the record it continues.
    pub fn base_origin(&self) -> &'a [u8] {
        let o = self.origin.strip_suffix(b"+").unwrap_or(self.origin);
        trim_end(o)
    }

    /// The time as text.
    pub fn time_text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.time)
    }

    /// The message as text (lossy).
    pub fn message_text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.message)
    }

    /// The origin as text (lossy), trailing spaces removed.
    pub fn origin_text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(trim_end(self.origin))
    }

    /// The priority as text; `ERROR` is reported as `SEVERE`, the way casacore writes it.
    pub fn priority_text(&self) -> &'static str {
        if self.is_severe() {
            "SEVERE"
        } else if self.is_warn() {
            "WARN"
        } else {
            "INFO"
        }
    }
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Removes a trailing `\r` (logs copied through Windows tools end lines in CRLF).
pub fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True when `bytes` starts with a time stamp `YYYY-MM-DD HH:MM:SS`.
pub fn starts_with_time(bytes: &[u8]) -> bool {
    // The shape of a time stamp: `0` stands for any digit. Checked without a
    // branch per byte (this runs several times for each line of interest).
    const SHAPE: &[u8; TIME_LEN] = b"0000-00-00 00:00:00";
    let Some(stamp) = bytes.get(..TIME_LEN) else {
        return false;
    };
    let mut wrong = false;
    for (&b, &want) in stamp.iter().zip(SHAPE) {
        wrong |= if want == b'0' {
            !b.is_ascii_digit()
        } else {
            b != want
        };
    }
    !wrong
}

/// Parses one physical line (without its `\n`; a trailing `\r` is ignored).
pub fn parse_line(line: &[u8]) -> Option<Record<'_>> {
    let line = strip_cr(line);
    if !starts_with_time(line) || line.get(TIME_LEN) != Some(&b'\t') {
        return None;
    }
    let time = &line[..TIME_LEN];
    let rest = &line[TIME_LEN + 1..];
    // A record cut short (the writer died, or the line was damaged) keeps what it
    // has: a SEVERE priority with no origin or message is still a SEVERE record.
    let p_end = memchr::memchr(b'\t', rest).unwrap_or(rest.len());
    let priority = &rest[..p_end];
    if !PRIORITIES.contains(&priority) {
        return None;
    }
    let rest = rest.get(p_end + 1..).unwrap_or_default();
    let o_end = memchr::memchr(b'\t', rest).unwrap_or(rest.len());
    Some(Record {
        time,
        priority,
        origin: &rest[..o_end],
        message: rest.get(o_end + 1..).unwrap_or_default(),
    })
}

/// Finds a record glued into the middle of a line by a second writer appending
/// to the same file (seen in real CASA logs): `... <time> TAB SEVERE TAB ...`.
/// Returns the first such embedded SEVERE or WARN record after the line start.
pub fn find_embedded_record(line: &[u8]) -> Option<Record<'_>> {
    let line = strip_cr(line);
    memchr::memchr_iter(b'\t', line)
        .filter(|&tab| tab > TIME_LEN)
        .filter_map(|tab| parse_line(&line[tab - TIME_LEN..]))
        .find(|rec| rec.is_severe() || rec.is_warn())
}

/// Seconds since 1970-01-01 00:00:00 of a record time `YYYY-MM-DD HH:MM:SS`
/// (proleptic Gregorian calendar, UTC, no leap seconds).
pub fn time_to_seconds(time: &[u8]) -> Option<i64> {
    if !starts_with_time(time) {
        return None;
    }
    let num = |a: usize, b: usize| -> i64 {
        time[a..b]
            .iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'))
    };
    let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
    let (hh, mm, ss) = (num(11, 13), num(14, 16), num(17, 19));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stamp_shape_byte_by_byte() {
        let reference = |bytes: &[u8]| {
            bytes.len() >= TIME_LEN
                && bytes[..TIME_LEN].iter().enumerate().all(|(i, &b)| match i {
                    4 | 7 => b == b'-',
                    10 => b == b' ',
                    13 | 16 => b == b':',
                    _ => b.is_ascii_digit(),
                })
        };
        let good = b"2026-11-25 13:30:58\tINFO".to_vec();
        assert!(starts_with_time(&good));
        for at in 0..good.len() {
            for value in 0..=255u8 {
                let mut bytes = good.clone();
                bytes[at] = value;
                assert_eq!(starts_with_time(&bytes), reference(&bytes), "{at} {value}");
            }
        }
        for len in 0..TIME_LEN {
            assert!(!starts_with_time(&good[..len]));
        }
    }

    #[test]
    fn parses_a_severe_record_with_location_and_tabs_in_message() {
        let line =
            b"2026-11-25 13:30:58\tSEVERE\tagentflagger:: (file a.cc, line 35)\tException: x\ty\r";
        let r = parse_line(line).expect("record");
        assert!(r.is_severe());
        assert_eq!(r.time, b"2026-11-25 13:30:58");
        assert_eq!(r.origin, b"agentflagger:: (file a.cc, line 35)");
        assert_eq!(r.message, b"Exception: x\ty");
    }

    #[test]
    fn rejects_non_records() {
        assert!(parse_line(b"").is_none());
        assert!(parse_line(b"Traceback (most recent call last):").is_none());
        assert!(parse_line(b"2026-11-25 13:30:58\tLOUD\tx\ty").is_none());
        assert!(parse_line(b"2026-11-25T13:30:58\tINFO\tx\ty").is_none());
        assert!(parse_line(b"2026-11-25 13:30:58\tSEVERELY\tx\ty").is_none());
    }

    #[test]
    fn a_record_cut_short_keeps_its_priority() {
        // The writer died mid-record, or the line was damaged: a SEVERE stays SEVERE.
        let r = parse_line(b"2026-11-25 13:30:58\tSEVERE\tflagmanager::agentflagger").unwrap();
        assert!(r.is_severe());
        assert_eq!(r.origin, b"flagmanager::agentflagger");
        assert_eq!(r.message, b"");
        let r = parse_line(b"2026-11-25 13:30:58\tSEVERE\r").unwrap();
        assert!(r.is_severe());
        assert_eq!((r.origin, r.message), (&b""[..], &b""[..]));
        let r = parse_line(b"2026-11-25 13:30:58\tWARN\t").unwrap();
        assert!(r.is_warn());
        let r = parse_line(b"2026-11-25 13:30:58\tINFO\tno-message-field").unwrap();
        assert_eq!(r.message, b"");
    }

    #[test]
    fn continuation_marker_and_base_origin() {
        let r =
            parse_line(b"2026-11-25 13:30:58\tINFO\tflagmanager::agentflagger:: +\tMS").unwrap();
        assert!(r.is_continuation());
        assert_eq!(r.base_origin(), b"flagmanager::agentflagger::");
        let r = parse_line(b"2026-11-25 13:30:58\tINFO\t+\t").unwrap();
        assert!(r.is_continuation());
        assert_eq!(r.base_origin(), b"");
    }

    #[test]
    fn finds_a_record_glued_after_another() {
        let line = b"2026-11-25 13:16:00\tINFO\t::casa\t2026-11-25 13:16:00\tSEVERE\tMeasTable::dUTC(Double)\tLeap second";
        assert!(!parse_line(line).unwrap().is_severe());
        let r = find_embedded_record(line).expect("embedded");
        assert!(r.is_severe());
        assert_eq!(r.message, b"Leap second");
        assert!(
            find_embedded_record(b"2026-11-25 13:16:00\tINFO\t::casa\tplain text 12:00").is_none()
        );
    }

    #[test]
    fn time_conversion_matches_known_epoch_values() {
        // 2026-11-25 00:00:00 UTC is 1795564800 s after the epoch (date -u -d 2026-11-25 +%s).
        assert_eq!(time_to_seconds(b"2026-11-25 00:00:00"), Some(1_795_564_800));
        assert_eq!(time_to_seconds(b"1970-01-01 00:00:01"), Some(1));
        assert_eq!(time_to_seconds(b"2024-02-29 12:00:00"), Some(1_709_208_000));
        assert_eq!(time_to_seconds(b"2024-13-29 12:00:00"), None);
    }
}
