#!/bin/sh
# node-problem-detector custom plugin: reports the last `preflight node --quick` result that
# preflight-node-loop.sh left in $PREFLIGHT_RESULT_DIR (default /preflight), in NPD's plugin
# contract: exit 0 OK, 1 NonOK (the condition becomes True), 2 Unknown; the first line of
# stdout is the condition's message.
#
# preflight's exit codes mapped onto that contract:
#   0 pass                          -> 0 OK
#   1 fail (a check failed)         -> 1 NonOK: the node gets the condition
#   2 usage, 3 skip, 4 error,       -> 2 Unknown: preflight reached no verdict on the node
#   124 timeout, anything else         (misconfiguration, no GPU visible, harness broken,
#                                       a probe that hung, a signal); never marks it bad
#   no result yet, or older than PREFLIGHT_RESULT_MAX_AGE_S (default 3 runs) -> 2 Unknown
# POSIX sh only: the NPD image has no bash guarantee.
result_dir=${PREFLIGHT_RESULT_DIR:-/preflight}
max_age_s=${PREFLIGHT_RESULT_MAX_AGE_S:-3600}
result=$result_dir/result

if [ ! -r "$result" ]; then
  echo "preflight has not reported yet ($result missing)"
  exit 2
fi
# result: line 1 "<exit code> <unix time>", line 2 the verdict line of preflight's output.
read -r code finished_at <"$result" || code=""
message=$(sed -n 2p "$result" | cut -c1-200)
now=$(date +%s)
case $code in
  '' | *[!0-9]*)
    echo "preflight result $result is unreadable (exit unparsable)"
    exit 2
    ;;
esac
case $finished_at in '' | *[!0-9]*) finished_at=0 ;; esac
if [ $((now - finished_at)) -gt "$max_age_s" ]; then
  echo "preflight result is stale: last run $((now - finished_at)) s ago (${message:-no message})"
  exit 2
fi
case $code in
  0) echo "preflight node --quick: ${message:-pass}"; exit 0 ;;
  1) echo "preflight node --quick: ${message:-fail}"; exit 1 ;;
  2) echo "preflight could not run (usage error, exit 2): ${message}"; exit 2 ;;
  3) echo "preflight skipped the node (exit 3): ${message}"; exit 2 ;;
  4) echo "preflight harness error (exit 4): ${message}"; exit 2 ;;
  124) echo "preflight timed out (exit 124): ${message}"; exit 2 ;;
  *) echo "preflight ended with exit ${code}: ${message}"; exit 2 ;;
esac
