#!/usr/bin/env bash
# test_k8s_yaml.sh — static checks of scripts/k8s/*.yaml: yamllint (from scripts/setup.sh
# --test-tools; its absence is a failure, not a skip), they parse (PyYAML), have the expected
# kind/apiVersion, run `preflight`, and request the GPU/EFA/huge-page resources and IPC_LOCK;
# the node-problem-detector DaemonSet is checked for what makes it work on a real cluster (the
# plugin monitor's config, the scripts it embeds byte-identical to scripts/k8s/*.sh, RBAC for
# node conditions, no device taken from workloads).  No cluster needed.
# Exit: 0 pass, 1 fail.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K8S=$ROOT/scripts/k8s

command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 not installed (scripts/setup.sh --test-tools)"; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: PyYAML not installed (scripts/setup.sh --test-tools)"; exit 1; }

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
    echo "FAIL - yamllint not installed: run scripts/setup.sh --test-tools"
    FAILS=$((FAILS + 1))
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

# ---- node-problem-detector DaemonSet
def load_all(name):
    try:
        return [d for d in yaml.safe_load_all((k8s / name).read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        check(False, f"{name} parses: {e}")
        return []

docs = load_all("preflight-node-problem-detector.yaml")
by_kind = {d.get("kind"): d for d in docs}
check(set(by_kind) == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"},
      f"NPD manifest kinds ({sorted(by_kind)})")
ds, cm = by_kind.get("DaemonSet") or {}, by_kind.get("ConfigMap") or {}
check(ds.get("apiVersion") == "apps/v1", "DaemonSet apiVersion apps/v1")
spec = dig(ds, "spec", "template", "spec") or {}
check(dig(ds, "spec", "selector", "matchLabels") == dig(ds, "spec", "template", "metadata", "labels"),
      "DaemonSet selector matches its pod labels")
check(any(t.get("operator") == "Exists" and "key" not in t for t in spec.get("tolerations") or []),
      "DaemonSet tolerates every taint (GPU and cordoned nodes are checked too)")
sa = spec.get("serviceAccountName")
check(sa == dig(by_kind.get("ServiceAccount") or {}, "metadata", "name"), "pod runs as the manifest's ServiceAccount")
binding = by_kind.get("ClusterRoleBinding") or {}
check(any(s.get("name") == sa for s in binding.get("subjects") or []) and
      dig(binding, "roleRef", "name") == dig(by_kind.get("ClusterRole") or {}, "metadata", "name"),
      "ClusterRoleBinding binds the ServiceAccount to the ClusterRole")
rules = (by_kind.get("ClusterRole") or {}).get("rules") or []
def allowed(resource, verb):
    return any(resource in r.get("resources", []) and verb in r.get("verbs", []) for r in rules)
check(allowed("nodes/status", "patch"), "RBAC: patch nodes/status (NodeConditions)")
check(allowed("nodes", "get"), "RBAC: get nodes")
check(allowed("events", "create"), "RBAC: create events")
containers = {c.get("name"): c for c in spec.get("containers") or []}
check(set(containers) == {"preflight", "node-problem-detector"}, "containers: preflight and node-problem-detector")
pre, npd = containers.get("preflight") or {}, containers.get("node-problem-detector") or {}
for name, c in containers.items():
    res = c.get("resources") or {}
    taken = [k for part in ("requests", "limits") for k in (res.get(part) or {}) if k in ("nvidia.com/gpu", "vpc.amazonaws.com/efa")]
    check(not taken, f"{name}: takes no GPU or EFA device from workloads ({taken})")
check("preflight-node-loop.sh" in cmdline(pre), "preflight container runs the loop script")
env = {e.get("name"): e for e in pre.get("env") or []}
check(dig(env, "NVIDIA_VISIBLE_DEVICES", "value") == "all", "preflight sees the GPUs without allocating them")
npd_cmd = cmdline(npd)
check("node-problem-detector" in str(npd.get("image")), "NPD container runs node-problem-detector's image")
check("--config.custom-plugin-monitor=/config/preflight-plugin-monitor.json" in npd_cmd,
      "NPD loads the custom plugin monitor config")
npd_env = {e.get("name"): e for e in npd.get("env") or []}
check(dig(npd_env, "NODE_NAME", "valueFrom", "fieldRef", "fieldPath") == "spec.nodeName", "NPD gets NODE_NAME")
mounts = {c: {m.get("name"): m for m in (containers[c].get("volumeMounts") or [])} for c in containers}
volumes = {v.get("name"): v for v in spec.get("volumes") or []}
check(dig(volumes, "config", "configMap", "name") == dig(cm, "metadata", "name"), "config volume is the ConfigMap")
check(dig(volumes, "config", "configMap", "defaultMode") == 0o555, "ConfigMap files are executable (0555)")
check(dig(mounts, "preflight", "result", "mountPath") == dig(mounts, "node-problem-detector", "result", "mountPath") == "/preflight",
      "both containers share /preflight")
data = cm.get("data") or {}
for script in ("preflight-npd-plugin.sh", "preflight-node-loop.sh"):
    check(data.get(script) == (k8s / script).read_text(), f"ConfigMap {script} is byte-identical to scripts/k8s/{script}")
import json as _json
try:
    monitor = _json.loads(data.get("preflight-plugin-monitor.json", ""))
except ValueError as e:
    monitor = {}
    check(False, f"plugin monitor config is JSON: {e}")
check(monitor.get("plugin") == "custom", "monitor: plugin custom")
conditions = {c.get("type"): c for c in monitor.get("conditions") or []}
check("PreflightProblem" in conditions and conditions["PreflightProblem"].get("reason"),
      "monitor: condition PreflightProblem with a default reason")
prules = monitor.get("rules") or []
check(len(prules) == 1 and prules[0].get("type") == "permanent" and prules[0].get("condition") == "PreflightProblem",
      "monitor: one permanent rule setting PreflightProblem")
mount = dig(mounts, "node-problem-detector", "config", "mountPath")
check(bool(prules) and prules[0].get("path") == f"{mount}/preflight-npd-plugin.sh",
      "monitor: the rule runs the plugin from the mounted ConfigMap")
check(dig(monitor, "pluginConfig", "invoke_interval") and dig(monitor, "pluginConfig", "timeout"),
      "monitor: invoke_interval and timeout set")

sys.exit(1 if fails else 0)
EOF

if ((FAILS > 0)); then
    echo "FAILED"
    exit 1
fi
echo "all checks passed"
exit 0
