#!/usr/bin/env bash
# Golden outputs: every binary's --deterministic text and JSON on the repository's fixtures (sysfs
# trees, hwloc XML, reports, nccl-tests logs), and every binary's --help, diffed against the files
# under tests/golden/expected/. A change to a renderer, a finding's message or a flag shows up
# here as a diff that a reviewer reads.
#
#   tests/golden/golden.sh [BIN_DIR]            compare (exit 1 on any difference, 77 if unbuilt)
#   tests/golden/golden.sh --refresh [BIN_DIR]  rewrite the expected files from this build
#
# BIN_DIR defaults to $PREFLIGHT_BIN_DIR, then build/bin. Outputs name the repository as @REPO@
# so that they do not depend on where it is checked out. Left out on purpose: what is measured
# (collectives and p2p timings vary run to run; their tables are pinned through the report
# renderers on fixed reports) and preflight-versions' library rows (they come from the libraries
# the running process can load, by design).
set -uo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
expected_dir=$repo_dir/tests/golden/expected
refresh=0
if [[ ${1:-} == --refresh ]]; then
  refresh=1
  shift
fi
bin_dir=${1:-${PREFLIGHT_BIN_DIR:-$repo_dir/build/bin}}
[[ -x $bin_dir/preflight-report ]] || { echo "skip: no preflight-report in $bin_dir"; exit 77; }
bin_dir=$(cd "$bin_dir" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"
sysfs=$repo_dir/tests/fixtures/sysfs
topology=$repo_dir/tests/fixtures/topology
reports=$repo_dir/tests/fixtures/reports
# A fixed environment: reports record the environment variables that matter to NCCL, EFA and
# preflight, so the caller's (CUDA_HOME, CTest's PREFLIGHT_*) must not reach them.
clean_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8
  PREFLIGHT_DETERMINISTIC=1)

# golden NAME COMMAND...: runs COMMAND in an empty directory; @JSON@ in it becomes the report
# path. Keeps "exit N", stdout, stderr and the report (if written) as NAME.txt and NAME.json.
golden() {
  local name=$1
  shift
  local json=$work/run/report.json
  rm -rf "$work/run" && mkdir -p "$work/run"
  local command=()
  for argument in "$@"; do
    command+=("${argument//@JSON@/$json}")
  done
  (cd "$work/run" && "${clean_env[@]}" "${command[@]}" >"$work/stdout" 2>"$work/stderr")
  local rc=$?
  {
    echo "exit $rc"
    echo "--- stdout"
    cat "$work/stdout"
    echo "--- stderr"
    cat "$work/stderr"
  } | sed -e "s|$repo_dir|@REPO@|g" -e "s|$bin_dir|@BIN@|g" -e "s|$work/run|@WORK@|g" \
    >"$work/out/$name.txt"
  if [[ -f $json ]]; then
    sed -e "s|$repo_dir|@REPO@|g" -e "s|$bin_dir|@BIN@|g" -e "s|$work/run|@WORK@|g" "$json" \
      >"$work/out/$name.json"
  fi
}

binaries=()
for path in "$bin_dir"/preflight*; do
  [[ -x $path && -f $path ]] && binaries+=("$(basename "$path")")
done
for binary in "${binaries[@]}"; do
  golden "help.$binary" "$bin_dir/$binary" --help
done

# Probes on every sysfs tree (IMDS never asked: a root is given).
for tree in "$sysfs"/*/; do
  tree=$(basename "$tree")
  for probe in drivers topology env efa; do
    golden "probe.$probe.$tree" "$bin_dir/preflight-$probe" --root "$sysfs/$tree" --json @JSON@
  done
done
# Topology from hwloc XML, as each instance type.
for xml in "$topology"/*.xml; do
  name=$(basename "$xml" .xml)
  case $name in
    p4d*) type=p4d.24xlarge ;;
    p5en*) type=p5en.48xlarge ;;
    p5*) type=p5.48xlarge ;;
    *) type= ;;
  esac
  golden "probe.topology-xml.$name" "$bin_dir/preflight-topology" --hwloc-xml "$xml" \
    ${type:+--instance-type "$type"} --no-imds --json @JSON@
done

# preflight-report: every format of fixed reports, comparisons, imports, validation.
report_tool=$bin_dir/preflight-report
for report in "$reports"/preflight-*.json; do
  name=$(basename "$report" .json)
  for format in text markdown html junit prometheus; do
    golden "report.render-$format.$name" "$report_tool" render "$report" --format "$format"
  done
done
golden report.diff.slower "$report_tool" diff "$reports/preflight-allreduce-mpi.json" \
  "$reports/preflight-allreduce-mpi-slower.json" --json @JSON@
golden report.diff.noisy "$report_tool" diff "$reports/preflight-allreduce-mpi.json" \
  "$reports/preflight-allreduce-mpi-noisy.json" --json @JSON@
for log in "$reports"/nccl-tests/*.txt "$reports"/nccl-tests/*.json; do
  name=$(basename "$log")
  golden "report.import.$name" "$report_tool" import nccl-tests "$log" --json @JSON@
done
for baseline in "$repo_dir"/reports/baselines/*.json; do
  golden "report.validate.$(basename "$baseline" .json)" "$report_tool" validate "$baseline"
done
golden report.model.p5-2node "$report_tool" baseline model --instance-type p5.48xlarge \
  --nodes 2 -o @JSON@

# Compare or refresh.
if ((refresh)); then
  rm -rf "$expected_dir"
  mkdir -p "$expected_dir"
  cp "$work/out"/* "$expected_dir/"
  echo "golden: wrote $(find "$expected_dir" -type f | wc -l) files under $expected_dir"
  exit 0
fi
[[ -d $expected_dir ]] || { echo "FAIL: no $expected_dir: run $0 --refresh"; exit 1; }
if diff -r -u "$expected_dir" "$work/out" >"$work/diff"; then
  echo "golden: $(find "$work/out" -type f | wc -l) outputs as expected"
  exit 0
fi
echo "FAIL: outputs differ from tests/golden/expected (- expected, + this build):"
head -200 "$work/diff"
echo "If the change is intended: tests/golden/golden.sh --refresh, and review the diff in git."
exit 1
