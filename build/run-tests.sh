#!/usr/bin/env bash
# Builds and runs every test project, then prints one summary line over all of them:
#   "Tests: N passed, N failed, N skipped"
# Extra arguments go to `dotnet test` (e.g. --filter "Category!=Root").
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp /tmp/twill-test.XXXXXX.log)
trap 'rm -f "$log"' EXIT

dotnet test Twill.slnx -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# VSTest prints one line per test assembly:
#   "Passed!  - Failed:     0, Passed:    42, Skipped:     1, Total:    43, Duration: ..."
read -r passed failed skipped assemblies < <(awk '
  /(Passed|Failed)! +- Failed: / {
    gsub(/,/, " ");
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  f += $(i+1);
      if ($i == "Passed:")  p += $(i+1);
      if ($i == "Skipped:") s += $(i+1);
    }
    n++
  }
  END { printf "%d %d %d %d\n", p, f, s, n }' "$log")

# Repeat each failed test with the head of its message, so the end of the log says what broke.
if [[ $failed -gt 0 ]]; then
  echo
  echo "Failed tests:"
  awk '
    /^  Failed [A-Za-z_]/ { show = 1; n = 0 }
    /^  Stack Trace:/      { show = 0 }
    show && n < 25        { print; n++ }' "$log"
fi

echo
echo "Test assemblies: ${assemblies}"
if [[ $rc -ne 0 && $failed -eq 0 ]]; then
  # The build or the runner failed before tests could report: count that as a failure.
  failed=1
  echo "dotnet test exited with $rc before every assembly reported (build error or crashed test host)"
fi
echo "Tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit $rc
