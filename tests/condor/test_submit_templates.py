"""The submit templates in condor/, parsed and expanded by HTCondor itself (htcondor2.Submit).

For every template, every environment (dev, test, prod), both ways DAGMan can hand
VARS to condor_submit (before or after the file, DAGMAN_DEFAULT_APPEND_VARS), with
the template's own defaults and with the VARS of every DAG node that uses it:
- `executable` expands to <root>/vlass_<env>/sbin/<tool> (and honours VLASS_ROOT, SBIN);
- the portable-executable settings hold (transfer_executable, file transfer on,
  ON_EXIT, requirements on OpSys/Arch only, evaluated by HTCondor's ClassAd library);
- `arguments` is new syntax and splits into a command line the tool itself accepts:
  the tool is run with it in an empty directory, where every input is missing, and
  must reject an input (its own `tool: file: problem` line), not the command line
  (clap's `error:` + `Usage:`); every `--flag` also appears in the tool's `--help`;
  and with placeholder inputs laid out under the names the command line gives
  (copies of testdata/), the tool's own `--dry-run` accepts it all (exit 0), writes
  nothing, and plans every file the template transfers back;
- what is transferred in and out is what the command line reads and writes;
- request_memory is at least the measured peak of condor/RESOURCES.md.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unittest
from pathlib import Path

import classad2
import htcondor2

import condorlib as cl

# template -> (tool, subcommand or None)
TEMPLATES = {
    "annotate-qa.sub": ("annotate-qa", None),
    "component-list.sub": ("component-list", None),
    "component-list-cube.sub": ("component-list", "cube"),
    "casa-judge.sub": ("casa-judge", None),
}
CC_STEM = "VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1"
SAMPLE_REQUIRED = {"EXIT_STATUS": "0", "POLICY": "quicklook",
                   "CUBE_FILES": f"products/{CC_STEM}.spw2.IQU.iter3.image.pbcor.tt0.subim.fits "
                                 f"products/{CC_STEM}.spw3.IQU.iter3.image.pbcor.tt0.subim.fits"}
# A QL tt0 name (notes/vlass-products.md) for `queue IMAGE matching files`.
SAMPLE_TT0 = "VLASS2.1.ql.T10t12.J075402-033000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits"


def required_macros(template: Path) -> list[str]:
    """Macros a template's header marks `(required)` (besides VLASS_ENV)."""
    return re.findall(r"^#\s+([A-Z_]+)\s+\(required\)", template.read_text(), re.M)


def submit_text(template_text: str, macros: dict[str, str], prepend: bool) -> str:
    """The description condor_submit would see with `macros` given as VARS."""
    lines = [f"{name} = {value}" for name, value in macros.items()]
    if prepend:
        return "\n".join(lines) + "\n" + template_text
    body = template_text.splitlines()
    queue_at = max(i for i, line in enumerate(body) if re.match(r"\s*queue\b", line, re.I))
    return "\n".join(body[:queue_at] + lines + body[queue_at:]) + "\n"


def expand_first_job(description: htcondor2.Submit) -> htcondor2.Submit:
    """Bind the first item of a `queue ... matching/in` statement, as the first job gets it."""
    items = list(description.itemdata() or [])
    if description.getQArgs() and "matching" in description.getQArgs().lower() and not items:
        raise AssertionError(f"queue {description.getQArgs()}: matched nothing")
    for name, value in (items[0].items() if items else []):
        description[name] = value
    return description


# Placeholder inputs for the dry runs: a CASA run directory, FITS products, a catalogue.
TESTDATA = cl.REPO / "testdata"
SAMPLE_RUN = TESTDATA / "logs" / "divergence"
SAMPLE_IMAGES = TESTDATA / "images"
SAMPLE_QL_TT0 = SAMPLE_IMAGES / "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits"
SAMPLE_CC = SAMPLE_IMAGES / "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits"
SAMPLE_CATALOG = (TESTDATA / "component-list" / "pybdsf"
                  / "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.pybdsf.srl.csv")


