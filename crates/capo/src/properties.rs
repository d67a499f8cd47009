//! Parser for one CAPO `.properties` file, with pycapo's rules (it is Python `configparser`).
//!
//! Accepted: `key = value` and `key: value` (the first `=` or `:` separates; whitespace around
//! key and value is dropped), full-line comments starting with `#` or `;` (a `#` later in a line
//! is part of the value), blank lines, and continuation lines indented deeper than their key
//! line (joined with `\n`). Keys are folded to lower case. Rejected with file and line, where
//! pycapo would also fail or silently lose keys: a line without separator, an empty key, the same
//! key twice in one file, and a `[section]` line. No escapes, no `${other.key}` references; a
//! value that starts with `${env:NAME}` has each `${env:NAME}` replaced by that variable (empty
//! when unset). The file is read as bytes and decoded as UTF-8, invalid bytes replaced.

use crate::error::CapoError;
use crate::keys::canonical;
use crate::locate::Environment;
use std::collections::HashSet;
use std::path::Path;

/// One `key = value` of a file, after continuation joining and `${env:}` expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Lower-case key.
    pub key: String,
    /// Value as the tools see it.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
    /// Set when the value held more than one `${env:` reference: pycapo would give every
    /// reference the first variable's value, we expand each with its own.
    pub several_env_references: bool,
}

/// Parses the text of a properties file. `file` is used in error messages only.
pub fn parse(text: &str, file: &Path, env: &dyn Environment) -> Result<Vec<Property>, CapoError> {
    let mut properties: Vec<Property> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    // The value lines of the property being read, and the indentation of its key line.
    let mut open: Option<(usize, Vec<String>)> = None;

    let syntax = |line: usize, problem: String| CapoError::Syntax {
        file: file.to_path_buf(),
        line,
        problem,
    };

    for (index, raw) in text.split('\n').enumerate() {
        let line_number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let stripped = line.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if stripped.is_empty() {
            if let Some((_, lines)) = open.as_mut() {
                lines.push(String::new());
            }
            continue;
        }
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if let Some((key_indent, lines)) = open.as_mut() {
            if indent > *key_indent {
                lines.push(stripped.to_string());
                continue;
            }
        }
        if let Some((_, lines)) = open.take() {
            close_value(&mut properties, lines, env);
        }
        if stripped.starts_with('[') && stripped[1..].contains(']') {
            return Err(syntax(
                line_number,
                format!("section header '{stripped}' is not allowed in a CAPO file (pycapo would ignore every key after it)"),
            ));
        }
        let Some(separator) = stripped.find(['=', ':']) else {
            return Err(syntax(
                line_number,
                format!("line '{stripped}' has no '=' or ':' between key and value"),
            ));
        };
        let key = canonical(&stripped[..separator]);
        if key.is_empty() {
            return Err(syntax(
                line_number,
                "empty key before the separator".to_string(),
            ));
        }
        if !seen.insert(key.clone()) {
            return Err(syntax(
                line_number,
                format!("key '{key}' appears twice in this file"),
            ));
        }
        let value = stripped[separator + 1..].trim().to_string();
        properties.push(Property {
            key,
            value: String::new(),
            line: line_number,
            several_env_references: false,
        });
        open = Some((indent, vec![value]));
    }
    if let Some((_, lines)) = open.take() {
        close_value(&mut properties, lines, env);
    }
    Ok(properties)
}

/// Parses the file at `path` (see [`parse`]); I/O errors are returned for the caller to report.
pub fn read(
    path: &Path,
    env: &dyn Environment,
) -> Result<Result<Vec<Property>, CapoError>, std::io::Error> {
    let bytes = std::fs::read(path)?;
    Ok(parse(&String::from_utf8_lossy(&bytes), path, env))
}

fn close_value(properties: &mut [Property], lines: Vec<String>, env: &dyn Environment) {
    if let Some(last) = properties.last_mut() {
        let joined = lines.join("\n");
        let joined = joined.trim_end();
        last.several_env_references = joined.matches("${env:").count() > 1;
        last.value = expand_env(joined, env);
    }
}

