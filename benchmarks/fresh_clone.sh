#!/usr/bin/env bash
# A fresh clone, alone, in fresh virtual environments: what a new user gets.
#
#   benchmarks/fresh_clone.sh [WORKDIR]     (default: a new temporary folder, kept afterwards)
#
# Clones the committed HEAD of this repository twice into WORKDIR (nothing beside the clones:
# no ../shared), then, each in its own fresh virtual environment:
#   1. core clone: the README's quick start, `pip install -e .` then `matbench demo` (default
#      --out and --jobs = all cores), each timed; confirms that no torch was installed; `du -sh`
#      of the venv; `matbench demo --jobs 2` cold (NUMBA_CACHE_DIR empty) and warm (caches
#      filled), each into a new --out, pinned to 2 cores with taskset when there are more;
#      then `pip install -e '.[dim]'` and `du -sh` again (core vs. dim install).
#   2. test clone: the README's test command, `pip install -e '.[test]'` then `python -m pytest -q`.
# Wall time and peak memory come from /usr/bin/time -v (else Python's resource module): peak
# memory is the maximum resident set of the largest single process (not the sum over worker
# processes). pip uses whatever indexes pip is configured with (here: local wheels; on a real
# machine add the download time). The load average is printed before and after each step:
# on a shared machine, read the figures with it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/matbench-fresh-XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
BRANCH=$(git -C "$REPO" rev-parse --abbrev-ref HEAD)
PY=${PYTHON:-python3}
PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 2 ]; then PIN=(taskset -c 0,1); fi

echo "# fresh clone of $REPO ($BRANCH @ $(git -C "$REPO" rev-parse --short HEAD)) in $WORK"
echo "# $(nproc) cores; $("$PY" --version); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

timed() {  # timed LABEL COMMAND...: run in the current folder, print wall s and peak RSS MB
  local label=$1; shift
  local f=${label//[^A-Za-z0-9]/_}
  local log="$WORK/$f.log" tf="$WORK/$f.time" load0 rc=0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$tf" "$@" >"$log" 2>&1 || rc=$?
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tf")
  else
    read -r wall rss < <("$PY" - "$log" "$@" <<'EOF' || true
import resource, subprocess, sys, time
t0 = time.perf_counter()
with open(sys.argv[1], "w") as log:
    rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
print(f"{time.perf_counter() - t0:.1f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
sys.exit(rc)
EOF
)
  fi
  if [ "$rc" -ne 0 ]; then echo "FAILED ($rc): $label: $*"; tail -20 "$log"; exit 1; fi
  printf '%-28s wall %7.1f s   peak RSS %6s MB   load %s -> %s\n' "$label" "$wall" "$rss" "$load0" \
    "$(cut -d' ' -f1 /proc/loadavg)"
}

for name in core test; do
  git clone -q --branch "$BRANCH" "$REPO" "$WORK/$name/matbench"
  [ ! -e "$WORK/$name/shared" ] || { echo "unexpected $WORK/$name/shared"; exit 1; }
  "$PY" -m venv "$WORK/$name/venv"
done

echo "## 1. core install and the quick start: pip install -e . && matbench demo"
(
  cd "$WORK/core/matbench"
  export PATH="$WORK/core/venv/bin:$PATH" TMPDIR="$WORK/core/tmp"
  mkdir -p "$TMPDIR"
  timed "pip install -e ." pip install -e .
  if pip show torch >/dev/null 2>&1; then echo "torch IS installed by the core install"; exit 1; fi
  echo "torch installed by the core install: no"
  timed "matbench demo (all cores)" matbench demo
  echo "core venv: $(du -sh "$WORK/core/venv" | cut -f1)"
  export NUMBA_CACHE_DIR="$WORK/core/numba-empty"
  mkdir -p "$NUMBA_CACHE_DIR"
  timed "demo --jobs 2, cold" "${PIN[@]}" matbench demo --jobs 2 --out "$WORK/core/demo-cold" -q
  timed "demo --jobs 2, warm" "${PIN[@]}" matbench demo --jobs 2 --out "$WORK/core/demo-warm" -q
  grep -E "^\| 1 \||done in" "$WORK/demo___jobs_2__warm.log" || true
  git status --porcelain --ignored | grep -vE '__pycache__|egg-info' | sed 's/^/left in the clone: /' || true
  timed "pip install -e '.[dim]'" pip install -e '.[dim]'
  echo "core + dim venv: $(du -sh "$WORK/core/venv" | cut -f1)"
)

echo "## 2. the test command: pip install -e '.[test]' && python -m pytest -q"
(
  cd "$WORK/test/matbench"
  export PATH="$WORK/test/venv/bin:$PATH" TMPDIR="$WORK/test/tmp"
  mkdir -p "$TMPDIR"
  unset MATBENCH_ADOBE_LISTS MATBENCH_SIM_LISTS
  timed "pip install -e '.[test]'" pip install -e '.[test]'
  echo "test venv: $(du -sh "$WORK/test/venv" | cut -f1)"
  timed "python -m pytest -q" python -m pytest -q
  tail -1 "$WORK/python__m_pytest__q.log"
  grep "^SKIPPED" "$WORK/python__m_pytest__q.log" || true
)
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg); logs in $WORK"
