"""Runs every moontide test and prints one closing line: "N passed, N failed".

    /usr/bin/python3 tests/runner.py BUILD_DIR [NAME ...]

C unit tests (BUILD_DIR/tests/test_*) speak TAP: each "ok"/"not ok" line
counts. Black-box tests are the unittest modules tests/blackbox/test_*.py;
each test method counts. NAMEs restrict the run to tests whose file name
contains one of them (e.g. `tests/run routing json`).

With MOONTIDE_FUZZ_SECONDS=N (tests/run sets 20; 0 turns it off), a short
libFuzzer run of each target (tests/fuzz/run N) counts as one more test.
With MOONTIDE_SANITIZED_BUILD=DIR (tests/run sets build-asan), a full run
with no NAMEs ends by running the whole suite again against DIR, an
AddressSanitizer + UndefinedBehaviorSanitizer build, with leak checks on;
its tests count too (the black-box harness fails a test on any sanitizer
report in the server's output).
"""
import glob
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def wanted(path, names):
    return not names or any(n in os.path.basename(path) for n in names)


def run_unit(build_dir, names):
    """Returns (passed, failed, skipped): a binary whose plan is "1..0 # SKIP" counts as one skipped."""
    passed = failed = skipped = 0
    for exe in sorted(glob.glob(os.path.join(build_dir, "tests", "test_*"))):
        if not os.path.isfile(exe) or not os.access(exe, os.X_OK) or not wanted(exe, names):
            continue
        proc = subprocess.run([exe], capture_output=True, text=True, errors="replace", timeout=120)
        name = os.path.basename(exe)
        counted = 0
        for line in proc.stdout.splitlines():
            if line.startswith("ok "):
                passed += 1
                counted += 1
            elif line.startswith("not ok "):
                failed += 1
                counted += 1
                print(f"FAIL unit/{name}: {line}")
            elif line.startswith("1..0 # SKIP"):
                skipped += 1
                print(f"SKIP unit/{name}: {line[len('1..0 # SKIP'):].strip()}")
        if proc.returncode != 0 and counted == 0 or proc.returncode < 0:
            failed += 1
            print(f"FAIL unit/{name}: exited with {proc.returncode}\n{proc.stderr[-2000:]}")
        print(f"unit/{name}: {counted} checks")
    return passed, failed, skipped


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def run_blackbox(build_dir, names):
    os.environ["MOONTIDE_BIN"] = os.path.abspath(os.path.join(build_dir, "moontide"))
    sys.path.insert(0, os.path.join(HERE, "blackbox"))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for path in sorted(glob.glob(os.path.join(HERE, "blackbox", "test_*.py"))):
        if wanted(path, names):
            suite.addTests(loader.discover(os.path.dirname(path), pattern=os.path.basename(path)))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return result.passed, failed, len(result.skipped)


def run_fuzz(seconds):
    """tests/fuzz/run: builds the fuzz targets with clang and fuzzes each for `seconds`."""
    started = time.monotonic()
    proc = subprocess.run([os.path.join(HERE, "fuzz", "run"), str(seconds)], capture_output=True, text=True,
                          errors="replace", timeout=3600)
    print(proc.stdout.strip())
    if proc.returncode != 0:
        print(f"FAIL fuzz: tests/fuzz/run {seconds} exited with {proc.returncode}\n{proc.stderr[-4000:]}")
    print(f"fuzz: {time.monotonic() - started:.0f} s")
    return (1, 0) if proc.returncode == 0 else (0, 1)


def run_sanitized(build_dir):
    """The whole suite again (unit and black-box) against an ASan+UBSan build, leak checks on."""
    started = time.monotonic()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", MOONTIDE_FUZZ_SECONDS="0")
    env.pop("MOONTIDE_SANITIZED_BUILD", None)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), build_dir], capture_output=True, text=True,
                          errors="replace", env=env, timeout=3600)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = re.match(r"(\d+) passed, (\d+) failed", tail)
    for line in proc.stdout.splitlines():
        if line.startswith(("FAIL", "ERROR")):
            print(f"sanitized ({build_dir}): {line}")
    if counts is None:
        print(f"FAIL sanitized: the run against {build_dir} ended without a summary\n{proc.stdout[-3000:]}"
              f"{proc.stderr[-3000:]}")
        return 0, 1
    passed, failed = int(counts.group(1)), int(counts.group(2))
    print(f"sanitized ({build_dir}, ASan+UBSan, leaks checked): {passed} passed, {failed} failed "
          f"({time.monotonic() - started:.0f} s)")
    if failed:
        print(proc.stdout[-6000:])
    return passed, failed


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build_dir, names = sys.argv[1], sys.argv[2:]
    started = time.monotonic()
    unit_passed, unit_failed, unit_skipped = run_unit(build_dir, names)
    bb_passed, bb_failed, skipped = run_blackbox(build_dir, names)
    skipped += unit_skipped
    passed, failed = unit_passed + bb_passed, unit_failed + bb_failed
    fuzz_seconds = int(os.environ.get("MOONTIDE_FUZZ_SECONDS", "0"))
    if fuzz_seconds > 0 and (not names or "fuzz" in names):
        fuzz_passed, fuzz_failed = run_fuzz(fuzz_seconds)
        passed, failed = passed + fuzz_passed, failed + fuzz_failed
    sanitized_dir = os.environ.get("MOONTIDE_SANITIZED_BUILD")
    if sanitized_dir and not names:
        san_passed, san_failed = run_sanitized(sanitized_dir)
        passed, failed = passed + san_passed, failed + san_failed
    print(f"\nunit: {unit_passed} passed, {unit_failed} failed; black-box: {bb_passed} passed, {bb_failed} failed "
          f"({time.monotonic() - started:.0f} s)")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
