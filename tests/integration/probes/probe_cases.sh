#!/usr/bin/env bash
# Integration cases for the probe binaries: probe_cases.sh CASE CHECKER
# Exit 0 pass, 1 fail, 77 skip. Needs PREFLIGHT_BIN_DIR and PREFLIGHT_REPO_DIR (set by CTest).
set -u

case_name=$1
checker=$2
bin=${PREFLIGHT_BIN_DIR:?}
repo=${PREFLIGHT_REPO_DIR:?}
sysfs=$repo/tests/fixtures/sysfs
topology=$repo/tests/fixtures/topology
# Never ask 169.254.169.254 from a test, whatever a case forgets.
export PREFLIGHT_NO_IMDS=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run NAME EXPECTED_EXITS -- COMMAND...: runs, records stdout/stderr, checks the exit code.
run() {
  local name=$1 allowed=$2
  shift 3
  "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$?
  echo "$code" >"$work/$name.code"
  if [[ ",$allowed," != *",$code,"* ]]; then
    fail "$name: exit $code, expected one of {$allowed}: $* ($(head -c 400 "$work/$name.err"))"
  fi
  return 0
}

# check REPORT: validates with the C++ schema validator, leaves its findings in $work/check.txt.
check() {
  if ! "$checker" "$1" >"$work/check.txt" 2>"$work/check.err"; then
    fail "$1 is not a valid report: $(cat "$work/check.err")"
    return 1
  fi
}

value() { sed -n "s/^$1=//p" "$work/check.txt"; }

# expect_fired REPORT "ID,ID": the exact multiset of ids that fired (warn/fail), sorted: an id that
# fires twice is listed twice.
expect_fired() {
  check "$1" || return
  local fired
  fired=$(value fired)
  [[ "$fired" == "$2" ]] || fail "$1: fired '$fired', expected '$2'"
}

# Ids that only the live libraries can raise under --root (API rows stay live).
live_only_version_ids="CUDA_DRIVER_TOO_OLD CUDA_TOO_OLD NCCL_TOO_OLD LIBFABRIC_HEADER_RUNTIME_MISMATCH EFA_PROVIDER_MISSING"

# expect_finding REPORT "ID STATUS EVIDENCE-PREFIX": one finding line starts with that text
# (evidence as compact JSON with sorted keys).
expect_finding() {
  check "$1" || return
  grep -qF "finding=$2" "$work/check.txt" ||
    fail "$1: no finding '$2' among: $(grep '^finding=' "$work/check.txt" | head -5)"
}

