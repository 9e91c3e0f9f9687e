#!/usr/bin/env python3
"""The examples of README.md (and of the Markdown docs it links) as tests.

Every fenced block in those files carries a marker comment on the line before it:

    <!-- example: ID [kind=console|sh|file|tree|text|json] [name=FILE] [exit=N[,N...]]
         [needs=gpu,efa,slurm,nhc,k8s,vcluster,install] [checked="what it was checked against"]
         [tests=ctest-name,...] [covered-by=ctest-name] [timeout=SECONDS]
         [shown-without=gpu] [match=shape|lines|exact] [cwd=DIR] [setup="COMMAND"]
         [rewrite="FROM=>TO;..."] [command="COMMAND"] [pointer=/json/pointer] -->

(on one line; a block inside a list item may be indented, its marker with it). What the test
does with each block:

  console   `$ command` lines (a trailing backslash continues one) run with bash in a fresh
            directory that holds `build`, `scripts`, `reports` and `tests` of this tree, the
            binaries first on PATH; the lines after a command are its shown output, compared
            with what it printed in shape: the steps and their statuses, the check ids and
            statuses (all of them, or those shown when the block elides with `...`), the
            verdict and its exit code, the first word of `baseline:`, `trend:`, `cluster:` and
            `comparison:` lines, usage errors word for word; `exit=` gives the commands' exit
            codes (one for the last command, the others 0; or one per command).
            `match=lines`: every shown output line (but `...`) must be printed, in order, with
            any number in place of each shown number (tables whose figures vary from run to
            run); `match=exact`: the shown lines, exactly, in order.
  json      a JSON excerpt (the members of one object, shown without its braces or with them):
            `command=` runs (it writes report.json) and the object at `pointer=` of report.json
            must have every member shown, with values of the same type (nested objects alike).
  sh        the block runs as one bash script; `exit=` its exit code.
  file      the block is written to `name=` in that directory (a plan, a config), for the
            commands after it.
  tree      every path at the start of a line exists in this tree.
  text      shown for reading only (a log excerpt); needs `checked=` saying why.

Commands run in the example's directory (`cwd=` a folder of it, e.g. scripts/k8s), `$WORK` is
that directory, `setup=` runs first (a folder the shown command expects, not worth showing), and
`rewrite=` replaces absolute paths of the shown commands (/var/lib/node_exporter/textfile) by
paths inside that directory, so no example writes outside it. `mpirun` runs as root and
oversubscribed where the test does (OMPI_ALLOW_RUN_AS_ROOT*, rmaps_base_oversubscribe), as a CI
machine configures Open MPI. `shown-without=gpu`: the output shown is of a machine without a GPU;
on one with a GPU the block is reported not run, saying so.

A block that needs what this machine lacks says so with `needs=` and names, in `checked=` and
`tests=`, what it was checked against instead; those tests must exist (ctest -N), and every
preflight command in it (and the preflight flags in PREFLIGHT_*_ARGS variables) must use only
flags its --help lists. `covered-by=` names the test that runs the block (the five-run CI
history test runs the README's plan). A fenced block without a marker fails the test, so no
example goes unchecked. Inline `ctest -R NAME` references must name registered tests.

    readme_examples.py run --repo R --build B [--vcluster] [--markdown FILE]
    readme_examples.py get FILE ID          print the body of example ID
    readme_examples.py commands FILE ID     print its commands, one per line (continuations joined)
    readme_examples.py compare EXPECTED ACTUAL   compare two outputs in shape (files)

`run` exits 0 when every example passed, 1 when one failed, 77 (skip) when --vcluster is asked
for and the virtual cluster is not enabled (PREFLIGHT_README_VCLUSTER=1, root).
"""
import argparse
import collections
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<id>[A-Za-z0-9._-]+)(?P<attrs>.*?)-->\s*$")
ATTR = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)=(?:"([^"]*)"|(\S+))')
FENCE = re.compile(r"^(\s*)(```+)\s*([A-Za-z0-9_+-]*)\s*$")
LINK = re.compile(r"\]\(([^)#\s]+\.md)\)")
CTEST_REF = re.compile(r"`ctest -R ([A-Za-z0-9._*-]+)`")
KNOWN_NEEDS = {"gpu", "efa", "slurm", "nhc", "k8s", "vcluster", "install"}
STATUSES = "PASS|WARN|FAIL|SKIP|ERROR|TIMEOUT"
STEP = re.compile(rf"^\s+({STATUSES})\s+(\S+)\s+exit\s+(-?\d+)\b")
CHECK = re.compile(rf"^({STATUSES})\s+([A-Z][A-Z0-9_]+)\s")
# `verdict: ...` as the binaries print it, or after a prefix (`preflight node --quick: verdict:`).
VERDICT = re.compile(r"^(?:\S.*: )?verdict: (\w+)\b.*\(exit (\d+)\)\s*$")
PLAN = re.compile(r"^preflight (\w+): (\d+) step")
SUMMARY = re.compile(r"^(baseline|trend|cluster|comparison): (\w+)")
# baseline: step NAME against BASELINE (PATH): STATUS: ... (one line per compared step)
BASELINE_STEP = re.compile(r"^baseline: step (\S+) against (\S+) \(.*?\): (\w+):")
USAGE = re.compile(r"^(\S+): usage error: (.*)$")
FINDING = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")


