#!/usr/bin/env python3
"""readme_examples.py must fail a broken example: a documents pair, one whose examples all hold
and one where each example is broken in one way the README test exists to catch (wrong exit
code, another check id, a reworded usage error, a table line no longer printed, a JSON member
the report lost, a flag the binary does not have, an unmarked block in a linked doc, a block
needing hardware without saying what checked it). Exit: 0 pass, 1 fail, 77 skip."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("PREFLIGHT_REPO_DIR", os.path.dirname(os.path.dirname(HERE)))
BIN = os.environ.get("PREFLIGHT_BIN_DIR", "")
BUILD = os.path.dirname(BIN) if BIN else ""

GOOD = """# good

<!-- example: usage exit=2 -->
```console
$ preflight-allreduce --sizes 8:4
preflight-allreduce: usage error: --sizes 8:4: size spec: bad token '8:4': minimum 8 is above maximum 4
```

<!-- example: efa -->
```console
$ preflight-efa --root tests/fixtures/sysfs/p5en-old-driver
...
SKIP    EFA_PORT_RATE_LOW                    rates not judged
...
verdict: pass: 2 pass, 6 skip (exit 0)
```

<!-- example: lines match=lines setup="printf 'a 1\\nrow 12 x 3.5\\nb\\n' > t.txt" -->
```console
$ cat t.txt
row 7 x 1.25
...
```

<!-- example: json kind=json command="preflight-efa --root tests/fixtures/sysfs/p5en-old-driver --json report.json" pointer=/inventory -->
```json
"instance_type": "p5.48xlarge"
```

<!-- example: hw kind=text needs=gpu checked="nothing here; the selftest" tests=readme.examples -->
```text
$ preflight node --quick
```

See [the other](other.md).
"""

OTHER_GOOD = """# other

<!-- example: tree kind=tree -->
```
README.md
```
"""

BAD = """# bad

<!-- example: bad-exit -->
```console
$ preflight-allreduce --sizes 8:4
```

<!-- example: bad-usage exit=2 -->
```console
$ preflight-allreduce --sizes 8:4
preflight-allreduce: usage error: --sizes 8:4: something else
```

<!-- example: bad-id -->
```console
$ preflight-efa --root tests/fixtures/sysfs/p5en-old-driver
...
SKIP    EFA_PORT_RATE_HIGH                   rates not judged
...
```

<!-- example: bad-verdict -->
```console
$ preflight-efa --root tests/fixtures/sysfs/p5en-old-driver
...
verdict: fail: 1 fail (exit 1)
```

<!-- example: bad-lines match=lines -->
```console
$ echo 'row 12 x 3.5'
row 7 y 1.25
```

<!-- example: bad-json kind=json command="preflight-efa --root tests/fixtures/sysfs/p5en-old-driver --json report.json" pointer=/inventory -->
```json
"instance_type": "p5.48xlarge", "no_such_member": 1
```

<!-- example: bad-flag kind=text needs=gpu checked="x" tests=readme.examples -->
```text
$ preflight node --no-such-flag
```

<!-- example: bad-unchecked kind=text needs=gpu -->
```text
$ preflight node
```

See [the other](other.md).
"""

OTHER_BAD = """# other

```
an unmarked block
```
"""

EXPECTED_FAILURES = {
    "bad-exit": "exited 2, the README says 0",
    "bad-usage": "usage error shown as",
    "bad-id": "EFA_PORT_RATE_HIGH",
    "bad-verdict": "verdict: shown ('fail', 1)",
    "bad-lines": "shown line not printed",
    "bad-json": "no_such_member: shown, not in the report",
    "bad-flag": "--no-such-flag is not a flag of preflight node",
    "bad-unchecked": "needs= without checked=",
    "other.md": "a fenced block without an <!-- example: ... --> marker",
}


def run(markdown):
    return subprocess.run([sys.executable, os.path.join(HERE, "readme_examples.py"), "run",
                           "--repo", REPO, "--build", BUILD, "--markdown", markdown],
                          capture_output=True, text=True, timeout=120)


def main():
    if not BUILD or not os.access(os.path.join(BIN, "preflight-efa"), os.X_OK):
        print("SKIP: PREFLIGHT_BIN_DIR with the built binaries is not set")
        return 77
    failures = 0
    with tempfile.TemporaryDirectory(prefix="preflight-readme-selftest.") as work:
        for name, good, other in (("good", GOOD, OTHER_GOOD), ("bad", BAD, OTHER_BAD)):
            os.makedirs(os.path.join(work, name))
            with open(os.path.join(work, name, "doc.md"), "w") as out:
                out.write(good)
            with open(os.path.join(work, name, "other.md"), "w") as out:
                out.write(other)
        good = run(os.path.join(work, "good", "doc.md"))
        if good.returncode != 0 or "0 failure(s)" not in good.stdout:
            print(f"FAIL - examples that hold failed (exit {good.returncode}):\n{good.stdout}{good.stderr}")
            failures += 1
        else:
            print("ok   - examples that hold pass; the one needing a GPU is reported not run")
        if "not run: " not in good.stdout:
            print("FAIL - the example needing a GPU is not listed as not run")
            failures += 1
        bad = run(os.path.join(work, "bad", "doc.md"))
        if bad.returncode != 1:
            print(f"FAIL - broken examples: exit {bad.returncode}, expected 1")
            failures += 1
        # One entry per failure: "FAIL - WHERE (example ID): MESSAGE" and its indented lines.
        entries = bad.stdout.split("\nFAIL - ")[1:]
        for ident, words in EXPECTED_FAILURES.items():
            if not any(ident in entry and words in entry for entry in entries):
                print(f"FAIL - {ident}: not failed with '{words}'")
                failures += 1
            else:
                print(f"ok   - {ident}: failed ({words})")
    if failures:
        print(bad.stdout[-6000:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
