"""scripts/stage against a temporary root: install, idempotence, dry run, rollback, the lock,
refusals (dynamic binary, failing --version, checksum mismatch, missing tool, bad root),
and a stage killed in the middle of copying (the old version must still run).

The binaries staged here are tiny static C programs built for the test (musl-gcc or
gcc with -static, and -static-pie, which is what the musl Rust build produces), that
answer --version the way the toolkit does: `<tool> <version> (commit <hash>, built <date>)`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import condorlib as cl

STAGE = cl.REPO / "scripts" / "stage"
PROGRAM = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("%s %s (commit %s, built 2026-12-01)\n", TOOL, VERSION, COMMIT);
        return VERSION_EXIT;
    }
    printf("%s %s running\n", TOOL, VERSION);
    return 0;
}
"""


def find_compiler(link: str) -> list[str]:
    """musl-gcc where it can (small static binaries), gcc for static-pie, which musl-gcc's
    wrapper cannot link without a dynamic loader."""
    preferred = ("gcc", "cc") if link == "-static-pie" else ("musl-gcc", "gcc", "cc")
    for compiler in preferred:
        if shutil.which(compiler):
            return [compiler]
    raise AssertionError("no C compiler to build the static test binaries (apt-get install gcc)")


class Binaries:
    """Builds and caches test binaries in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "prog.c").write_text(PROGRAM)
        self.cache: dict[tuple, Path] = {}

    def build(self, tool: str, version: str, commit: str, link: str = "-static", version_exit: int = 0) -> Path:
        key = (tool, version, commit, link, version_exit)
        if key not in self.cache:
            out = self.directory / f"bin-{len(self.cache)}"
            defines = [f'-DTOOL="{tool}"', f'-DVERSION="{version}"', f'-DCOMMIT="{commit}"',
                       f"-DVERSION_EXIT={version_exit}"]
            flags = [link] if link else []
            proc = subprocess.run(find_compiler(link) + flags + ["-O1", "-o", str(out), *defines,
                                                           str(self.directory / "prog.c")],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise AssertionError(f"building a {link or 'dynamic'} test binary failed:\n{proc.stderr}")
            self.cache[key] = out
        return self.cache[key]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Stage(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="stage-bins-")
        cls.bins = Binaries(Path(cls.tmp.name))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory(prefix="stage-root-")
        self.addCleanup(tmp.cleanup)
        self.work = Path(tmp.name)
        self.root = self.work / "pipeline"
        self.root.mkdir()
        self.sbin = self.root / "vlass_dev" / "sbin"

    # helpers ---------------------------------------------------------------

    def dist(self, version: str, commit: str, link: str = "-static", pad_bytes: int = 0,
             skip: str | None = None, bad_sum: str | None = None, version_exit: dict | None = None) -> Path:
        """A dist/ directory with the three tools and SHA256SUMS."""
        dist = self.work / f"dist-{version}-{commit}-{link}-{pad_bytes}-{skip}-{bad_sum}-{bool(version_exit)}"
        if dist.is_dir():
            return dist
        dist.mkdir()
        lines = []
        for tool in cl.TOOLS:
            if tool == skip:
                continue
            code = (version_exit or {}).get(tool, 0)
            shutil.copy(self.bins.build(tool, version, commit, link, code), dist / tool)
            if pad_bytes:
                with (dist / tool).open("ab") as f:
                    f.truncate((dist / tool).stat().st_size + pad_bytes)
            digest = "0" * 64 if tool == bad_sum else sha256(dist / tool)
            lines.append(f"{digest}  {tool}\n")
        (dist / "SHA256SUMS").write_text("".join(lines))
        return dist

    def stage(self, *args: str, env: str = "dev", dist: Path | None = None, root: Path | None = None) -> cl.Run:
        argv = [sys.executable, str(STAGE), "--env", env, "--root", str(root or self.root)]
        if dist:
            argv += ["--from", str(dist)]
        return cl.run(argv + list(args))

    def link(self, tool: str) -> str:
        return os.readlink(self.sbin / tool)

    def runs(self, tool: str) -> str:
        return cl.run([str(self.sbin / tool), "--version"]).stdout.strip()

    def snapshot(self) -> dict:
        """Every path under the root with its link target or content hash."""
        state = {}
        for path in sorted(self.root.rglob("*")):
            rel = str(path.relative_to(self.root))
            if path.is_symlink():
                state[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                state[rel] = sha256(path)
            else:
                state[rel] = "dir"
        return state

    def assert_failed(self, result: cl.Run, code: int, words: str) -> None:
        self.assertEqual(result.code, code, f"stdout: {result.stdout}\nstderr: {result.stderr}")
        self.assertTrue(result.stderr.startswith("stage: "), result.stderr)
        self.assertIn(words, result.stderr)

    # tests -------------------------------------------------------------------

    def test_install_writes_versioned_files_links_and_manifest(self) -> None:
        dist = self.dist("0.1.0", "abc1234", link="-static-pie")
        result = self.stage(dist=dist)
        self.assertEqual(result.code, 0, result.stderr)
        manifest = json.loads((self.sbin / "MANIFEST.json").read_text())
        for tool in cl.TOOLS:
            name = f"{tool}-0.1.0-abc1234"
            self.assertEqual(self.link(tool), name)
            self.assertEqual(self.runs(tool), f"{tool} 0.1.0 (commit abc1234, built 2026-12-01)")
            self.assertEqual(oct((self.sbin / name).stat().st_mode & 0o777), "0o755")
            entry = manifest["files"][name]
            self.assertEqual(entry["sha256"], sha256(dist / tool))
            self.assertEqual(entry["sha256"], sha256(self.sbin / name))
            self.assertTrue(entry["staged_by"] and entry["staged_at"])
            self.assertEqual(manifest["history"][tool], [name])
        self.assertEqual([e["action"] for e in manifest["events"]], ["stage"])
        self.assertFalse(list(self.sbin.glob(".stage-tmp-*")))

    def test_idempotent(self) -> None:
        dist = self.dist("0.1.0", "abc1234")
        self.assertEqual(self.stage(dist=dist).code, 0)
        before = self.snapshot()
        again = self.stage(dist=dist)
        self.assertEqual(again.code, 0, again.stderr)
        self.assertIn("nothing to do", again.stdout)
        self.assertEqual(self.snapshot(), before)

    def test_dry_run_changes_nothing(self) -> None:
        first = self.dist("0.1.0", "abc1234")
        before = self.snapshot()
        result = self.stage("--dry-run", dist=first)
        self.assertEqual(result.code, 0, result.stderr)
        self.assertIn("would copy", result.stdout)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.stage(dist=first).code, 0)
        staged = self.snapshot()
        second = self.dist("0.2.0", "def5678")
        result = self.stage("--dry-run", dist=second)
        self.assertEqual(result.code, 0, result.stderr)
        self.assertIn("would point", result.stdout)
        self.assertIn("casa-judge-0.2.0-def5678", result.stdout)
        self.assertEqual(self.snapshot(), staged)
        result = self.stage("--dry-run", "--rollback")
        self.assert_failed(result, 2, "first staged version")

    def test_upgrade_and_rollback(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        self.assertEqual(self.stage(dist=self.dist("0.2.0", "def5678")).code, 0)
        self.assertEqual(self.link("annotate-qa"), "annotate-qa-0.2.0-def5678")
        dry = self.stage("--rollback", "--dry-run")
        self.assertEqual(dry.code, 0, dry.stderr)
        self.assertEqual(self.link("annotate-qa"), "annotate-qa-0.2.0-def5678")
        result = self.stage("--rollback")
        self.assertEqual(result.code, 0, result.stderr)
        for tool in cl.TOOLS:
            self.assertEqual(self.link(tool), f"{tool}-0.1.0-abc1234")
            self.assertIn("0.1.0", self.runs(tool))
            self.assertTrue((self.sbin / f"{tool}-0.2.0-def5678").is_file(), "newer file kept")
        before = self.snapshot()
        self.assert_failed(self.stage("--rollback"), 2, "first staged version")
        self.assertEqual(self.snapshot(), before)
        manifest = json.loads((self.sbin / "MANIFEST.json").read_text())
        self.assertEqual([e["action"] for e in manifest["events"]], ["stage", "stage", "rollback"])
        # Staging the newer version again is a plain stage.
        self.assertEqual(self.stage(dist=self.dist("0.2.0", "def5678")).code, 0)
        self.assertEqual(self.link("casa-judge"), "casa-judge-0.2.0-def5678")

    def test_rollback_refuses_a_tampered_file(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        self.assertEqual(self.stage(dist=self.dist("0.2.0", "def5678")).code, 0)
        with (self.sbin / "component-list-0.1.0-abc1234").open("ab") as f:
            f.write(b"tampered")
        before = self.snapshot()
        self.assert_failed(self.stage("--rollback"), 1, "checksum mismatch")
        self.assertEqual(self.snapshot(), before)

    def test_refusals_leave_nothing_installed(self) -> None:
        cases = [
            (dict(link=""), "dynamically linked"),
            (dict(skip="annotate-qa"), "missing from"),
            (dict(bad_sum="component-list"), "checksum mismatch"),
            (dict(version_exit={"casa-judge": 1}), "--version failed"),
        ]
        for kwargs, words in cases:
            with self.subTest(words):
                self.assert_failed(self.stage(dist=self.dist("0.1.0", "abc1234", **kwargs)), 2, words)
                self.assertFalse((self.root / "vlass_dev").exists())

    def test_prod_takes_only_clean_builds(self) -> None:
        dirty = self.dist("0.1.0", "abc1234-dirty")
        self.assert_failed(self.stage(env="prod", dist=dirty), 2, "uncommitted changes")
        self.assertFalse((self.root / "vlass_prod").exists())
        self.assertEqual(self.stage(env="dev", dist=dirty).code, 0)
        self.assertEqual(self.link("casa-judge"), "casa-judge-0.1.0-abc1234-dirty")

    def test_a_script_is_not_a_static_binary(self) -> None:
        dist = self.dist("0.1.0", "abc1234")
        wrapper = dist / "annotate-qa"
        wrapper.write_text("#!/bin/sh\necho 'annotate-qa 0.1.0 (commit abc1234, built 2026-12-01)'\n")
        (dist / "SHA256SUMS").write_text("".join(f"{sha256(dist / t)}  {t}\n" for t in cl.TOOLS))
        self.assert_failed(self.stage(dist=dist), 2, "not an ELF executable")
        self.assertFalse((self.root / "vlass_dev").exists())

    def test_a_refused_upgrade_keeps_the_old_version(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        before = self.snapshot()
        self.assert_failed(self.stage(dist=self.dist("0.2.0", "def5678", link="")), 2, "dynamically linked")
        self.assert_failed(self.stage(dist=self.dist("0.2.0", "def5678", bad_sum="casa-judge")), 2,
                           "checksum mismatch")
        self.assertEqual(self.snapshot(), before)

    def test_bad_environment_and_root(self) -> None:
        dist = self.dist("0.1.0", "abc1234")
        result = self.stage(env="staging", dist=dist)
        self.assertEqual(result.code, 2)
        self.assertIn("invalid choice: 'staging'", result.stderr)
        self.assert_failed(self.stage(dist=dist, root=self.work / "absent"), 2, "root does not exist")
        self.assert_failed(self.stage(dist=self.work / "no-dist"), 2, "no such directory")

    def test_unwritable_root(self) -> None:
        # chattr +i stops even root; as another user a read-only mode does.
        readonly = self.work / "readonly"
        readonly.mkdir()
        if os.geteuid() == 0:
            if cl.run(["chattr", "+i", str(readonly)]).code != 0:
                self.skipTest("running as root and chattr +i is not available here")
            self.addCleanup(lambda: cl.run(["chattr", "-i", str(readonly)]))
        else:
            readonly.chmod(0o555)
            self.addCleanup(lambda: readonly.chmod(0o755))
        self.assert_failed(self.stage(dist=self.dist("0.1.0", "abc1234"), root=readonly), 2, "not writable")

    def test_existing_plain_file_is_not_replaced(self) -> None:
        self.sbin.mkdir(parents=True)
        (self.sbin / "casa-judge").write_text("an old hand-copied binary")
        self.assert_failed(self.stage(dist=self.dist("0.1.0", "abc1234")), 1, "is not a symlink")
        self.assertEqual((self.sbin / "casa-judge").read_text(), "an old hand-copied binary")

    def test_second_stage_waits_for_the_lock(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        before = self.snapshot()
        with open(self.sbin / ".stage.lock", "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            result = self.stage(dist=self.dist("0.2.0", "def5678"))
            rollback = self.stage("--rollback")
        self.assert_failed(result, 3, "another stage is running")
        self.assert_failed(rollback, 3, "another stage is running")
        self.assertEqual(self.snapshot(), before)

    def test_killed_mid_copy_the_old_version_still_runs(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        big = self.dist("0.2.0", "def5678")
        # Deterministic: the stage runs in a child whose os.fsync, when it is about to flush the
        # first copied binary (written, not yet renamed into place), signals us and then hangs; we
        # SIGKILL it there. Polling for the temporary file raced a fast copy (it lost on a quick CI).
        marker = self.work / "copy-reached-fsync"
        driver = (
            "import importlib.machinery, importlib.util, os, sys, time\n"
            "loader = importlib.machinery.SourceFileLoader('stage', sys.argv[1])\n"
            "spec = importlib.util.spec_from_loader('stage', loader)\n"
            "stage = importlib.util.module_from_spec(spec)\n"
            "sys.modules['stage'] = stage\n"
            "loader.exec_module(stage)\n"
            "real_fsync = os.fsync\n"
            "def fsync(fd):\n"
            "    name = os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))\n"
            "    if name.startswith(stage.TEMP_PREFIX) and '-0.2.0-def5678.' in name:\n"
            "        open(sys.argv[2], 'w').close()\n"
            "        time.sleep(600)\n"
            "    real_fsync(fd)\n"
            "os.fsync = fsync\n"
            "sys.exit(stage.main(sys.argv[3:]))\n"
        )
        argv = [sys.executable, "-c", driver, str(STAGE), str(marker),
                "--env", "dev", "--root", str(self.root), "--from", str(big)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        reached = marker.exists()
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate()
        self.assertTrue(reached, f"the stage never reached the copy (exit {proc.returncode}): "
                        f"{stderr.decode(errors='replace')}")
        leftovers = list(self.sbin.glob(".stage-tmp-*"))
        self.assertTrue(leftovers, "the interrupted copy left no temporary file")
        for tool in cl.TOOLS:
            self.assertEqual(self.link(tool), f"{tool}-0.1.0-abc1234")
            self.assertEqual(self.runs(tool), f"{tool} 0.1.0 (commit abc1234, built 2026-12-01)")
        result = self.stage(dist=big)
        self.assertEqual(result.code, 0, result.stderr)
        self.assertIn("interrupted stage", result.stdout)
        self.assertFalse(list(self.sbin.glob(".stage-tmp-*")))
        for tool in cl.TOOLS:
            self.assertEqual(self.link(tool), f"{tool}-0.2.0-def5678")
            self.assertEqual(sha256(self.sbin / self.link(tool)), sha256(big / tool))

    def test_killed_at_any_moment_leaves_a_runnable_version(self) -> None:
        self.assertEqual(self.stage(dist=self.dist("0.1.0", "abc1234")).code, 0)
        big = self.dist("0.2.0", "def5678", pad_bytes=4 << 20)
        complete = {sha256(self.sbin / self.link(t)) for t in cl.TOOLS} | {sha256(big / t) for t in cl.TOOLS}
        for delay in (0.05, 0.2, 0.4):
            with self.subTest(delay=delay):
                argv = [sys.executable, str(STAGE), "--env", "dev", "--root", str(self.root), "--from", str(big)]
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                for tool in cl.TOOLS:
                    target = self.sbin / self.link(tool)
                    self.assertIn(sha256(target), complete, f"{tool} points at an incomplete file")
                    self.assertIn(f"{tool} 0.", self.runs(tool))
                # Roll the links back to 0.1.0 by hand-free means: stage finishes, then rollback.
                self.assertEqual(self.stage(dist=big).code, 0)
                self.assertEqual(self.stage("--rollback").code, 0)


if __name__ == "__main__":
    unittest.main()
