#!/usr/bin/env bash
# make fuzz TARGET=x SECONDS=n: AFL++ on one Twill.Fuzz target for n seconds, at nice 19 (the machine
# is shared). Builds fuzz/Twill.Fuzz, has SharpFuzz put coverage probes in the Twill assemblies,
# starts from fuzz/corpus/<target>, and appends the run (seconds, execs, crashes) to fuzz/runs.tsv.
# MINIMISE=1 afterwards replaces fuzz/corpus/<target> by afl-cmin's minimum of the queue.
# Needs afl-fuzz (Debian afl++: apt-get install -y afl++) and `dotnet tool restore` in fuzz/.
# Crashes stay in $TWILL_FUZZ_WORK/<target>/findings/default/crashes; replay them with the build that has
# no probes (an instrumented assembly writes to AFL's shared memory, which only afl-fuzz provides):
#   dotnet fuzz/Twill.Fuzz/bin/Release/net10.0/Twill.Fuzz.dll <target> <file or directory>
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:-60}
# Not under /tmp: afl-cmin refuses to work there.
work=${TWILL_FUZZ_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/twill-fuzz}
command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz missing (apt-get install -y afl++)" >&2; exit 2; }
[[ -d fuzz/corpus/$target ]] || { echo "fuzz: no corpus fuzz/corpus/$target" >&2; exit 2; }

# One instrumented build per source state, shared by concurrent runs of different targets.
stamp=$(git rev-parse HEAD)$(git status --porcelain -- src fuzz/Twill.Fuzz | sha1sum | cut -c1-12)
mkdir -p "$work"
exec 9>"$work/.lock"
flock 9
if [[ "$(cat "$work/bin/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  rm -rf "$work/bin"
  # A build, not a publish: twill-cni is a self-contained (AOT) executable, which only a build may reference.
  nice -n 19 dotnet build fuzz/Twill.Fuzz -c Release --nologo -v q -clp:ErrorsOnly
  mkdir -p "$work/bin"
  cp -r fuzz/Twill.Fuzz/bin/Release/net10.0/. "$work/bin/"
  (cd fuzz && dotnet tool restore >/dev/null)
  for dll in "$work"/bin/Twill.*.dll "$work"/bin/twill-*.dll; do
    case $(basename "$dll") in Twill.Fuzz.dll|Twill.Testing.dll) continue ;; esac
    (cd fuzz && dotnet sharpfuzz "$dll" >/dev/null)
  done
  echo "$stamp" >"$work/bin/.stamp"
fi
flock -u 9

out="$work/$target"
rm -rf "$out"
mkdir -p "$out"
# The fork server is dotnet, not an AFL-compiled binary: SharpFuzz speaks AFL's protocol from inside it.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
started=$(date -u +%FT%TZ)
nice -n 19 afl-fuzz -i "fuzz/corpus/$target" -o "$out/findings" -V "$seconds" -t 10000 -m none \
  -- dotnet "$work/bin/Twill.Fuzz.dll" "$target" >"$out/afl.log" 2>&1 || { tail -30 "$out/afl.log" >&2; exit 1; }
stats="$out/findings/default/fuzzer_stats"
get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
execs=$(get execs_done) ran=$(( $(get last_update) - $(get start_time) )) crashes=$(get saved_crashes) hangs=$(get saved_hangs)
paths=$(get corpus_count)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$started" "$target" "$ran" "$execs" "$paths" "$crashes" "$hangs" >>fuzz/runs.tsv
echo "fuzz $target: ${ran} s, ${execs} execs, ${paths} inputs in the queue, ${crashes} crashes, ${hangs} hangs (fuzz/runs.tsv)"
ls "$out/findings/default/crashes" 2>/dev/null | grep -v README || true

if [[ -n "${MINIMISE:-}" ]]; then
  rm -rf "$out/min"
  # afl-cmin wants the program as a path.
  nice -n 19 afl-cmin -i "$out/findings/default/queue" -o "$out/min" -t 10000 -m none \
    -- "$(command -v dotnet)" "$work/bin/Twill.Fuzz.dll" "$target" >"$out/cmin.log" 2>&1
  rm -rf "fuzz/corpus/$target"
  mkdir -p "fuzz/corpus/$target"
  i=0
  for f in "$out"/min/*; do cp "$f" "fuzz/corpus/$target/$(printf '%04d' $i)"; i=$((i + 1)); done
  echo "fuzz $target: corpus minimised to $i inputs, $(du -sh "fuzz/corpus/$target" | cut -f1)"
fi
