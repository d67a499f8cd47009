"""The POST-script contract: casa-judge run exactly as DAGMan runs it, and the node outcome
that the DAG's RETRY / ABORT-DAG-ON lines then produce.

For each real CASA run of casa-sim (testdata/logs/, with manifest.json; ../shared/casa-sim/logs
when the copy is absent) a node directory is laid out as the CASA node leaves it (the logs,
stdout/stderr, products/), and the POST line of the DAG is turned into argv the way DAGMan
does it (dagman-scripts.rst: split on whitespace, `$RETURN` replaced only as a whole argument,
the script run in the node's directory). Two deliberate differences, both stated here: the
executable is the freshly built casa-judge instead of <root>/vlass_<env>/sbin/casa-judge, and
the scenario's own product list is given with --expect (it replaces the policy's VLASS globs,
which the casa-sim runs, imaging a simulated field, cannot match).

The judge's exit code is the node's exit value (a POST script replaces the job's result), and
condorlib.node_outcome applies the DAG's RETRY N UNLESS-EXIT v and ABORT-DAG-ON lines to it.
The expected outcomes below follow the standard of the casa-judge issue, one reason each; they
are not read back from the judge.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unittest
from pathlib import Path

import condorlib as cl

# scenario -> (expected outcome at the scenario's own $RETURN, why)
AT_RECORDED_RETURN = {
    "success": (cl.PASSED, "clean log, sound products, exit 0"),
    "flagmanager_severe": (cl.FAILED, "SEVERE from flagmanager is always fatal; a retry repeats it"),
    "task_exception": (cl.FAILED, "tclean raised; deterministic"),
    "task_exception_swallowed": (cl.FAILED, "a task exception is fatal even when the script exits 0"),
    "killed": (cl.RETRIED, "SIGKILL (-9) mid-tclean: cut off, nothing else wrong"),
    "killed_sigterm": (cl.RETRIED, "SIGTERM (-15) mid-tclean: cut off, nothing else wrong"),
    "divergence": (cl.FAILED, "tclean diverged: a silent failure a retry repeats"),
    "false_failure": (cl.PASSED, "exit 1 with a clean log and sound products is a false failure"),
    "benign_severe": (cl.PASSED, "the stale leap-second SEVERE is on the benign list"),
    "no_log": (cl.FAILED, "exit 1, no log, no products: nothing says success"),
    "no_log_bad_command_line": (cl.FAILED, "exit 1, no products"),
    "no_log_bad_parameter": (cl.FAILED, "exit 1, no products"),
    "missing_product": (cl.FAILED, "an expected product is missing after a run that was not cut off"),
    "truncated_product": (cl.FAILED, "a FITS product is shorter than its header promises"),
    "multiple_logs": (cl.FAILED, "the first CASA process logged a task exception"),
}

# $RETURN values DAGMan can hand over, on a clean run and on a run with a task exception.
SWEEP = {
    "success": {
        0: (cl.PASSED, "clean"),
        1: (cl.PASSED, "positive status, clean log, sound products: false failure"),
        2: (cl.PASSED, "positive status, clean log, sound products: false failure"),
        -9: (cl.RETRIED, "killed by SIGKILL: retryable"),
        -1001: (cl.RETRIED, "submission failed: retryable"),
        -1004: (cl.RETRIED, "PRE script failed, job skipped: retryable"),
    },
    "task_exception": {
        0: (cl.FAILED, "task exception"),
        1: (cl.FAILED, "task exception"),
        2: (cl.FAILED, "task exception"),
        -9: (cl.FAILED, "a task exception logged before the cut-off makes it permanent"),
        -1001: (cl.FAILED, "a task exception logged before the cut-off makes it permanent"),
        -1004: (cl.FAILED, "a task exception logged before the cut-off makes it permanent"),
    },
}


# The start of an HTCondor job event log, as the node's `log =` file holds it.
CONDOR_EVENTS = (
    "000 (4321.000.000) 2026-11-25 13:30:30 Job submitted from host: <10.0.0.1:9618?addrs=10.0.0.1-9618>\n"
    "    DAG Node: casa\n...\n"
    "001 (4321.000.000) 2026-11-25 13:30:35 Job executing on host: <10.0.0.2:9618?addrs=10.0.0.2-9618>\n...\n"
)


def scenario_root() -> Path:
    for candidate in (cl.REPO / "testdata" / "logs", cl.REPO.parent / "shared" / "casa-sim" / "logs"):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise AssertionError("no casa-sim scenarios: testdata/logs/manifest.json is missing")


class PostScriptContract(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.root = scenario_root()
        manifest = json.loads((cls.root / "manifest.json").read_text())
        cls.scenarios = {s["name"]: s for s in manifest["scenarios"]}
        cls.judge = str(cl.tool_binary("casa-judge"))
        cls.dags = {(wf, env): cl.parse_dag(cl.CONDOR_DIR / f"{wf}.{env}.dag")
                    for wf in cl.WORKFLOWS for env in cl.ENVIRONMENTS}
        cls.codes = cl.exit_codes()

    def node_directory(self, name: str) -> Path:
        """A fresh copy of the scenario's folder: what the CASA node leaves behind."""
        tmp = tempfile.TemporaryDirectory(prefix=f"post-{name}-")
        self.addCleanup(tmp.cleanup)
        node = Path(tmp.name) / "node"
        source = self.root / name
        if source.is_dir():
            shutil.copytree(source, node)
            for path in [node, *node.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # the shared copy is read-only
            # The node keeps CASA's stdout/stderr as casa.out/casa.err (casa.sub), and
            # HTCondor writes its job event log beside them (condor-casa.log).
            for recorded, kept in (("stdout.txt", "casa.out"), ("stderr.txt", "casa.err")):
                if (node / recorded).is_file():
                    (node / recorded).rename(node / kept)
            (node / "condor-casa.log").write_text(CONDOR_EVENTS)
        else:
            node.mkdir()
        return node

    def run_post(self, dag: cl.Dag, name: str, dagman_return: int, policy: str | None = None) -> tuple[int, cl.Run]:
        script = dag.post_script("casa")
        argv = cl.script_argv(script, {"$RETURN": str(dagman_return), "$NODE": "casa", "$JOB": "casa"})
        self.assertNotIn("$RETURN", argv)
        argv[0] = self.judge
        if policy is not None:
            argv[argv.index("--policy") + 1] = policy
        for product in self.scenarios[name]["expected_products"]:
            argv += ["--expect", product]
        node = self.node_directory(name)
        result = cl.run(argv, cwd=node)
        self.assertNotIn("panicked", result.stderr)
        self.assertIn(result.code, set(self.codes.values()), f"{cl.shell_quote(argv)}: undocumented exit code")
        if result.code != self.codes["Usage"]:
            json_out = node / argv[argv.index("--json") + 1]
            self.assertTrue(json_out.is_file(), f"{cl.shell_quote(argv)} wrote no JSON verdict")
            verdict = json.loads(json_out.read_text())
            self.assertEqual(verdict["verdict"] == "success", result.code == self.codes["Success"])
            self.assertEqual(verdict.get("retryable", False), result.code == self.codes["Retryable"])
        return result.code, result

    def check(self, dag: cl.Dag, name: str, dagman_return: int, expected: str, why: str) -> None:
        code, result = self.run_post(dag, name, dagman_return)
        outcome = cl.node_outcome(dag, "casa", code)
        self.assertEqual(outcome, expected,
                         f"{name} with $RETURN {dagman_return} ({why}): judge exit {code}\n"
                         f"{result.stdout[-1500:]}\n{result.stderr[-800:]}")
        if outcome == cl.RETRIED:
            retries, _ = dag.retry["casa"]
            # The same evidence on every attempt: retried up to RETRY's count, then failed for good.
            self.assertEqual(cl.node_outcome(dag, "casa", code, retries_done=retries), cl.FAILED)

    def test_every_scenario_is_in_the_table(self) -> None:
        self.assertEqual(set(self.scenarios), set(AT_RECORDED_RETURN))

    def test_every_scenario_at_its_recorded_return(self) -> None:
        dag = self.dags[("quicklook", "dev")]
        for name, (expected, why) in AT_RECORDED_RETURN.items():
            with self.subTest(name):
                self.check(dag, name, self.scenarios[name]["dagman_return"], expected, why)

    def test_return_values_dagman_can_pass(self) -> None:
        dag = self.dags[("quicklook", "dev")]
        for name, table in SWEEP.items():
            for dagman_return, (expected, why) in table.items():
                with self.subTest(name, dagman_return=dagman_return):
                    self.check(dag, name, dagman_return, expected, why)

    def test_every_workflow_and_environment(self) -> None:
        """Each entry DAG's own POST line (its policy) on a clean run, a kill and a failure."""
        for (wf, env), dag in self.dags.items():
            with self.subTest(dag=dag.path.name):
                self.check(dag, "success", 0, cl.PASSED, "clean")
                self.check(dag, "killed", -9, cl.RETRIED, "cut off")
                self.check(dag, "task_exception", 1, cl.FAILED, "task exception")

    def test_a_retry_is_judged_on_its_own_logs(self) -> None:
        """Attempt 0 is killed, attempt 1 succeeds: with the DAG's PRE script moving attempt 0's
        logs aside the node passes; without it the judge would still see the kill."""
        dag = self.dags[("se_continuum_imaging", "test")]
        pre = [s for s in dag.scripts if s.kind == "PRE" and s.node == "casa"][0]
        node = self.node_directory("no_such_scenario")
        shutil.copy(cl.CONDOR_DIR / pre.args[0], node / pre.args[0])

        def attempt(retry: int, scenario: str, dagman_return: int) -> int:
            argv = cl.script_argv(pre, {"$RETRY": str(retry)})
            self.assertEqual(cl.run(argv, cwd=node).code, 0)
            for item in (self.root / scenario).iterdir():  # what the job brings back
                (shutil.copytree if item.is_dir() else shutil.copy)(item, node / item.name)
            post = cl.script_argv(dag.post_script("casa"), {"$RETURN": str(dagman_return)})
            post[0] = self.judge
            for product in self.scenarios[scenario]["expected_products"]:
                post += ["--expect", product]
            return cl.run(post, cwd=node).code

        first = attempt(0, "killed", self.scenarios["killed"]["dagman_return"])
        self.assertEqual(cl.node_outcome(dag, "casa", first, retries_done=0), cl.RETRIED)
        second = attempt(1, "success", 0)
        self.assertEqual(cl.node_outcome(dag, "casa", second, retries_done=1), cl.PASSED)
        self.assertTrue(list((node / "attempts").glob("casa-*.log.before-attempt-1.*")))
        # The counter-case: both attempts' logs side by side are judged as cut off.
        both = self.node_directory("success")
        shutil.copy(next((self.root / "killed").glob("casa-*.log")), both)
        post = cl.script_argv(dag.post_script("casa"), {"$RETURN": "0"})
        post[0] = self.judge
        self.assertNotEqual(cl.run(post + ["--expect", "products/target.image.fits"], cwd=both).code, 0)

    def test_the_post_line_reads_the_jobs_stdout_and_stderr(self) -> None:
        """CASA echoes SEVERE to stderr and Python tracebacks appear only there: the POST line
        hands casa.out/casa.err to the judge, and a run that left neither is judged without."""
        for (wf, env), dag in self.dags.items():
            with self.subTest(dag=dag.path.name):
                argv = cl.script_argv(dag.post_script("casa"), {"$RETURN": "0"})
                self.assertEqual(argv[argv.index("--stdout") + 1], "casa.out")
                self.assertEqual(argv[argv.index("--stderr") + 1], "casa.err")
        dag = self.dags[("quicklook", "dev")]
        node = self.node_directory("success")
        stderr = (node / "casa.err").read_text()
        # A SEVERE seen only on stderr fails the run.
        (node / "casa.err").write_text(
            stderr + "2026-11-25 13:30:59\tSEVERE\ttclean::::casa\tonly on stderr: imaging failed\n")
        post = cl.script_argv(dag.post_script("casa"), {"$RETURN": "0"})
        post[0] = self.judge
        post += ["--expect", "products/target.image.fits"]
        self.assertEqual(cl.node_outcome(dag, "casa", cl.run(post, cwd=node).code), cl.FAILED)
        # Neither file (the job never ran, DAGMan skipped it): judged on the rest, not aborted.
        for kept in ("casa.out", "casa.err"):
            (node / kept).unlink()
        skipped = cl.script_argv(dag.post_script("casa"), {"$RETURN": "-1004"})
        skipped[0] = self.judge
        result = cl.run(skipped + ["--expect", "products/target.image.fits"], cwd=node)
        self.assertEqual(cl.node_outcome(dag, "casa", result.code), cl.RETRIED, result.stderr)

    def test_an_event_log_named_like_a_casa_log_does_not_abort_the_dag(self) -> None:
        """A CASA submit file with `log = casa.log` puts HTCondor's event log where the judge
        searches: it is left out with a warning, the run judged on its CASA logs."""
        dag = self.dags[("quicklook", "dev")]
        node = self.node_directory("success")
        (node / "casa.log").write_text(CONDOR_EVENTS)
        post = cl.script_argv(dag.post_script("casa"), {"$RETURN": "0"})
        post[0] = self.judge
        result = cl.run(post + ["--expect", "products/target.image.fits"], cwd=node)
        self.assertEqual(cl.node_outcome(dag, "casa", result.code), cl.PASSED, result.stdout + result.stderr)
        verdict = json.loads((node / "casa-judge.json").read_text())
        self.assertIn("skipped_input", [w["code"] for w in verdict["warnings"]])

    def test_a_policy_the_judge_does_not_know_aborts_the_dag(self) -> None:
        """A DAG naming a policy the staged judge lacks is a configuration error: stop."""
        dag = self.dags[("quicklook", "prod")]
        code, result = self.run_post(dag, "success", 0, policy="no_such_workflow")
        self.assertEqual(code, self.codes["Usage"], result.stderr)
        self.assertFalse(cl.is_clap_usage_error(result), "the policy name must be checked by the judge")
        self.assertEqual(cl.node_outcome(dag, "casa", code), cl.ABORTED)


if __name__ == "__main__":
    unittest.main()
