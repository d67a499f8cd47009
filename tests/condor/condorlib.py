"""Shared helpers of the HTCondor deployment tests (tests/condor/).

What lives here, so that each test file states only what it checks:
- where things are (repository root, condor/, the toolkit binaries);
- the toolkit's exit codes, read from crates/cli/src/exit.rs (the one table);
- a reader for the DAG files in condor/ (JOB, VARS, SCRIPT, RETRY, ABORT-DAG-ON,
  PARENT/CHILD, INCLUDE), with DAGMan's own rules for script arguments;
- the node-outcome rules of DAGMan (RETRY ... UNLESS-EXIT, ABORT-DAG-ON, POST
  script replaces the job result), as the HTCondor manual states them;
- HTCondor's "new syntax" argument splitting, which the Python bindings lack;
- the measured peak memory table of condor/RESOURCES.md.

HTCondor manual pages cited below are in the htcondor/htcondor repository under
docs/ (automated-workflows/dagman-scripts.rst, node-pass-or-fail.rst,
dagman-vars.rst, dagman-include.rst; man-pages/condor_submit.rst).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONDOR_DIR = REPO / "condor"
TOOLS = ("casa-judge", "annotate-qa", "component-list")
ENVIRONMENTS = ("dev", "test", "prod")
DEFAULT_ROOT = "/lustre/aoc/cluster/pipeline"
WORKFLOWS = ("quicklook", "calibration", "se_continuum_imaging", "se_coarse_cube_imaging")


# --------------------------------------------------------------------------
# exit codes


def exit_codes() -> dict[str, int]:
    """The ExitCode enum of crates/cli/src/exit.rs as {variant: value}."""
    text = (REPO / "crates/cli/src/exit.rs").read_text()
    enum = re.search(r"pub enum ExitCode\s*\{(.*?)\}", text, re.S)
    if not enum:
        raise AssertionError("crates/cli/src/exit.rs: no `pub enum ExitCode`")
    codes = dict((name, int(value)) for name, value in re.findall(r"(\w+)\s*=\s*(\d+)", enum.group(1)))
    for needed in ("Success", "Failure", "Usage", "Retryable"):
        if needed not in codes:
            raise AssertionError(f"crates/cli/src/exit.rs: ExitCode has no {needed}")
    return codes


# --------------------------------------------------------------------------
# binaries


def target_dir() -> Path:
    """Cargo's target directory, honouring CARGO_TARGET_DIR like cargo does."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else REPO / path
    return REPO / "target"


def tool_binary(tool: str) -> Path:
    """The debug build of a toolkit binary, as `cargo test` leaves it (scripts/condor_test builds it)."""
    path = target_dir() / "debug" / tool
    if not path.is_file():
        raise AssertionError(f"{path}: not built; run `cargo test --workspace --no-run` first")
    return path


@dataclass
class Run:
    """Result of running a binary: exit code and captured streams."""

    code: int
    stdout: str
    stderr: str


def run(argv: list[str], cwd: Path | str | None = None, env: dict | None = None, timeout: float = 120) -> Run:
    """Run a command, capturing text output; never raises on a non-zero exit."""
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          errors="replace")
    return Run(proc.returncode, proc.stdout, proc.stderr)


def is_clap_usage_error(result: Run) -> bool:
    """True when clap rejected the command line (as opposed to the tool rejecting an input).

    clap prints `error: <what>` and then a `Usage:` line and exits 2; the toolkit's
    own errors are one line `tool: file: problem` (README, "Exit codes")."""
    return result.code == 2 and (result.stderr.lstrip().startswith("error:") or "\nUsage:" in result.stderr
                                 or result.stderr.startswith("Usage:"))


# --------------------------------------------------------------------------
# HTCondor argument "new syntax" (condor_submit manual, "arguments")


def split_new_syntax_arguments(value: str) -> list[str]:
    """Split an `arguments` value in HTCondor's new syntax into argv.

    The value must be enclosed in double quotes. Inside: whitespace separates
    arguments; single quotes group (whitespace kept); `''` inside single quotes
    is a literal `'`; `""` is a literal `"`."""
    value = value.strip()
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        raise ValueError(f"arguments not in new syntax (not enclosed in double quotes): {value!r}")
    body = value[1:-1]
    args: list[str] = []
    current: list[str] = []
    have_arg = False
    in_single = False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            if body[i + 1:i + 2] != '"':
                raise ValueError(f"lone double quote inside new-syntax arguments: {value!r}")
            current.append('"')
            have_arg = True
            i += 2
            continue
        if in_single:
            if ch == "'":
                if body[i + 1:i + 2] == "'":
                    current.append("'")
                    i += 2
                    continue
                in_single = False
            else:
                current.append(ch)
        elif ch == "'":
            in_single = True
            have_arg = True
        elif ch in " \t":
            if have_arg:
                args.append("".join(current))
                current, have_arg = [], False
        else:
            current.append(ch)
            have_arg = True
        i += 1
    if in_single:
        raise ValueError(f"unterminated single quote in arguments: {value!r}")
    if have_arg:
        args.append("".join(current))
    return args


