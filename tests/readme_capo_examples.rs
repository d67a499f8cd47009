//! Runs the command lines of the README's "Configuration (CAPO)" section, so the examples there
//! cannot drift from what the tools accept. Included by `tools/<tool>/tests/readme_capo.rs`;
//! each tool runs the examples that start with its own name.
//!
//! The section's format, as written in the README (indented code blocks):
//! - a block whose first line is `# capo/NAME.properties` is a CAPO file; it is written, whole,
//!   to `capo/NAME.properties` in a fresh directory where the commands run;
//! - a line `$ TOOL ARGS...` is a command (arguments split at spaces, no quoting), optionally
//!   ending in `# exits N` (default 0); the lines after it, up to the next blank line or `$`
//!   line, are output lines that must appear in this order in its stdout+stderr (compared with
//!   runs of spaces collapsed, `$HOME` standing for the home directory); `...` lines are skips.
//!
//! The commands run with `CAPO_PROFILE` and `CAPO_PATH` unset and `HOME` in the directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tools the README section may run.
pub const TOOLS: [&str; 3] = ["annotate-qa", "component-list", "casa-judge"];

/// One `$` line of the section with what it must give.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// README line number (1-based).
    pub line: usize,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Expected exit code.
    pub exit: i32,
    /// Output lines shown (`...` kept as a skip marker).
    pub output: Vec<String>,
}

/// The section's CAPO files (relative path, content) and its commands.
#[derive(Debug, Default)]
pub struct Section {
    pub files: Vec<(String, String)>,
    pub examples: Vec<Example>,
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses the "Configuration (CAPO)" section of the README text.
pub fn parse(text: &str) -> Section {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("## Configuration (CAPO)"))
        .expect("README has a '## Configuration (CAPO)' section");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut section = Section::default();
    let mut i = start + 1;
    while i < end {
        let Some(code) = lines[i].strip_prefix("    ") else {
            i += 1;
            continue;
        };
        let block_starts = i == 0 || lines[i - 1].trim().is_empty();
        if let Some(name) = code
            .strip_prefix("# ")
            .filter(|n| block_starts && n.starts_with("capo/") && n.ends_with(".properties"))
        {
            let mut content = String::new();
            while i < end && lines[i].starts_with("    ") {
                content.push_str(&lines[i][4..]);
                content.push('\n');
                i += 1;
            }
            section.files.push((name.to_string(), content));
            continue;
        }
        if let Some(command) = code.strip_prefix("$ ") {
            let (command, exit) = match command.split_once("  # exits ") {
                Some((c, code)) => (c, code.trim().parse().expect("exit code after '# exits'")),
                None => (command, 0),
            };
            let mut example = Example {
                line: i + 1,
                argv: command.split_whitespace().map(str::to_string).collect(),
                exit,
                output: Vec::new(),
            };
            i += 1;
            while i < end && lines[i].starts_with("    ") && !lines[i][4..].starts_with("$ ") {
                example.output.push(lines[i][4..].to_string());
                i += 1;
            }
            section.examples.push(example);
            continue;
        }
        i += 1;
    }
    section
}

fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks that `shown` lines occur in `actual` in order (`...` lines skipped); the problem if not.
pub fn check_output(shown: &[String], actual: &str) -> Result<(), String> {
    let actual: Vec<String> = actual.lines().map(collapse).collect();
    let mut at = 0;
    for want in shown.iter().map(|l| collapse(l)).filter(|l| l != "...") {
        match actual[at..].iter().position(|l| *l == want) {
            Some(found) => at += found + 1,
            None => return Err(format!("line not found (in this order): {want}")),
        }
    }
    Ok(())
}

/// Runs the section's examples of `tool` with the binary `exe`; returns how many ran.
pub fn run_examples(tool: &str, exe: &Path) -> usize {
    let section = parse(&readme());
    for example in &section.examples {
        assert!(
            TOOLS.contains(&example.argv[0].as_str()),
            "README line {}: '{}' is not one of the toolkit's tools",
            example.line,
            example.argv[0]
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home: PathBuf = dir.path().join("home");
    std::fs::create_dir_all(dir.path().join("capo")).expect("capo dir");
    std::fs::create_dir_all(&home).expect("home dir");
    for (name, content) in &section.files {
        std::fs::write(dir.path().join(name), content).expect("write CAPO file");
    }
    let mut ran = 0;
    for example in section.examples.iter().filter(|e| e.argv[0] == tool) {
        let out = Command::new(exe)
            .args(&example.argv[1..])
            .current_dir(dir.path())
            .env_remove("CAPO_PROFILE")
            .env_remove("CAPO_PATH")
            .env("HOME", &home)
            .output()
            .expect("run the tool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .replace(&home.display().to_string(), "$HOME");
        let command = example.argv.join(" ");
        assert_eq!(
            out.status.code(),
            Some(example.exit),
            "README line {}: `{command}` exit code; output:\n{text}",
            example.line
        );
        if let Err(problem) = check_output(&example.output, &text) {
            panic!(
                "README line {}: `{command}`: {problem}\noutput:\n{text}",
                example.line
            );
        }
        ran += 1;
    }
    ran
}

#[test]
fn the_section_format_is_read_as_documented() {
    let text = "## Configuration (CAPO)\n\
                \n    # capo/a.properties\n    x = 1\n\
                \n    $ casa-judge --show-policy default\n    policy default\n    ...\n\
                \n    $ annotate-qa --threshold x  # exits 2\n    annotate-qa: bad\n\
                \n## Next\n\n    $ component-list\n";
    let section = parse(text);
    assert_eq!(
        section.files,
        vec![(
            "capo/a.properties".to_string(),
            "# capo/a.properties\nx = 1\n".to_string()
        )]
    );
    assert_eq!(section.examples.len(), 2, "{:?}", section.examples);
    assert_eq!(
        section.examples[0].argv,
        ["casa-judge", "--show-policy", "default"]
    );
    assert_eq!(section.examples[0].exit, 0);
    assert_eq!(section.examples[0].output, ["policy default", "..."]);
    assert_eq!(section.examples[1].exit, 2);
    assert_eq!(section.examples[1].line, 10);
    let shown = ["a  b".to_string(), "...".to_string(), "c".to_string()];
    assert!(check_output(&shown, "a b\nx\nc\n").is_ok());
    assert!(check_output(&shown, "c\na b\n").is_err());
}