class Example:
    def __init__(self, source, line, ident, attrs, lang, body):
        self.source, self.line, self.id, self.attrs, self.lang, self.body = (
            source, line, ident, attrs, lang, body)
        self.kind = attrs.get("kind") or {"console": "console", "sh": "sh", "bash": "sh"}.get(lang, "")

    @property
    def where(self):
        return f"{self.source}:{self.line} (example {self.id})"

    def needs(self):
        return [n for n in self.attrs.get("needs", "").split(",") if n]


def extract(path):
    """The marked fenced blocks of a Markdown file; raises ValueError for an unmarked one."""
    lines = open(path, encoding="utf-8").read().split("\n")
    examples, problems, i = [], [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        start, indent, ticks = i, fence.group(1), fence.group(2)
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != ticks:
            # A block in a list item: its lines carry the fence's indentation.
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if not marker:
            problems.append(f"{path}:{start + 1}: a fenced block without an <!-- example: ... --> marker")
            continue
        attrs = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
                 for m in ATTR.finditer(marker.group("attrs"))}
        examples.append(Example(path, start + 1, marker.group("id"), attrs, fence.group(3), body))
    if problems:
        raise ValueError("\n".join(problems))
    return examples


def linked_docs(readme):
    base = os.path.dirname(readme)
    docs = []
    for target in LINK.findall(open(readme, encoding="utf-8").read()):
        path = os.path.normpath(os.path.join(base, target))
        if os.path.isfile(path) and path not in docs:
            docs.append(path)
    return docs


def commands_of(example):
    """[(command, [shown output lines])] of a console block."""
    result, current, continuing = [], None, False
    for line in example.body:
        if continuing:
            current[0] += "\n" + line
            continuing = line.endswith("\\")
            continue
        if line.startswith("$ "):
            current = [line[2:], []]
            result.append(current)
            continuing = line.endswith("\\")
        elif current is not None:
            current[1].append(line)
    return [(command, output) for command, output in result]


# ---- shape -------------------------------------------------------------------------------------

def shape(text):
    lines = text.split("\n")
    result = {"plan": None, "steps": [], "checks": collections.Counter(), "verdict": None,
              "summaries": {}, "usage": [], "excerpt": any(l.strip() in ("...", "…") for l in lines)}
    for line in lines:
        if m := PLAN.match(line):
            result["plan"] = (m.group(1), int(m.group(2)))
        elif m := STEP.match(line):
            result["steps"].append((m.group(1), m.group(2)))
        elif m := CHECK.match(line):
            result["checks"][(m.group(1), m.group(2))] += 1
        elif m := VERDICT.match(line):
            result["verdict"] = (m.group(1), int(m.group(2)))
        elif m := BASELINE_STEP.match(line):
            result["summaries"][f"baseline step {m.group(1)}"] = f"{m.group(2)}: {m.group(3)}"
        elif m := SUMMARY.match(line):
            result["summaries"].setdefault(m.group(1), m.group(2))
        elif m := USAGE.match(line):
            result["usage"].append(line.strip())
    return result


