#!/usr/bin/env bash
# test_k8s_yaml.sh — static checks of scripts/k8s/*.yaml: they parse (PyYAML), have the
# expected kind/apiVersion, run `preflight`, and request the GPU/EFA/huge-page resources
# and IPC_LOCK; yamllint runs too when installed.  No cluster needed.
# Exit: 0 pass, 1 fail, 77 skip (no python3 or no PyYAML).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K8S=$ROOT/scripts/k8s

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: PyYAML (python3 -c 'import yaml') not installed"; exit 77; }

FAILS=0
if command -v yamllint >/dev/null 2>&1; then
    # relaxed: comments aligned for reading, long lines allowed
    if yamllint -d '{extends: relaxed, rules: {line-length: disable, comments: disable}}' \
        "$K8S"/*.yaml; then
        echo "ok   - yamllint"
    else
        echo "FAIL - yamllint"
        FAILS=$((FAILS + 1))
    fi
else
    echo "skip - yamllint not installed"
fi

python3 - "$K8S" <<'EOF' || FAILS=$((FAILS + 1))
import sys, yaml, pathlib

k8s = pathlib.Path(sys.argv[1])
fails = 0

def check(cond, what):
    global fails
    print(("ok   - " if cond else "FAIL - ") + what)
    if not cond:
        fails += 1

def load(name):
    path = k8s / name
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        check(False, f"{name} parses: {e}")
        return None
    check(len(docs) == 1, f"{name} parses into one document")
    return docs[0] if docs else None

def cmdline(c):
    return " ".join(str(x) for x in (c.get("command") or []) + (c.get("args") or []))

def dig(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d

def resources_ok(c, who):
    for kind in ("requests", "limits"):
        r = dig(c, "resources", kind) or {}
        check(str(r.get("nvidia.com/gpu")) == "8", f"{who}: {kind} nvidia.com/gpu: 8")
        check(str(r.get("vpc.amazonaws.com/efa")) == "32", f"{who}: {kind} vpc.amazonaws.com/efa: 32")
        check(any(k.startswith("hugepages-") for k in r), f"{who}: {kind} hugepages")
    req = dig(c, "resources", "requests") or {}
    lim = dig(c, "resources", "limits") or {}
    check(all(req.get(k) == lim.get(k) for k in req if k.startswith("hugepages-")),
          f"{who}: huge-page requests equal limits")
    check("memory" in req or "cpu" in req, f"{who}: cpu or memory requested (needed with hugepages)")
    caps = dig(c, "securityContext", "capabilities", "add") or []
    check("IPC_LOCK" in caps, f"{who}: capability IPC_LOCK")

# ---- MPIJob
m = load("mpijob-cluster-acceptance.yaml")
if m is not None:
    check(m.get("apiVersion") == "kubeflow.org/v2beta1", "MPIJob apiVersion kubeflow.org/v2beta1")
    check(m.get("kind") == "MPIJob", "MPIJob kind")
    check(bool(dig(m, "metadata", "name")), "MPIJob has a name")
    spec = m.get("spec") or {}
    check(spec.get("slotsPerWorker") == 1, "slotsPerWorker: 1")
    check(dig(spec, "runPolicy", "backoffLimit") == 0, "runPolicy.backoffLimit: 0")
    rs = spec.get("mpiReplicaSpecs") or {}
    check(set(rs) == {"Launcher", "Worker"}, "mpiReplicaSpecs has Launcher and Worker")
    launcher = dig(rs, "Launcher", "template", "spec", "containers") or [{}]
    check(dig(rs, "Launcher", "replicas") == 1, "one Launcher")
    check("preflight cluster" in cmdline(launcher[0]), "Launcher command runs `preflight cluster`")
    check("--json" in cmdline(launcher[0]), "Launcher writes a JSON report")
    wspec = dig(rs, "Worker", "template", "spec") or {}
    workers = wspec.get("containers") or [{}]
    check(isinstance(dig(rs, "Worker", "replicas"), int), "Worker replicas set")
    resources_ok(workers[0], "Worker")
    terms = dig(wspec, "affinity", "podAntiAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution") or []
    labels = dig(rs, "Worker", "template", "metadata", "labels") or {}
    one_per_node = any(
        t.get("topologyKey") == "kubernetes.io/hostname"
        and all(labels.get(k) == v for k, v in (dig(t, "labelSelector", "matchLabels") or {}).items())
        and dig(t, "labelSelector", "matchLabels")
        for t in terms)
    check(one_per_node, "Worker: required anti-affinity on hostname selecting its own pods (one per node)")
    vols = {v.get("name"): v for v in wspec.get("volumes") or []}
    check(any(dig(v, "emptyDir", "medium") == "Memory" for v in vols.values()), "Worker: /dev/shm in memory")

# ---- init-container gate
p = load("node-check-initcontainer.yaml")
if p is not None:
    check(p.get("kind") in ("Pod", "Deployment", "Job"), f"gate kind is a workload ({p.get('kind')})")
    check(p.get("apiVersion") in ("v1", "apps/v1", "batch/v1"), f"gate apiVersion ({p.get('apiVersion')})")
    pspec = p.get("spec") or {}
    if p.get("kind") != "Pod":
        pspec = dig(pspec, "template", "spec") or {}
    inits = pspec.get("initContainers") or []
    check(len(inits) >= 1, "has an initContainer")
    if inits:
        cl = cmdline(inits[0])
        check("preflight node" in cl and "--quick" in cl, "initContainer runs `preflight node --quick`")
        check("||" not in cl and "; exit 0" not in cl and "true" not in cl.split(),
              "initContainer does not swallow preflight's exit code")
        resources_ok(inits[0], "initContainer")
    mains = pspec.get("containers") or []
    check(len(mains) >= 1, "has a main container")
    if mains and inits:
        check(all("preflight node" not in cmdline(c) for c in mains), "main container is the workload")
        ri = dig(inits[0], "resources", "requests") or {}
        rm = dig(mains[0], "resources", "requests") or {}
        check(all(str(ri.get(k)) == str(rm.get(k)) for k in ("nvidia.com/gpu", "vpc.amazonaws.com/efa")),
              "initContainer checks the same GPU/EFA devices the main container gets")

sys.exit(1 if fails else 0)
EOF

if ((FAILS > 0)); then
    echo "FAILED"
    exit 1
fi
echo "all checks passed"
exit 0
