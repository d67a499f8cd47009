"""Lint of the DAG files in condor/: everything they reference exists and means what it should.

- every workflow has an entry DAG per environment, INCLUDEs resolve, nodes are defined
  once, every node named by VARS/SCRIPT/RETRY/ABORT-DAG-ON/PARENT/CHILD exists, no cycle;
- every submit file exists, has exactly one queue statement, and expands with HTCondor's
  parser using the node's VARS (an undefined macro without a default raises there);
- every VARS name is used by the node's submit file (a misspelt name would be ignored
  silently by condor_submit);
- the CASA node has casa-judge from the environment's sbin as its POST script, with
  `$RETURN` standing alone (DAGMan substitutes only whole arguments), the workflow's
  policy, and only arguments DAGMan passes through unchanged (it splits on whitespace
  and knows no quoting);
- RETRY ... UNLESS-EXIT and ABORT-DAG-ON use the codes of crates/cli/src/exit.rs.
"""

from __future__ import annotations

import os
import re
import unittest

import htcondor2

import condorlib as cl

CHILDREN = {
    "quicklook": {"qa", "catalog"},
    "se_continuum_imaging": {"qa", "catalog"},
    "se_coarse_cube_imaging": {"qa", "cube"},
    "calibration": set(),
}
CASA_SUBMIT = "casa.sub"


def macros_used(text: str) -> set[str]:
    """Names referenced as $(NAME...), $Fnx(NAME) etc. in submit text (lower case)."""
    return {m.lower() for m in re.findall(r"\$(?:F[a-z]*|INT|REAL|ENV)?\(([A-Za-z_][A-Za-z0-9_.]*)", text)}


def with_includes(submit) -> str:
    """Submit text with its `include : file` lines replaced by the files (as condor_submit does)."""
    def expand(match: re.Match) -> str:
        return with_includes(submit.parent / match.group(1).strip())
    return re.sub(r"(?im)^\s*include\s*:\s*(\S+)\s*$", expand, submit.read_text())