def compare_shapes(expected_text, actual_text):
    """Differences, in words, between a shown output and a real one; empty when they agree."""
    want, got = shape(expected_text), shape(actual_text)
    errors = []
    if want["plan"] and want["plan"] != got["plan"]:
        errors.append(f"plan line: shown {want['plan']}, got {got['plan']}")
    if want["steps"] and want["steps"] != got["steps"]:
        errors.append(f"steps: shown {want['steps']}, got {got['steps']}")
    if want["checks"]:
        if want["excerpt"]:
            missing = want["checks"] - got["checks"]
            if missing:
                errors.append(f"checks shown but not printed: {sorted(missing)}")
        elif want["checks"] != got["checks"]:
            errors.append(f"checks: shown {sorted(want['checks'].elements())}, "
                          f"got {sorted(got['checks'].elements())}")
    if want["verdict"] and want["verdict"] != got["verdict"]:
        errors.append(f"verdict: shown {want['verdict']}, got {got['verdict']}")
    for key, word in want["summaries"].items():
        if got["summaries"].get(key) != word:
            errors.append(f"'{key}:' line: shown '{word}', got '{got['summaries'].get(key)}'")
    for line in want["usage"]:
        if line not in got["usage"]:
            errors.append(f"usage error shown as '{line}', got {got['usage']}")
    structured = (want["plan"] or want["steps"] or want["checks"] or want["verdict"] or
                  want["summaries"] or want["usage"])
    if not structured:
        missing = set(FINDING.findall(expected_text)) - set(FINDING.findall(actual_text))
        if missing:
            errors.append(f"ids shown but not printed: {sorted(missing)}")
    return errors


NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def line_pattern(shown, numbers_vary):
    """A regex for one shown line: whitespace runs match any whitespace; with numbers_vary, each
    number matches any number."""
    parts, position = [], 0
    tokens = NUMBER.finditer(shown) if numbers_vary else iter(())
    for number in tokens:
        parts.append(re.escape(shown[position:number.start()]))
        parts.append(NUMBER.pattern)
        position = number.end()
    parts.append(re.escape(shown[position:]))
    pattern = "".join(parts)
    pattern = re.sub(r"(?:\\ )+", r"\\s+", pattern)  # re.escape writes a space as '\ '
    return re.compile(r"^\s*" + pattern.strip() + r"\s*$")


def compare_lines(expected_text, actual_text, numbers_vary):
    """The shown lines (but `...`) that the output lacks, in order; empty when all are there."""
    actual = actual_text.split("\n")
    errors, position = [], 0
    for shown in expected_text.split("\n"):
        if shown.strip() in ("...", "…", ""):
            continue
        pattern = line_pattern(shown.rstrip(), numbers_vary)
        for index in range(position, len(actual)):
            if pattern.match(actual[index].rstrip()):
                position = index + 1
                break
        else:
            errors.append(f"shown line not printed (in this order): {shown.strip()}")
    return errors


def compare_json_shape(shown, actual, where="."):
    """Members shown but missing, or of another type, in the actual object."""
    errors = []
    for key, value in shown.items():
        path = f"{where.rstrip('.')}.{key}" if where != "." else key
        if key not in actual:
            errors.append(f"{path}: shown, not in the report")
        elif isinstance(value, dict):
            if not isinstance(actual[key], dict):
                errors.append(f"{path}: shown as an object, is {type(actual[key]).__name__}")
            else:
                errors.extend(compare_json_shape(value, actual[key], path))
        elif value is not None and actual[key] is not None and \
                type(value) is not type(actual[key]) and \
                not (isinstance(value, (int, float)) and isinstance(actual[key], (int, float))):
            errors.append(f"{path}: shown as {type(value).__name__}, is {type(actual[key]).__name__}")
    return errors


def gpu_present():
    """An NVIDIA GPU as gpu-check.sh looks for one (the driver's /proc entries)."""
    directory = "/proc/driver/nvidia/gpus"
    return os.path.isdir(directory) and bool(os.listdir(directory))


# ---- running -----------------------------------------------------------------------------------