def lay_out_inputs(tool: str, sub_command: str | None, argv: list[str], sandbox: Path) -> None:
    """Put a stand-in for every input the command line names into `sandbox`, as HTCondor
    would have transferred it. In every template the positional inputs follow `--jobs N`."""
    inputs = argv[argv.index("--jobs") + 2:]
    if not inputs:
        raise AssertionError(f"{argv}: no input after --jobs N")

    def place(source: Path, name: str) -> None:
        target = sandbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy(source, target)

    for name in inputs:
        if tool == "casa-judge":
            place(SAMPLE_RUN, name)
        elif tool == "annotate-qa" and not name.endswith((".fits", ".fits.gz")):
            for fits in SAMPLE_IMAGES.glob("*.fits"):
                place(fits, f"{name}/{fits.name}")
        elif sub_command == "cube":
            place(SAMPLE_CC, name)
        else:
            place(SAMPLE_QL_TT0, name)
    if sub_command == "cube":
        place(SAMPLE_CATALOG, argv[argv.index("--catalog") + 1])


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path below `root` with its contents (None for a directory)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in root.rglob("*")}


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class WorkflowDirectory:
    """A temporary workflow directory laid out as the DAGs expect: the condor files
    copied in (include : and queue-matching resolve against it), and products."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="condor-templates-")
        self.path = Path(self.tmp.name)
        for item in cl.CONDOR_DIR.iterdir():
            if item.suffix in (".sub", ".inc", ".dag"):
                shutil.copy(item, self.path / item.name)
        (self.path / "products").mkdir()
        (self.path / "products" / SAMPLE_TT0).write_bytes(b"")


class SubmitTemplates(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.workflow = WorkflowDirectory()
        cls.peaks = cl.measured_peaks_mib()
        cls.help_text: dict[tuple[str, str | None], str] = {}
        cls.node_uses = []  # (template, dag name, node, node vars)
        for wf in cl.WORKFLOWS:
            for env in cl.ENVIRONMENTS:
                dag = cl.parse_dag(cl.CONDOR_DIR / f"{wf}.{env}.dag")
                for node, submit in dag.jobs.items():
                    if submit.name in TEMPLATES:
                        supplied = {n: SAMPLE_REQUIRED[n] for n in dag.workflow_vars.get(node, ())}
                        cls.node_uses.append((submit.name, dag.path.name, node, {**dag.node_vars(node), **supplied}))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.workflow.tmp.cleanup()

    def parse(self, template: str, macros: dict[str, str], prepend: bool) -> htcondor2.Submit:
        text = (cl.CONDOR_DIR / template).read_text()
        cwd = os.getcwd()
        os.chdir(self.workflow.path)  # include : and queue matching resolve here, as under DAGMan
        try:
            return expand_first_job(htcondor2.Submit(submit_text(text, macros, prepend)))
        finally:
            os.chdir(cwd)

    def expand(self, description: htcondor2.Submit, key: str) -> str:
        try:
            return description.expand(key)
        except KeyError:
            self.fail(f"{key}: missing or uses an undefined macro without a default")

    def tool_help(self, tool: str, sub: str | None) -> str:
        key = (tool, sub)
        if key not in self.help_text:
            argv = [str(cl.tool_binary(tool))] + ([sub] if sub else []) + ["--help"]
            result = cl.run(argv)
            self.assertEqual(result.code, 0, f"{cl.shell_quote(argv)}: {result.stderr}")
            self.help_text[key] = result.stdout
        return self.help_text[key]

    def cases(self):
        """(label, template, macros) for template defaults and for every DAG node's VARS."""
        for template in TEMPLATES:
            required = {name: SAMPLE_REQUIRED[name] for name in required_macros(cl.CONDOR_DIR / template)}
            for env in cl.ENVIRONMENTS:
                yield f"{template} defaults, {env}", template, {"VLASS_ENV": env, **required}
        for template, dag_name, node, node_vars in self.node_uses:
            yield f"{dag_name} node {node}", template, node_vars

    def test_every_template_is_covered(self) -> None:
        on_disk = {p.name for p in cl.CONDOR_DIR.glob("*.sub")} - {"casa.sub"}
        self.assertEqual(on_disk, set(TEMPLATES), "a template without validation, or a stale entry")

    def test_executable_resolves_to_the_environment_sbin(self) -> None:
        for label, template, macros in self.cases():
            tool = TEMPLATES[template][0]
            env = macros["VLASS_ENV"]
            for prepend in (True, False):
                with self.subTest(label, prepend=prepend):
                    sub = self.parse(template, macros, prepend)
                    self.assertEqual(self.expand(sub, "executable"), f"{cl.DEFAULT_ROOT}/vlass_{env}/sbin/{tool}")
                    moved = self.parse(template, {**macros, "VLASS_ROOT": "/tmp/vlass-root"}, prepend)
                    self.assertEqual(self.expand(moved, "executable"), f"/tmp/vlass-root/vlass_{env}/sbin/{tool}")
                    pinned = self.parse(template, {**macros, "SBIN": "/opt/sbin"}, prepend)
                    self.assertEqual(self.expand(pinned, "executable"), f"/opt/sbin/{tool}")

    def test_missing_environment_is_named_in_the_path(self) -> None:
        for template in TEMPLATES:
            required = {name: SAMPLE_REQUIRED[name] for name in required_macros(cl.CONDOR_DIR / template)}
            with self.subTest(template):
                sub = self.parse(template, required, True)
                self.assertIn("vlass_UNSET_VLASS_ENV/sbin", self.expand(sub, "executable"))

    def test_portable_executable_settings(self) -> None:
        linux = classad2.ClassAd({"OpSys": "LINUX", "Arch": "X86_64", "FileSystemDomain": "elsewhere.example"})
        windows = classad2.ClassAd({"OpSys": "WINDOWS", "Arch": "X86_64"})
        arm = classad2.ClassAd({"OpSys": "LINUX", "Arch": "aarch64"})
        for label, template, macros in self.cases():
            with self.subTest(label):
                sub = self.parse(template, macros, True)
                self.assertEqual(self.expand(sub, "universe").lower(), "vanilla")
                self.assertEqual(self.expand(sub, "transfer_executable").lower(), "true")
                self.assertEqual(self.expand(sub, "should_transfer_files").upper(), "YES")
                self.assertEqual(self.expand(sub, "when_to_transfer_output").upper(), "ON_EXIT")
                requirements = self.expand(sub, "requirements")
                self.assertNotIn("filesystemdomain", requirements.lower())
                expr = classad2.ExprTree(requirements)
                self.assertIs(expr.eval(linux), True, requirements)
                self.assertIs(expr.eval(windows), False, requirements)
                self.assertIs(expr.eval(arm), False, requirements)
                remove = classad2.ExprTree(self.expand(sub, "periodic_remove"))
                for status, code, removed in ((5, 12, True), (5, 13, True), (5, 1, False), (2, 12, False)):
                    job = classad2.ClassAd({"JobStatus": status, "HoldReasonCode": code})
                    self.assertIs(remove.eval(job), removed, f"periodic_remove for status {status}, hold {code}")
                streams = [self.expand(sub, key) for key in ("output", "error", "log")]
                self.assertEqual(len(set(streams)), 3, f"output/error/log must differ: {streams}")
                if "NODE_ID" in macros:
                    # One set per node: NODE.out, NODE.err and condor-NODE.log (the event log
                    # never takes a CASA log name, which casa-judge would search for).
                    output, error, log = streams
                    self.assertTrue(output.startswith(macros["NODE_ID"] + "."), output)
                    self.assertTrue(error.startswith(macros["NODE_ID"] + "."), error)
                    self.assertEqual(log, f"condor-{macros['NODE_ID']}.log")

    def test_resource_requests_cover_the_measured_peak(self) -> None:
        for label, template, macros in self.cases():
            with self.subTest(label):
                self.assertIn(template, self.peaks, f"RESOURCES.md has no measurement for {template}")
                sub = self.parse(template, macros, False)
                memory = cl.size_in_mib(self.expand(sub, "request_memory"), plain_unit_mib=1)
                disk = cl.size_in_mib(self.expand(sub, "request_disk"), plain_unit_mib=1 / 1024)
                cpus = int(self.expand(sub, "request_cpus"))
                self.assertGreaterEqual(memory, self.peaks[template],
                                        f"request_memory {memory} MiB is below the measured peak")
                self.assertGreater(disk, 0)
                self.assertGreaterEqual(cpus, 1)
                self.assertEqual(self.expand(sub, "environment"), f'"RAYON_NUM_THREADS={cpus}"')
                argv = cl.split_new_syntax_arguments(self.expand(sub, "arguments"))
                self.assertEqual(argv[argv.index("--jobs") + 1], str(cpus), "threads must match request_cpus")

    def test_arguments_are_accepted_by_the_tool(self) -> None:
        """Dry run: the tool parses the template's command line and fails on the missing
        input, not on the command line. Method documented in README ("Deploying")."""
        for label, template, macros in self.cases():
            tool, sub_command = TEMPLATES[template]
            with self.subTest(label):
                sub = self.parse(template, macros, True)
                argv = cl.split_new_syntax_arguments(self.expand(sub, "arguments"))
                if sub_command:
                    self.assertEqual(argv[0], sub_command)
                help_text = self.tool_help(tool, sub_command)
                for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
                    self.assertRegex(help_text, rf"(?m)^\s+(-\w, )?{re.escape(flag)}\b",
                                     f"{flag} is not in `{tool} --help`")
                with tempfile.TemporaryDirectory(prefix="condor-dry-run-") as empty:
                    command = [str(cl.tool_binary(tool))] + argv
                    result = cl.run(command, cwd=empty)
                self.assertFalse(cl.is_clap_usage_error(result),
                                 f"{cl.shell_quote(command)} rejected by the parser:\n{result.stderr}")
                self.assertNotIn("panicked", result.stderr)
                self.assertNotEqual(result.code, 0, f"{cl.shell_quote(command)} succeeded without its input")
                self.assertIn(result.code, (1, 2, 3), result.stderr)

    def test_dry_run_with_the_inputs_in_place(self) -> None:
        """The template's command line plus --dry-run, in a sandbox holding stand-ins for the
        inputs it names: the tool resolves its configuration and inputs and plans its outputs
        as a run would, exits 0, writes nothing, and plans what the template transfers back."""
        for label, template, macros in self.cases():
            tool, sub_command = TEMPLATES[template]
            with self.subTest(label):
                sub = self.parse(template, macros, True)
                argv = cl.split_new_syntax_arguments(self.expand(sub, "arguments"))
                outputs = comma_list(self.expand(sub, "transfer_output_files"))
                with tempfile.TemporaryDirectory(prefix="condor-dry-run-") as sandbox:
                    lay_out_inputs(tool, sub_command, argv, Path(sandbox))
                    before = tree(Path(sandbox))
                    command = [str(cl.tool_binary(tool))] + argv + ["--dry-run"]
                    env = {k: v for k, v in os.environ.items() if k not in ("CAPO_PROFILE", "CAPO_PATH")}
                    result = cl.run(command, cwd=sandbox, env={**env, "HOME": sandbox})
                    after = tree(Path(sandbox))
                self.assertEqual(result.code, 0, f"{cl.shell_quote(command)}:\n{result.stderr}")
                self.assertNotIn("panicked", result.stderr)
                self.assertEqual(before, after, f"{cl.shell_quote(command)} changed the sandbox")
                planned = [line.split(" ", 1)[1] for line in result.stdout.splitlines()
                           if line.startswith(("write ", "mkdir "))]
                for item in outputs:
                    self.assertTrue(any(Path(p) == Path(item) or Path(item) in Path(p).parents for p in planned),
                                    f"output {item} is not planned by the dry run:\n{result.stdout}")

    def test_transfers_match_the_command_line(self) -> None:
        for label, template, macros in self.cases():
            with self.subTest(label):
                sub = self.parse(template, macros, True)
                argv = cl.split_new_syntax_arguments(self.expand(sub, "arguments"))
                for item in comma_list(self.expand(sub, "transfer_input_files")):
                    # HTCondor delivers each input under its base name (no trailing slash here).
                    self.assertFalse(item.endswith("/"), item)
                    name = Path(item).name
                    self.assertTrue(any(a == name or a.startswith(name + "/") for a in argv),
                                    f"input {item} is transferred but not used")
                outputs = comma_list(self.expand(sub, "transfer_output_files"))
                self.assertTrue(outputs, "outputs must be named explicitly")
                for item in outputs:
                    self.assertIn(item, argv, f"output {item} is not written by the command line")


if __name__ == "__main__":
    unittest.main()