# --------------------------------------------------------------------------
# submit-description units (condor_submit manual: request_memory, request_disk)

_UNIT_MIB = {"": None, "K": 1 / 1024, "KB": 1 / 1024, "M": 1, "MB": 1, "G": 1024, "GB": 1024,
             "T": 1024 * 1024, "TB": 1024 * 1024}


def size_in_mib(value: str, plain_unit_mib: float) -> float:
    """A request_memory/request_disk value in MiB. A plain number is in the command's
    own unit (MiB for memory, KiB for disk); suffixes K/M/G/T (+B) are powers of two."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]B?)?\s*", value, re.I)
    if not match:
        raise ValueError(f"not a size: {value!r}")
    number, unit = float(match.group(1)), (match.group(2) or "").upper()
    factor = _UNIT_MIB[unit]
    return number * (plain_unit_mib if factor is None else factor)


# --------------------------------------------------------------------------
# DAG files

# Script argument macros DAGMan replaces, recognised only as whole arguments
# (dagman-scripts.rst, "Special script argument macros"; $NODE/$JOB alias).
SCRIPT_MACROS_ALL = {"$JOB", "$NODE", "$RETRY", "$MAX_RETRIES", "$DAG_STATUS", "$FAILED_COUNT", "$DAGID",
                     "$NODE_COUNT", "$QUEUED_COUNT", "$DONE_COUNT", "$FUTILE_COUNT"}
SCRIPT_MACROS_POST = {"$JOBID", "$RETURN", "$PRE_SCRIPT_RETURN", "$SUCCESS", "$CLUSTERID", "$JOB_COUNT",
                      "$JOB_ABORT_COUNT", "$EXIT_CODES", "$EXIT_CODE_LIST", "$EXIT_CODE_COUNTS"}


@dataclass
class Script:
    """One SCRIPT line: kind (PRE/POST/HOLD), node, executable, raw argument tokens."""

    kind: str
    node: str
    executable: str
    args: list[str]
    where: str


@dataclass
class Dag:
    """The commands of a DAG file with its INCLUDEs resolved (dagman-include.rst)."""

    path: Path
    jobs: dict[str, Path] = field(default_factory=dict)
    vars: dict[str, dict[str, str]] = field(default_factory=dict)
    all_nodes_vars: dict[str, str] = field(default_factory=dict)
    scripts: list[Script] = field(default_factory=list)
    retry: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    abort: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    referenced: list[tuple[str, str]] = field(default_factory=list)  # (node, where)
    includes: list[Path] = field(default_factory=list)
    # `# WORKFLOW-VARS node NAME ...`: macros the workflow must add with its own VARS line.
    workflow_vars: dict[str, set[str]] = field(default_factory=dict)

    def node_vars(self, node: str) -> dict[str, str]:
        """VARS a node's submit description sees: ALL_NODES first, then its own; $(JOB) expanded."""
        merged = dict(self.all_nodes_vars)
        merged.update(self.vars.get(node, {}))
        return {name: value.replace("$(JOB)", node) for name, value in merged.items()}

    def post_script(self, node: str) -> Script:
        """The node's POST script (AssertionError if it has none or several)."""
        found = [s for s in self.scripts if s.kind == "POST" and s.node == node]
        if len(found) != 1:
            raise AssertionError(f"{self.path.name}: node {node} has {len(found)} POST scripts, expected 1")
        return found[0]