class Runner:
    def __init__(self, repo, build, vcluster):
        self.repo, self.build = os.path.abspath(repo), os.path.abspath(build)
        self.vcluster = vcluster
        self.bin = os.path.join(self.build, "bin")
        self.failures, self.passed, self.skipped, self.workdirs = [], 0, [], []
        self._tests = None
        self._help = {}

    def fail(self, example, message):
        self.failures.append(f"{example.where}: {message}")

    def ctest_names(self):
        if self._tests is None:
            out = subprocess.run(["ctest", "-N"], cwd=self.build, capture_output=True, text=True)
            self._tests = re.findall(r"Test\s+#\d+: (\S+)", out.stdout)
        return self._tests

    def test_exists(self, pattern):
        regex = re.compile(pattern)
        return any(regex.search(name) for name in self.ctest_names())

    def environment(self, work):
        env = dict(os.environ)
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "")
        env["XDG_DATA_HOME"] = os.path.join(work, ".local-share")
        env["WORK"] = work
        # Open MPI as a CI machine configures it: root allowed, more ranks than cores.
        if os.geteuid() == 0:
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        return env

    @staticmethod
    def rewritten(example, command, work):
        """The command with the marker's rewrite=FROM=>TO;... applied (TO inside work)."""
        for pair in filter(None, example.attrs.get("rewrite", "").split(";")):
            source, _, target = pair.partition("=>")
            command = command.replace(source, os.path.join(work, target))
        return command

    def prepare(self, example, work):
        """setup= of the marker, in the example's directory; False (and a failure) if it fails."""
        setup = example.attrs.get("setup")
        if not setup:
            return True
        rc, output, _ = self.execute(example, setup, work, 60)
        if rc != 0:
            self.fail(example, f"setup `{setup}` exited {rc}\n" + indent(output))
            return False
        return True

    def workdir(self):
        work = tempfile.mkdtemp(prefix="preflight-readme.")
        self.workdirs.append(work)
        for name, target in (("build", self.build), ("scripts", os.path.join(self.repo, "scripts")),
                             ("reports", os.path.join(self.repo, "reports")),
                             ("tests", os.path.join(self.repo, "tests"))):
            os.symlink(target, os.path.join(work, name))
        return work

    def execute(self, example, command, work, timeout):
        start = time.monotonic()
        cwd = os.path.join(work, example.attrs.get("cwd", ""))
        try:
            done = subprocess.run(["bash", "-c", command], cwd=cwd,
                                  env=self.environment(work), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "", time.monotonic() - start
        return done.returncode, done.stdout + done.stderr, time.monotonic() - start

    # -- static checks of what cannot run here

    def help_flags(self, argv):
        key = tuple(argv)
        if key not in self._help:
            out = subprocess.run(list(argv) + ["--help"], capture_output=True, text=True)
            self._help[key] = set(re.findall(r"--[A-Za-z0-9][A-Za-z0-9-]*", out.stdout + out.stderr))
        return self._help[key]

    def command_argv(self, words):
        """The --help argv of a preflight invocation: binary plus its subcommands, else None."""
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if not words:
            return None, []
        tool = os.path.basename(words[0])
        if not re.match(r"^preflight(-[a-z0-9]+)?$", tool):
            return None, []
        binary = os.path.join(self.bin, tool)
        argv, rest = [binary], words[1:]
        while rest and not rest[0].startswith("-") and len(argv) < 3 and \
                tool in ("preflight", "preflight-report"):
            argv.append(rest[0])
            rest = rest[1:]
            if rest and rest[0] in ("add", "list", "show", "trend", "create", "nccl-tests"):
                continue
            break
        return argv, rest

    def check_flags(self, example, text):
        if example.kind == "console":
            # Only the commands: the lines after them are what they printed.
            text = "\n".join(command for command, _ in commands_of(example))
        for line in text.replace("\\\n", " ").split("\n"):
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            for word in words:
                # PREFLIGHT_CLUSTER_ARGS="--max-rounds 8": flags for `preflight cluster`.
                m = re.match(r"^PREFLIGHT_(CLUSTER|NODE|PROLOG|HEALTHCHECK)_ARGS=(.*)$", word)
                if m:
                    plan = "cluster" if m.group(1) == "CLUSTER" else "node"
                    self.check_flag_words(example, [os.path.join(self.bin, "preflight"), plan],
                                          shlex.split(m.group(2)), word)
            argv, rest = self.command_argv(words)
            if argv:
                self.check_flag_words(example, argv, rest, line)

    def check_flag_words(self, example, argv, words, shown):
        if not os.access(argv[0], os.X_OK):
            self.fail(example, f"{os.path.basename(argv[0])} is not built")
            return
        # A subcommand's --help lists its own flags; the parents' (--json, --launcher) apply too.
        known = set()
        for depth in range(1, len(argv) + 1):
            known |= self.help_flags(argv[:depth])
        for word in words:
            flag = word.split("=", 1)[0]
            if flag.startswith("--") and flag not in known:
                self.fail(example, f"`{shown}`: {flag} is not a flag of "
                                   f"{' '.join([os.path.basename(argv[0])] + argv[1:])}")

    # -- per kind

    def run_file(self, files, example):
        name = example.attrs.get("name")
        if not name:
            self.fail(example, "kind=file needs name=FILE")
            return
        text = "\n".join(example.body) + "\n"
        if name.endswith(".json"):
            try:
                document = json.loads(text)
            except ValueError as error:
                self.fail(example, f"{name} is not JSON: {error}")
                return
            if isinstance(document, dict) and document.get("schema") == "preflight.plan/1":
                self.validate_plan(example, document)
        files.append((name, text))

    def validate_plan(self, example, document):
        try:
            import jsonschema  # python3-jsonschema: scripts/setup.sh --test-tools
        except ImportError:
            self.fail(example, "python3-jsonschema is missing: cannot check the plan "
                               "(scripts/setup.sh --test-tools installs it)")
            return
        schema = json.load(open(os.path.join(self.repo, "reports/schema/plan.schema.json")))
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=str)
        for error in errors[:5]:
            pointer = "/" + "/".join(str(p) for p in error.absolute_path)
            self.fail(example, f"the plan does not match plan.schema.json at {pointer}: {error.message}")
        baseline = document.get("baseline", {}).get("path")
        if baseline and not os.path.exists(os.path.join(self.repo, baseline)):
            self.fail(example, f"baseline.path {baseline} does not exist (relative to the plan, "
                               f"which the README's commands run from the top of the tree)")
        for step in document.get("steps", []):
            if not os.access(os.path.join(self.bin, step.get("tool", "")), os.X_OK):
                self.fail(example, f"step {step.get('name')}: {step.get('tool')} is not a built tool")
            self.check_flag_words(example, [os.path.join(self.bin, step.get("tool", ""))],
                                  step.get("args", []), f"step {step.get('name')}")

    def run_tree(self, example):
        for line in example.body:
            # Entries start a line; indented lines continue the description.
            entry = line.split()[0] if line.split() and not line[0].isspace() else ""
            if entry and not os.path.exists(os.path.join(self.repo, entry)):
                self.fail(example, f"{entry} does not exist in the tree")

    def run_console(self, example, work, files):
        expected_exits = [int(x) for x in example.attrs.get("exit", "0").split(",")]
        commands = commands_of(example)
        if not commands:
            self.fail(example, "a console block without `$ ` commands")
            return
        if len(expected_exits) == 1:
            expected_exits = [0] * (len(commands) - 1) + expected_exits
        if len(expected_exits) != len(commands):
            self.fail(example, f"exit= lists {len(expected_exits)} codes for {len(commands)} commands")
            return
        timeout = float(example.attrs.get("timeout", "120"))
        if not self.prepare(example, work):
            return
        match = example.attrs.get("match", "shape")
        if match not in ("shape", "lines", "exact"):
            self.fail(example, f"match={match}: shape, lines or exact")
            return
        for (command, shown), want in zip(commands, expected_exits):
            rc, output, seconds = self.execute(example, self.rewritten(example, command, work),
                                               work, timeout)
            if rc is None:
                self.fail(example, f"`{command}` did not finish within {timeout:.0f} s")
                return
            print(f"  ran `{command.splitlines()[0]}`: exit {rc} in {seconds:.1f} s")
            if rc != want:
                self.fail(example, f"`{command}` exited {rc}, the README says {want}\n"
                                   + indent(output))
                return
            shown_text = "\n".join(shown).strip("\n")
            if shown_text:
                if match == "shape":
                    errors = compare_shapes(shown_text, output)
                else:
                    errors = compare_lines(shown_text, output, numbers_vary=match == "lines")
                if errors:
                    self.fail(example, f"`{command}` printed an output of another shape:\n"
                                       + indent("\n".join(errors)) + "\n  printed:\n" + indent(output))

    def run_json(self, example, work):
        command, pointer = example.attrs.get("command"), example.attrs.get("pointer", "")
        if not command:
            self.fail(example, "kind=json needs command= (writing report.json) and pointer=")
            return
        text = "\n".join(example.body).strip()
        try:
            shown = json.loads(text if text.startswith("{") else "{" + text + "}")
        except ValueError as error:
            self.fail(example, f"the excerpt is not JSON members: {error}")
            return
        self.check_flags(example, command)
        if not self.prepare(example, work):
            return
        rc, output, seconds = self.execute(example, command, work,
                                           float(example.attrs.get("timeout", "120")))
        print(f"  ran `{command}`: exit {rc} in {seconds:.1f} s")
        want = int(example.attrs.get("exit", "0"))
        if rc != want:
            self.fail(example, f"`{command}` exited {rc}, the marker says {want}\n" + indent(output))
            return
        try:
            actual = json.load(open(os.path.join(work, "report.json"), encoding="utf-8"))
            for part in filter(None, pointer.split("/")):
                actual = actual[part]
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.fail(example, f"report.json has no object at {pointer}: {error!r}")
            return
        for error in compare_json_shape(shown, actual):
            self.fail(example, f"{pointer}: {error}")

    def run_sh(self, example, work):
        script = "\n".join(example.body)
        rc, output, seconds = self.execute(example, script, work,
                                           float(example.attrs.get("timeout", "120")))
        want = int(example.attrs.get("exit", "0"))
        print(f"  ran the script: exit {rc} in {seconds:.1f} s")
        if rc != want:
            self.fail(example, f"the script exited {rc}, the README says {want}\n" + indent(output))

    def check_not_run(self, example):
        needs = example.needs()
        unknown = set(needs) - KNOWN_NEEDS
        if unknown:
            self.fail(example, f"unknown needs= {sorted(unknown)} (known: {sorted(KNOWN_NEEDS)})")
        if needs and not example.attrs.get("checked"):
            self.fail(example, "needs= without checked= (what was it checked against instead?)")
        for test in filter(None, example.attrs.get("tests", "").split(",")):
            if not self.test_exists(test):
                self.fail(example, f"tests= names {test}, which is not a registered test")
        if needs and not example.attrs.get("tests"):
            self.fail(example, "needs= without tests= naming the tests that check it")
        self.check_flags(example, "\n".join(example.body))

    def run_file_examples(self, path, vcluster_pass):
        examples = extract(path)
        work = self.workdir()
        files = []
        for example in examples:
            needs = example.needs()
            runs_here = ("covered-by" not in example.attrs and
                         (not needs or (needs == ["vcluster"] and vcluster_pass)))
            if vcluster_pass and needs != ["vcluster"]:
                continue
            print(f"{example.where}: {example.kind or example.lang}"
                  f"{' (needs ' + ','.join(needs) + ')' if needs else ''}")
            if example.kind == "file":
                self.run_file(files, example)
                for name, text in files:
                    with open(os.path.join(work, name), "w", encoding="utf-8") as out:
                        out.write(text)
                if needs:
                    self.check_not_run(example)
                self.passed += 1
                continue
            if example.kind == "tree":
                self.run_tree(example)
                self.passed += 1
                continue
            if "covered-by" in example.attrs:
                test = example.attrs["covered-by"]
                if not self.test_exists(test):
                    self.fail(example, f"covered-by={test}: no such test")
                self.check_flags(example, "\n".join(example.body))
                print(f"  run by the test {test}")
                self.passed += 1
                continue
            if not runs_here:
                self.check_not_run(example)
                reason = f"needs {','.join(needs)}; checked against: {example.attrs.get('checked', '?')}"
                self.skipped.append(f"{example.where}: {reason}")
                print(f"  not run here: {reason}")
                continue
            without = example.attrs.get("shown-without")
            if without not in (None, "gpu"):
                self.fail(example, f"shown-without={without}: only gpu is known")
                continue
            if without == "gpu" and gpu_present():
                self.check_flags(example, "\n".join(example.body))
                reason = "its output is of a machine without a GPU, and this one has one"
                self.skipped.append(f"{example.where}: {reason}")
                print(f"  not run here: {reason}")
                continue
            if example.kind == "console" and "vcluster" in needs:
                self.check_flags(example, "\n".join(example.body))
                with VirtualClusterSession(self.repo, work):
                    self.run_console(example, work, files)
            elif example.kind == "console":
                self.check_flags(example, "\n".join(example.body))
                self.run_console(example, work, files)
            elif example.kind == "sh":
                self.check_flags(example, "\n".join(example.body))
                self.run_sh(example, work)
            elif example.kind == "json":
                self.run_json(example, work)
            elif example.kind == "text":
                if not example.attrs.get("checked"):
                    self.fail(example, "kind=text needs checked= saying what it was checked against")
                self.check_flags(example, "\n".join(example.body))
                for test in filter(None, example.attrs.get("tests", "").split(",")):
                    if not self.test_exists(test):
                        self.fail(example, f"tests= names {test}, which is not a registered test")
            else:
                self.fail(example, f"unknown kind '{example.kind}' (fence '{example.lang}')")
            self.passed += 1
        if not vcluster_pass:
            for test in CTEST_REF.findall(open(path, encoding="utf-8").read()):
                if not self.test_exists(test.replace("*", ".*")):
                    self.failures.append(f"{path}: `ctest -R {test}` names no registered test")