/// Expands `${env:NAME}` (NAME of ASCII letters and `_`) when the value starts with such a
/// reference, each occurrence with its own variable; other values are returned unchanged.
pub fn expand_env(value: &str, env: &dyn Environment) -> String {
    if reference_at(value).is_none() {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        match reference_at(&rest[start..]) {
            Some((name, length)) => {
                out.push_str(&env.var(name).unwrap_or_default());
                rest = &rest[start + length..];
            }
            None => {
                out.push_str("${env:");
                rest = &rest[start + "${env:".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// If `text` starts with `${env:NAME}`, the name and the length of the reference.
fn reference_at(text: &str) -> Option<(&str, usize)> {
    let body = text.strip_prefix("${env:")?;
    let end = body.find('}')?;
    let name = &body[..end];
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_');
    valid.then_some((name, "${env:".len() + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("FOO".to_string(), "foo".to_string()),
            ("BAR".to_string(), "bar".to_string()),
        ])
    }

    fn props(text: &str) -> Vec<(String, String, usize)> {
        parse(text, Path::new("t.properties"), &env())
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect()
    }

    fn error(text: &str) -> String {
        match parse(text, Path::new("t.properties"), &env()) {
            Ok(p) => panic!("accepted: {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn separators_whitespace_and_case() {
        let p = props("a=1\nB : two words \nEdu.NRAO.X.Path=  /x/Y  \nc:d=e\n");
        assert_eq!(
            p,
            vec![
                ("a".into(), "1".into(), 1),
                ("b".into(), "two words".into(), 2),
                ("edu.nrao.x.path".into(), "/x/Y".into(), 3),
                ("c".into(), "d=e".into(), 4),
            ]
        );
        assert_eq!(props("k=\n"), vec![("k".into(), "".into(), 1)]);
        // An indented line after a key line continues its value, even if it looks like a key.
        assert_eq!(props("a=1\n  b=2\n")[0].1, "1\nb=2");
    }

    #[test]
    fn comments_and_blank_lines() {
        let p = props("# comment\n; also\n\n   # indented comment\na = value # not a comment\r\n");
        assert_eq!(p, vec![("a".into(), "value # not a comment".into(), 5)]);
    }

    #[test]
    fn continuation_lines() {
        let p = props("list = one\n  two\n\n    three\nnext=1\n");
        assert_eq!(
            p,
            vec![
                ("list".into(), "one\ntwo\n\nthree".into(), 1),
                ("next".into(), "1".into(), 5),
            ]
        );
        // Trailing blank lines of a value are dropped; a comment inside does not count.
        let p = props("a = x\n# c\n  y\n\n\nb=2");
        assert_eq!(p[0].1, "x\ny");
        // Not deeper than the key line: a new key (here an error, no separator).
        assert!(error("  a = 1\n  b\n").contains("t.properties:2"));
        // Java-style trailing backslash is not a continuation.
        assert!(error("a = one \\\ntwo\n").contains(":2: line 'two' has no '=' or ':'"));
        // No escape processing.
        assert_eq!(props("a\\:b=c")[0], ("a\\".into(), "b=c".into(), 1));
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            error("a=1\njust words\n"),
            "t.properties:2: line 'just words' has no '=' or ':' between key and value"
        );
        assert_eq!(
            error("a=1\nA = 2\n"),
            "t.properties:2: key 'a' appears twice in this file"
        );
        assert!(error("a=1\n[section]\nb=2\n")
            .starts_with("t.properties:2: section header '[section]'"));
        assert!(error(" = 3").starts_with("t.properties:1: empty key"));
    }

    #[test]
    fn env_references() {
        assert_eq!(props("a=${env:FOO}/x")[0].1, "foo/x");
        assert_eq!(props("a=${env:FOO}/x/${env:BAR}")[0].1, "foo/x/bar");
        assert_eq!(props("a=prefix/${env:FOO}")[0].1, "prefix/${env:FOO}");
        assert_eq!(props("a=${env:UNSET_VARIABLE}")[0].1, "");
        assert_eq!(props("a=${env:FOO1}")[0].1, "${env:FOO1}");
        assert_eq!(props("a=${env:FOO")[0].1, "${env:FOO");
        let parsed = parse(
            "a=${env:FOO}${env:BAR}\nb=${env:FOO}",
            Path::new("t"),
            &env(),
        )
        .unwrap_or_default();
        assert!(parsed[0].several_env_references);
        assert!(!parsed[1].several_env_references);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.properties");
        std::fs::write(&path, b"a = caf\xe9\n").expect("write");
        let parsed = read(&path, &env()).expect("readable").expect("parses");
        assert_eq!(parsed[0].value, "caf\u{fffd}");
    }
}