_VARS_PAIR = re.compile(r'([A-Za-z0-9_.+]+)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_vars(text: str, where: str) -> dict[str, str]:
    """`name="value" ...` of a VARS line, with DAGMan's \\" and \\\\ escapes (dagman-vars.rst)."""
    pairs: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _VARS_PAIR.match(text, pos)
        if not match:
            raise AssertionError(f"{where}: malformed VARS at {text[pos:]!r}")
        name = match.group(1)
        if name.lower().startswith("queue"):
            raise AssertionError(f"{where}: VARS name {name} may not start with 'queue'")
        if name.upper() == "NODE":
            raise AssertionError(f"{where}: NODE is predefined for parallel jobs; do not use it in VARS")
        pairs[name] = re.sub(r"\\(.)", r"\1", match.group(2))
        pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    return pairs


def parse_dag(path: Path, dag: Dag | None = None) -> Dag:
    """Read a DAG file and, recursively, its INCLUDEs (paths relative to the DAG's directory,
    which is DAGMan's working directory when submitted from there or with -usedagdir)."""
    dag = dag or Dag(path=path)
    base = path.parent
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        where = f"{path.name}:{number}"
        line = raw.strip()
        declared = re.match(r"#\s*WORKFLOW-VARS\s+(\S+)\s+(.+)", line)
        if declared:
            dag.referenced.append((declared.group(1), where))
            dag.workflow_vars.setdefault(declared.group(1), set()).update(declared.group(2).split())
        if not line or line.startswith("#"):
            continue
        words = line.split()
        command = words[0].upper()
        if command == "INCLUDE":
            included = base / words[1]
            if not included.is_file():
                raise AssertionError(f"{where}: INCLUDE {words[1]}: no such file")
            dag.includes.append(included)
            parse_dag(included, dag)
        elif command == "JOB":
            name, submit = words[1], words[2]
            if name in dag.jobs:
                raise AssertionError(f"{where}: node {name} defined twice")
            if "+" in name:
                raise AssertionError(f"{where}: '+' is reserved for splice names")
            dag.jobs[name] = base / submit
        elif command == "VARS":
            target = words[1]
            rest = line.split(None, 2)[2] if len(words) > 2 else ""
            if rest.split()[0].upper() in ("PREPEND", "APPEND"):
                rest = rest.split(None, 1)[1]
            pairs = parse_vars(rest, where)
            if target == "ALL_NODES":
                dag.all_nodes_vars.update(pairs)
            else:
                dag.referenced.append((target, where))
                dag.vars.setdefault(target, {}).update(pairs)
        elif command == "SCRIPT":
            rest = words[1:]
            if rest and rest[0].upper() == "DEFER":
                rest = rest[3:]
            if rest and rest[0].upper() == "DEBUG":
                rest = rest[3:]
            kind, node, executable, args = rest[0].upper(), rest[1], rest[2], rest[3:]
            dag.referenced.append((node, where))
            dag.scripts.append(Script(kind, node, executable, args, where))
        elif command == "RETRY":
            node, count = words[1], int(words[2])
            unless = int(words[4]) if len(words) > 4 and words[3].upper() == "UNLESS-EXIT" else None
            dag.referenced.append((node, where))
            dag.retry[node] = (count, unless)
        elif command == "ABORT-DAG-ON":
            node, value = words[1], int(words[2])
            returned = int(words[4]) if len(words) > 4 and words[3].upper() == "RETURN" else None
            dag.referenced.append((node, where))
            dag.abort[node] = (value, returned)
        elif command == "PARENT":
            upper = [w.upper() for w in words]
            if "CHILD" not in upper:
                raise AssertionError(f"{where}: PARENT without CHILD")
            split = upper.index("CHILD")
            for parent in words[1:split]:
                for child in words[split + 1:]:
                    dag.edges.append((parent, child))
                    dag.referenced.append((parent, where))
                    dag.referenced.append((child, where))
        else:
            raise AssertionError(f"{where}: command {words[0]} is not one this project uses")
    return dag


def script_argv(script: Script, values: dict[str, str]) -> list[str]:
    """The argv DAGMan builds for a script: the line split on whitespace, each argument
    that is exactly a known macro replaced by its value, anything else passed as
    written (dagman-scripts.rst: `job_status=$RETURN` is passed literally)."""
    argv = [script.executable]
    for token in script.args:
        argv.append(values[token] if token in values else token)
    return argv


# --------------------------------------------------------------------------
# DAGMan node outcome (node-pass-or-fail.rst, dagman-scripts.rst)

PASSED, RETRIED, FAILED, ABORTED = "passed", "retried", "failed for good", "aborted"


def node_outcome(dag: Dag, node: str, exit_value: int, retries_done: int = 0) -> str:
    """What DAGMan does with a node that ended with `exit_value`.

    `exit_value` is the POST script's exit code when the node has one (it replaces
    the job's result), else the job's. Rules, in the order DAGMan applies them:
    - ABORT-DAG-ON: the node's exit value equal to AbortExitValue stops the DAG; this
      takes precedence over RETRY;
    - 0: the node succeeded;
    - RETRY N [UNLESS-EXIT v]: a failed node is re-run while fewer than N retries
      were made, unless its exit value is v;
    - otherwise the node failed for good."""
    if node in dag.abort and exit_value == dag.abort[node][0]:
        return ABORTED
    if exit_value == 0:
        return PASSED
    if node in dag.retry:
        count, unless = dag.retry[node]
        if retries_done < count and exit_value != unless:
            return RETRIED
    return FAILED


# --------------------------------------------------------------------------
# measured resources (condor/RESOURCES.md)


def measured_peaks_mib() -> dict[str, float]:
    """Largest measured peak RSS per submit template, in MiB, from RESOURCES.md's table
    (between the measurement markers scripts/condor_measure writes).

    Table rows look like `| template | input | threads | peak RSS (KiB) | ... |`."""
    peaks: dict[str, float] = {}
    text = (CONDOR_DIR / "RESOURCES.md").read_text()
    begin, end = "<!-- measurements: begin -->", "<!-- measurements: end -->"
    if begin not in text or end not in text:
        raise AssertionError("condor/RESOURCES.md: measurement markers missing")
    for line in text[text.index(begin):text.index(end)].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].endswith(".sub"):
            continue
        kib = int(cells[3].replace(",", ""))
        peaks[cells[0]] = max(peaks.get(cells[0], 0.0), kib / 1024)
    return peaks


def shell_quote(argv: list[str]) -> str:
    """argv as one shell-pasteable line, for failure messages."""
    return " ".join(shlex.quote(a) for a in argv)