class VirtualClusterSession:
    """Holds the virtual cluster's session lock (the one `vcluster.sh with` takes) while an
    example uses it, and takes the cluster down afterwards, whatever the example did."""

    def __init__(self, repo, work):
        state = os.environ.get("PF_VCLUSTER_STATE_DIR", "/run/preflight-vcluster")
        self.lock_path, self.repo, self.work = state + ".session", repo, work
        self.lock = None

    def __enter__(self):
        import fcntl
        os.makedirs(os.path.dirname(self.lock_path), exist_ok=True)
        self.lock = open(self.lock_path, "w")
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the virtual cluster stayed busy ({self.lock_path})")
                time.sleep(1)

    def __exit__(self, *exc):
        subprocess.run([os.path.join(self.repo, "scripts/vcluster.sh"), "down"], cwd=self.work,
                       capture_output=True)
        self.lock.close()
        return False


def indent(text, prefix="    | "):
    return "\n".join(prefix + line for line in text.rstrip("\n").split("\n")[-60:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--repo", required=True)
    run.add_argument("--build", required=True)
    run.add_argument("--vcluster", action="store_true")
    run.add_argument("--markdown", help="the document to start from (default: the README)")
    get = sub.add_parser("get")
    get.add_argument("file")
    get.add_argument("id")
    commands = sub.add_parser("commands")
    commands.add_argument("file")
    commands.add_argument("id")
    compare = sub.add_parser("compare")
    compare.add_argument("expected")
    compare.add_argument("actual")
    args = parser.parse_args()

    if args.command in ("get", "commands"):
        for example in extract(args.file):
            if example.id == args.id:
                if args.command == "get":
                    print("\n".join(example.body))
                else:
                    for command, _ in commands_of(example):
                        print(command.replace("\\\n", " "))
                return 0
        print(f"{args.file}: no example {args.id}", file=sys.stderr)
        return 2
    if args.command == "compare":
        errors = compare_shapes(open(args.expected).read(), open(args.actual).read())
        for error in errors:
            print(error)
        return 1 if errors else 0

    if args.vcluster and (os.environ.get("PREFLIGHT_README_VCLUSTER") != "1" or os.geteuid() != 0):
        print("SKIP: the README's virtual-cluster examples run with PREFLIGHT_README_VCLUSTER=1 "
              "as root (they take the virtual cluster for about a minute)")
        return 77
    readme = os.path.abspath(args.markdown or os.path.join(args.repo, "README.md"))
    runner = Runner(args.repo, args.build, args.vcluster)
    try:
        for path in [readme] + linked_docs(readme):
            try:
                runner.run_file_examples(path, args.vcluster)
            except ValueError as error:
                runner.failures.append(str(error))
    finally:
        if os.environ.get("PREFLIGHT_README_KEEP") != "1":
            for work in runner.workdirs:  # symlinks into the tree are removed, not followed
                shutil.rmtree(work, ignore_errors=True)
    print(f"\n{runner.passed} example(s) checked, {len(runner.skipped)} not run here "
          f"(what they need is absent), {len(runner.failures)} failure(s)")
    for line in runner.skipped:
        print(f"  not run: {line}")
    for failure in runner.failures:
        print(f"FAIL - {failure}")
    return 1 if runner.failures else 0


if __name__ == "__main__":
    sys.exit(main())