# expect_fired_file_based REPORT "ID,ID": as expect_fired, ignoring live-only ids.
expect_fired_file_based() {
  check "$1" || return
  local fired kept=""
  fired=$(value fired)
  for id in ${fired//,/ }; do
    [[ " $live_only_version_ids " == *" $id "* ]] && continue
    kept+="${kept:+,}$id"
  done
  [[ "$kept" == "$2" ]] || fail "$1: file-based findings '$kept' (all: '$fired'), expected '$2'"
}

case "$case_name" in
  versions_live)
    run versions "0,1,3" -- "$bin/preflight-versions" --json "$work/v.json"
    check "$work/v.json"
    run versions_stdout "0,1,3" -- "$bin/preflight-versions" --json -
    cp "$work/versions_stdout.out" "$work/stdout.json"
    check "$work/stdout.json"
    grep -q '"VERSION_NCCL"' "$work/stdout.json" || fail "no VERSION_NCCL row"
    # Text mode: one line per row, a verdict line, nothing else on stdout.
    run versions_text "0,1,3" -- "$bin/preflight-versions"
    grep -q '^verdict: ' "$work/versions_text.out" || fail "no verdict line"
    # What this machine has installed is found, at its version: a probe that lost libfabric,
    # Open MPI or NCCL detection must fail here, not skip.
    text=$work/versions_text.out
    if command -v fi_info >/dev/null; then
      want=$(fi_info --version | sed -n 's/^libfabric: \([0-9]*\.[0-9]*\).*/\1/p')
      grep -Eq "^PASS +VERSION_LIBFABRIC +libfabric $want " "$text" ||
        fail "libfabric $want (fi_info) not found: $(grep VERSION_LIBFABRIC "$text" | head -1)"
    fi
    if command -v ompi_info >/dev/null; then
      want=$(ompi_info --version | sed -n 's/^Open MPI v\([0-9.]*\).*/\1/p' | head -1)
      grep -Eq "^PASS +VERSION_MPI .*Open MPI v$want " "$text" ||
        fail "Open MPI $want (ompi_info) not found: $(grep VERSION_MPI "$text" | head -1)"
    fi
    nccl_header=/usr/local/cuda/include/nccl.h
    if [[ -f $nccl_header ]] && compgen -G '/usr/local/cuda/lib*/libnccl.so.2' >/dev/null; then
      want=$(awk '/^#define NCCL_(MAJOR|MINOR|PATCH) /{printf "%s%s", sep, $3; sep="."}' \
        "$nccl_header")
      grep -Eq "^PASS +VERSION_NCCL +NCCL $want " "$text" ||
        fail "NCCL $want ($nccl_header) not found: $(grep 'VERSION_NCCL ' "$text" | head -1)"
    fi
    ;;
  versions_live_jsonschema)
    if ! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
      echo "python3-jsonschema not installed" >&2
      exit 77
    fi
    run versions "0,1,3" -- "$bin/preflight-versions" --json -
    /usr/bin/python3 - "$repo/reports/schema/report.schema.json" "$work/versions.out" <<'PY' ||
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator(schema).validate(report)
assert report["verdict"]["exit_code"] in (0, 1, 3), report["verdict"]
PY
      fail "python jsonschema rejected the report"
    ;;
  versions_old_versions)
    run old "0,1" -- "$bin/preflight-versions" --root "$sysfs/old-versions" --json "$work/old.json"
    expect_fired_file_based "$work/old.json" "EFA_INSTALLER_TOO_OLD,OFI_NCCL_TOO_OLD"
    grep -q '"aws_ofi_nccl": "1.5.0aws"' "$work/old.json" || fail "plugin version not reported"
    grep -q '"aws_ofi_nccl_path": "/opt/aws-ofi-nccl/lib/libnccl-net.so"' "$work/old.json" ||
      fail "legacy plugin path not reported"
    ;;
  versions_fixtures)
    for tree in p5en-healthy p4d-healthy p5en-missing-device p5en-port-down; do
      run "$tree" "0,1" -- "$bin/preflight-versions" --root "$sysfs/$tree" --json "$work/$tree.json"
      expect_fired_file_based "$work/$tree.json" ""
    done
    ;;
  versions_help)
    run help "0" -- "$bin/preflight-versions" --help
    grep -q -- '--root' "$work/help.out" || fail "--help lacks --root"
    grep -q 'still come from' "$work/help.out" || fail "--help does not say API rows stay live"
    run version "0" -- "$bin/preflight-versions" --version
    grep -q '^preflight-versions ' "$work/version.out" || fail "--version line"
    ;;
  drivers_fixtures)
    for tree in p5en-healthy p4d-healthy old-versions p5en-port-down; do
      run "$tree" "0" -- "$bin/preflight-drivers" --root "$sysfs/$tree" --json "$work/$tree.json"
      expect_fired "$work/$tree.json" ""
    done
    ;;
  drivers_live)
    run drivers "0,1,3" -- "$bin/preflight-drivers" --json "$work/d.json"
    check "$work/d.json"
    if [[ ! -e /proc/driver/nvidia/version ]]; then
      grep -Eq '^SKIP +NVIDIA_DRIVER_VERSION ' <("$bin/preflight-drivers") ||
        grep -Eq '^FAIL +NVIDIA_DRIVER_MISSING ' <("$bin/preflight-drivers") ||
        fail "no NVIDIA driver row"
    fi
    ;;
  topology_fixtures)
    declare -A expected=(
      [p4d]="" [p5]="" [p5en]=""
      [p4d-missing-efa]="EFA_COUNT_MISMATCH,EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH"
      [p4d-efa-wrong-socket]="EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH,GPU_NIC_CROSS_NUMA,GPU_NIC_CROSS_NUMA"
      [p5-efa-wrong-socket]="EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH,GPU_NIC_CROSS_NUMA"
      [p5en-efa-wrong-socket]="EFA_PER_GPU_MISMATCH,EFA_PER_GPU_MISMATCH,GPU_NIC_CROSS_NUMA"
      [p5en-link-downtrained]="PCIE_LINK_DOWNTRAINED")
    for name in "${!expected[@]}"; do
      run "$name" "0,1" -- "$bin/preflight-topology" --hwloc-xml "$topology/$name.xml" \
        --json "$work/$name.json"
      expect_fired "$work/$name.json" "${expected[$name]}"
    done
    # A missing EFA, or a GPU whose NIC is not behind its own switch / on its socket, fails
    # acceptance; the healthy shapes pass.
    for name in p4d-missing-efa p4d-efa-wrong-socket p5-efa-wrong-socket p5en-efa-wrong-socket; do
      [[ $(cat "$work/$name.code") == 1 ]] || fail "$name: exit $(cat "$work/$name.code"), not 1"
      grep -Eq '^verdict: fail' "$work/$name.out" || fail "$name: no failing verdict line"
    done
    for name in p4d p5 p5en; do
      [[ $(cat "$work/$name.code") == 0 ]] || fail "$name: exit $(cat "$work/$name.code"), not 0"
    done
    # The p4d's missing EFA leaves exactly the two GPUs it served without a local NIC.
    expect_finding "$work/p4d-missing-efa.json" 'EFA_COUNT_MISMATCH fail {"expected":4,"found":3}'
    expect_finding "$work/p4d-missing-efa.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:90:1c.0","local_efa":[]}'
    expect_finding "$work/p4d-missing-efa.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:90:1d.0","local_efa":[]}'
    # The p4d's NIC on the wrong socket: switch 0's two GPUs lost theirs and both share the
    # one added beside GPUs 4 and 5 on the other socket.
    for gpu in 0000:10:1c.0 0000:10:1d.0; do
      expect_finding "$work/p4d-efa-wrong-socket.json" \
        "GPU_NIC_CROSS_NUMA fail {\"distance\":\"SYS\",\"efa\":\"0000:90:1e.0\",\"gpu\":\"$gpu\"}"
      expect_finding "$work/p4d-efa-wrong-socket.json" \
        "EFA_PER_GPU_MISMATCH fail {\"gpu\":\"$gpu\",\"local_efa\":[]}"
    done
    expect_finding "$work/p4d-efa-wrong-socket.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:90:1c.0","local_efa":["rdmap144s27","rdmap144s30"]}'
    # The p5's NIC on the wrong socket: its GPU has 3 local NICs, the other socket's GPU 5.
    expect_finding "$work/p5-efa-wrong-socket.json" \
      'GPU_NIC_CROSS_NUMA fail {"distance":"SYS","efa":"0000:a9:00.0","gpu":"0000:64:00.0"}'
    expect_finding "$work/p5-efa-wrong-socket.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:64:00.0","local_efa":["rdmap96s0","rdmap98s0","rdmap99s0"]}'
    # The p5en's: GPU 1 keeps one of its two NICs, GPU 5 holds three.
    expect_finding "$work/p5en-efa-wrong-socket.json" \
      'GPU_NIC_CROSS_NUMA fail {"distance":"SYS","efa":"0000:a7:00.0","gpu":"0000:63:00.0"}'
    expect_finding "$work/p5en-efa-wrong-socket.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:63:00.0","local_efa":["rdmap101s0"]}'
    expect_finding "$work/p5en-efa-wrong-socket.json" \
      'EFA_PER_GPU_MISMATCH fail {"gpu":"0000:a3:00.0","local_efa":["rdmap165s0","rdmap166s0","rdmap167s0"]}'
    ;;
  topology_p4d_mapping)
    run p4d "0" -- "$bin/preflight-topology" --hwloc-xml "$topology/p4d.xml" \
      --instance-type p4d.24xlarge --json -
    cp "$work/p4d.out" "$work/p4d.json"
    check "$work/p4d.json" || exit 1
    pairs=$(grep -c '^pair=' "$work/check.txt")
    [[ $pairs == 8 ]] || fail "expected 8 GPU->EFA pairs, got $pairs"
    # Each GPU's EFA sits behind its own switch: same secondary bus (0000:10:1c.0 ->
    # 0000:10:1b.0), distance PIX or PXB.
    while read -r gpu efa class; do
      [[ ${gpu:0:7} == "${efa:0:7}" ]] || fail "GPU $gpu mapped to $efa behind another switch"
      [[ $class == PIX || $class == PXB ]] || fail "GPU $gpu -> $efa is $class"
    done < <(sed -n 's/^pair=//p' "$work/check.txt")
    grep -q '"suggested_nic_per_local_rank"' "$work/p4d.json" || fail "no suggested NICs"
    ;;
  topology_matrix)
    run matrix "0" -- "$bin/preflight-topology" --hwloc-xml "$topology/p5en.xml" --format matrix
    grep -Eq '^GPU0 +PIX +PIX +NODE' "$work/matrix.out" || fail "matrix row GPU0"
    grep -q 'NIC15: rdmap198s0' "$work/matrix.out" || fail "NIC legend"
    ;;
  topology_live)
    run live "0,1,3" -- "$bin/preflight-topology" --json "$work/t.json"
    check "$work/t.json"
    run root "0,1,3" -- "$bin/preflight-topology" --root "$sysfs/p5en-missing-device" \
      --json "$work/r.json"
    expect_fired "$work/r.json" "EFA_COUNT_MISMATCH"
    ;;
  env_file)
    printf 'FI_EFA_USE_HUGE_PAGE=0\nexport FI_PROVIDER=efa\nNCCL_PROTO=simple\n' >"$work/job.env"
    run job "0" -- "$bin/preflight-env" --root "$sysfs/p5en-healthy" --env-file "$work/job.env" \
      --json "$work/env.json"
    expect_fired "$work/env.json" "ENV_FI_PROVIDER_STALE,ENV_NCCL_PROTO_STALE"
    printf 'A=1\nthis is not an assignment\n' >"$work/bad.env"
    run bad "2" -- "$bin/preflight-env" --env-file "$work/bad.env"
    grep -q "bad.env:2:" "$work/bad.err" || fail "usage error does not name file:line"
    ;;
  env_live)
    run env "0,1,3" -- env NCCL_SOCKET_IFNAME=no-such-if "$bin/preflight-env" --json "$work/e.json"
    check "$work/e.json"
    [[ $(value fired) == *ENV_NCCL_SOCKET_IFNAME_NO_MATCH* ]] || fail "IFNAME finding missing"
    ;;
  efa_fixtures)
    declare -A expected=(
      [p5en-healthy]="" [p4d-healthy]="" [p5-healthy]="" [p6-b200-healthy]=""
      [old-versions]="EFA_DEVICE_RDMA_OFF" [p5en-counters-before]=""
      [p5en-missing-device]="EFA_COUNT_MISMATCH" [p5en-port-down]="EFA_PORT_DOWN"
      [p5en-old-driver]="" [p5en-slow-nic]="EFA_PORT_RATE_LOW"
      [p4d-unsplit-counters]="EFA_SETUP_ERRORS")
    for tree in "${!expected[@]}"; do
      run "$tree" "0,1" -- "$bin/preflight-efa" --root "$sysfs/$tree" --json "$work/$tree.json"
      expect_fired "$work/$tree.json" "${expected[$tree]}"
    done
    # The evidence names the one device and port at fault, not only the finding's id.
    expect_finding "$work/p5en-port-down.json" \
      'EFA_PORT_DOWN fail {"device":"rdmap118s0","pci_bus_id":"0000:76:00.0","phys_state":"3: Disabled","port":1,"state":"1: DOWN"}'
    expect_finding "$work/p5en-missing-device.json" \
      'EFA_COUNT_MISMATCH fail {"expected":16,"found":15,"retries":0}'
    expect_finding "$work/p5en-slow-nic.json" 'EFA_PORT_RATE_LOW warn {"device":"rdmap86s0",'
    ;;
  efa_counters)
    run before "0" -- "$bin/preflight-efa" --root "$sysfs/p5en-counters-before" \
      --save-counters "$work/before.json" --quiet
    [[ -s "$work/before.json" ]] || fail "no snapshot written"
    # Path events are monitor (warn, exit 0): the counters count other jobs' peers too.
    run after "0" -- "$bin/preflight-efa" --root "$sysfs/p5en-counters-after" \
      --baseline-counters "$work/before.json" --json "$work/after.json"
    expect_fired "$work/after.json" "EFA_ERROR_COUNTERS_RISING"
    [[ $(value deltas) == 16 ]] || fail "hw_counters_delta should cover 16 devices"
    grep -q 'rdmap166s0 error counters rose: retrans_timeout_events +17' "$work/after.json" ||
      fail "rising counters not named"
    printf '{"schema": "preflight.efa-counters/1", "devices": [' >"$work/broken.json"
    run broken "2" -- "$bin/preflight-efa" --root "$sysfs/p5en-healthy" \
      --baseline-counters "$work/broken.json"
    grep -q "broken.json:1:" "$work/broken.err" || fail "malformed baseline not located"
    ;;
  efa_live)
    run efa "0,1,3" -- "$bin/preflight-efa" --json "$work/efa.json"
    check "$work/efa.json"
    if [[ ! -d /sys/class/infiniband ]]; then
      [[ $(cat "$work/efa.code") == 3 ]] || fail "no EFA here: expected exit 3"
    fi
    ;;
  usage_errors)
    run root "2" -- "$bin/preflight-drivers" --root /nonexistent/root
    # A missing directory is created (inside $work); one under a regular file cannot be.
    echo "a file, not a directory" >"$work/plain"
    run json "2" -- "$bin/preflight-versions" --json "$work/plain/dir/x.json"
    grep -q "$work/plain/dir/x.json" "$work/json.err" || fail "--json error does not name the path"
    run json_created "0" -- "$bin/preflight-versions" --json "$work/made/by/json/x.json"
    [[ -s $work/made/by/json/x.json ]] || fail "--json into a missing directory wrote no report"
    run format "2" -- "$bin/preflight-topology" --format bogus
    run both "2" -- "$bin/preflight-topology" --hwloc-xml "$topology/p4d.xml" --root "$sysfs/p4d-healthy"
    run xml "2" -- "$bin/preflight-topology" --hwloc-xml "$work/missing.xml"
    run baseline "2" -- "$bin/preflight-efa" --baseline-counters "$work/missing.json"
    run save "2" -- "$bin/preflight-efa" --save-counters "$work/plain/dir/s.json"
    run envfile "2" -- "$bin/preflight-env" --env-file "$work/missing.env"
    ;;
  *)
    echo "unknown case $case_name" >&2
    exit 1
    ;;
esac

if ((failures > 0)); then
  exit 1
fi
echo "ok: $case_name"