class Dags(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.codes = cl.exit_codes()
        cls.dags = {(wf, env): cl.parse_dag(cl.CONDOR_DIR / f"{wf}.{env}.dag")
                    for wf in cl.WORKFLOWS for env in cl.ENVIRONMENTS}

    def test_every_dag_file_is_an_entry_or_included(self) -> None:
        used = {dag.path.name for dag in self.dags.values()}
        used |= {inc.name for dag in self.dags.values() for inc in dag.includes}
        on_disk = {p.name for p in cl.CONDOR_DIR.glob("*.dag")}
        self.assertEqual(on_disk - used, set(), "DAG files no entry DAG uses")

    def test_nodes_and_references(self) -> None:
        for (wf, env), dag in self.dags.items():
            with self.subTest(dag=dag.path.name):
                for node, where in dag.referenced:
                    self.assertIn(node, dag.jobs, f"{where}: node {node} is not defined")
                self.assertEqual({c for p, c in dag.edges if p == "casa"}, CHILDREN[wf])
                self.assertEqual(set(dag.jobs), {"casa"} | CHILDREN[wf])
                order = self.topological_order(dag)
                self.assertEqual(order[0], "casa")

    def topological_order(self, dag: cl.Dag) -> list[str]:
        remaining = set(dag.jobs)
        order: list[str] = []
        while remaining:
            ready = sorted(n for n in remaining if not any(c == n and p in remaining for p, c in dag.edges))
            self.assertTrue(ready, f"{dag.path.name}: PARENT/CHILD cycle among {sorted(remaining)}")
            order += ready
            remaining -= set(ready)
        return order

    def test_submit_files_exist_and_expand(self) -> None:
        cwd = os.getcwd()
        os.chdir(cl.CONDOR_DIR)  # include : resolves against condor_submit's directory
        try:
            for (wf, env), dag in self.dags.items():
                for node, submit in dag.jobs.items():
                    with self.subTest(dag=dag.path.name, node=node):
                        self.assertTrue(submit.is_file(), f"{submit.name}: no such submit file")
                        text = submit.read_text()
                        queues = [l for l in text.splitlines() if re.match(r"\s*queue\b", l, re.I)]
                        self.assertEqual(len(queues), 1, f"{submit.name}: needs exactly one queue statement")
                        node_vars = dag.node_vars(node)
                        required = set(re.findall(r"^#\s+([A-Z_]+)\s+\(required\)", text, re.M))
                        declared = dag.workflow_vars.get(node, set())
                        self.assertEqual(declared - required, set(), "WORKFLOW-VARS the template does not need")
                        self.assertEqual(required - declared - set(node_vars), set(),
                                         f"{submit.name} needs these and nobody sets them")
                        node_vars = {**node_vars, **{n: "sample" for n in declared}}
                        if submit.name == CASA_SUBMIT:
                            with self.assertRaises(ValueError, msg="the placeholder must refuse to submit"):
                                htcondor2.Submit(text)
                            node_vars = {**node_vars, "CASA_PLACEHOLDER_LINT": "1"}
                        body = "".join(f"{k} = {v}\n" for k, v in node_vars.items()) + text
                        description = htcondor2.Submit(body)
                        queue_vars = set()
                        if "matching" in description.getQArgs().lower():
                            queue_vars = {description.getQArgs().split()[0]}
                        for key in description.keys():
                            if queue_vars & {m.upper() for m in macros_used(description[key])}:
                                continue  # bound per job at queue time
                            try:
                                description.expand(key)
                            except KeyError:
                                self.fail(f"{submit.name}: {key} uses a macro that is neither set nor defaulted")
                        used = macros_used(with_includes(submit))
                        own = set(dag.vars.get(node, {}))
                        if submit.name != CASA_SUBMIT:  # Workspaces' own file may ignore VLASS_ENV
                            own |= set(dag.all_nodes_vars)
                        unused = {n for n in own if n.lower() not in used}
                        self.assertEqual(unused, set(), f"VARS names {submit.name} never uses")
        finally:
            os.chdir(cwd)

    def test_post_script_is_the_judge_of_the_environment(self) -> None:
        for (wf, env), dag in self.dags.items():
            with self.subTest(dag=dag.path.name):
                casa = [n for n, s in dag.jobs.items() if s.name == CASA_SUBMIT]
                self.assertEqual(casa, ["casa"])
                self.assertEqual(dag.all_nodes_vars.get("VLASS_ENV"), env)
                script = dag.post_script("casa")
                self.assertEqual(sorted((s.kind, s.node) for s in dag.scripts), [("POST", "casa"), ("PRE", "casa")],
                                 "the CASA node has a PRE and a POST script, no other node has scripts")
                self.assertEqual(script.executable, f"{cl.DEFAULT_ROOT}/vlass_{env}/sbin/casa-judge")
                # The path exists once scripts/stage --env <env> has run; the tool must be one it stages.
                self.assertTrue((cl.REPO / "tools" / "casa-judge").is_dir())
                args = script.args
                self.assertEqual(args.count("$RETURN"), 1, f"{script.where}: $RETURN must appear once")
                self.assertFalse([a for a in args if "$RETURN" in a and a != "$RETURN"],
                                 f"{script.where}: $RETURN glued to other text is passed literally")
                unknown = [a for a in args if a.startswith("$") and a not in cl.SCRIPT_MACROS_ALL | cl.SCRIPT_MACROS_POST]
                self.assertEqual(unknown, [], f"{script.where}: DAGMan passes these literally")
                self.assertFalse([a for a in args if "$" in a and not a.startswith("$")], script.where)
                self.assertFalse([a for a in args if any(q in a for q in "'\"")],
                                 f"{script.where}: DAGMan does not parse quotes in script lines")
                self.assertEqual(args[args.index("--exit-status") + 1], "$RETURN")
                self.assertEqual(args[args.index("--policy") + 1], wf)

    def test_pre_script_exists_and_gets_the_retry_number(self) -> None:
        for (wf, env), dag in self.dags.items():
            with self.subTest(dag=dag.path.name):
                pre = [s for s in dag.scripts if s.kind == "PRE"][0]
                self.assertEqual(pre.executable, "/bin/sh", "scripts run from the node directory via sh")
                script_file, retry, products = pre.args
                self.assertTrue((cl.CONDOR_DIR / script_file).is_file(), f"{pre.where}: {script_file} missing")
                self.assertEqual(retry, "$RETRY")
                self.assertEqual(products, dag.node_vars("casa")["PRODUCTS"])

    def test_retry_and_abort_use_the_documented_exit_codes(self) -> None:
        for (wf, env), dag in self.dags.items():
            for node in dag.jobs:
                with self.subTest(dag=dag.path.name, node=node):
                    self.assertIn(node, dag.retry, "every node is retried after a lost job")
                    count, unless = dag.retry[node]
                    self.assertGreaterEqual(count, 1)
                    self.assertEqual(unless, self.codes["Failure"], "permanent failure must stop retries")
                    self.assertIn(node, dag.abort)
                    self.assertEqual(dag.abort[node][0], self.codes["Usage"],
                                     "a configuration/usage error must abort the DAG")
                    self.assertEqual(cl.node_outcome(dag, node, self.codes["Success"]), cl.PASSED)
                    self.assertEqual(cl.node_outcome(dag, node, self.codes["Failure"]), cl.FAILED)
                    self.assertEqual(cl.node_outcome(dag, node, self.codes["Usage"]), cl.ABORTED)
                    self.assertEqual(cl.node_outcome(dag, node, self.codes["Retryable"]), cl.RETRIED)
                    self.assertEqual(cl.node_outcome(dag, node, self.codes["Retryable"], retries_done=count),
                                     cl.FAILED, "retries are bounded")


class DagReader(unittest.TestCase):
    """The reader itself, on DAG text with the mistakes the lint must catch."""

    def write(self, text: str):
        import tempfile
        from pathlib import Path
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = Path(tmp.name) / "t.dag"
        path.write_text(text)
        (Path(tmp.name) / "a.sub").write_text("executable = x\nqueue\n")
        return path

    def test_vars_escapes(self) -> None:
        self.assertEqual(cl.parse_vars(r'a="x \"y\" \\z" b="2"', "t"), {"a": 'x "y" \\z', "b": "2"})
        with self.assertRaises(AssertionError):
            cl.parse_vars('a=unquoted', "t")
        with self.assertRaises(AssertionError):
            cl.parse_vars('queueName="x"', "t")

    def test_missing_include_and_unknown_command(self) -> None:
        with self.assertRaises(AssertionError):
            cl.parse_dag(self.write("INCLUDE nowhere.dag\n"))
        with self.assertRaises(AssertionError):
            cl.parse_dag(self.write("JOBS a a.sub\n"))

    def test_script_argv_substitutes_whole_arguments_only(self) -> None:
        dag = cl.parse_dag(self.write("JOB a a.sub\nSCRIPT POST a /x/judge --exit-status $RETURN s=$RETURN\n"))
        argv = cl.script_argv(dag.post_script("a"), {"$RETURN": "-9"})
        self.assertEqual(argv, ["/x/judge", "--exit-status", "-9", "s=$RETURN"])

    def test_new_syntax_arguments(self) -> None:
        split = cl.split_new_syntax_arguments
        self.assertEqual(split('"one \'two with spaces\' 3"'), ["one", "two with spaces", "3"])
        self.assertEqual(split(""""'it''s' 'a ''b''' '' x""y" """.strip()), ["it's", "a 'b'", "", 'x"y'])
        with self.assertRaises(ValueError):
            split("old syntax")
        with self.assertRaises(ValueError):
            split('"unterminated \'quote"')

    def test_sizes(self) -> None:
        self.assertEqual(cl.size_in_mib("2048", plain_unit_mib=1), 2048)
        self.assertEqual(cl.size_in_mib("2G", plain_unit_mib=1), 2048)
        self.assertEqual(cl.size_in_mib("1048576", plain_unit_mib=1 / 1024), 1024)
        self.assertEqual(cl.size_in_mib("512 MB", plain_unit_mib=1), 512)
        with self.assertRaises(ValueError):
            cl.size_in_mib("lots", plain_unit_mib=1)


if __name__ == "__main__":
    unittest.main()
