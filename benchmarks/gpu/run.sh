#!/usr/bin/env bash
# One call on the GPU machine: install the kit (benchmarks/gpu/pack built it), then measure speed,
# packing and real accuracy (benchmarks/gpu/run.py), within its own clock, everything under $OUT:
# archbench-gpu.jsonl (one JSON line per step) and archbench-gpu.log (all output, ending in a summary).
#
#   GPU machine:  bash benchmarks/gpu/run.sh                 (the kit carried as benchmarks/gpu/kit)
#   this machine: PYTHON=.venv/bin/python bash benchmarks/gpu/run.sh --dry --no-kit
#                 (--dry: CPU, tiny budgets; --no-kit: archbench and Ray as installed here;
#                  --kit DIR: another kit, e.g. one packed with --python-version 3.11)
# Other options go to run.py (--budget SECONDS, --mnist DIR). Exit: run.py's, 1 if the kit did not install.
set -uo pipefail
started=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
out=${OUT:-$(mktemp -d /tmp/archbench-gpu-XXXXXX)}
kit=$here/kit
install=1
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-kit) install=0 ;;
    --kit) kit=$(cd "$2" && pwd); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"

main() {
  echo "archbench GPU run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $python, out $out"
  if [ $install = 1 ]; then
    # Outside $OUT: only a few files may come back from there.
    site=$(mktemp -d /tmp/archbench-site-XXXXXX)
    trap 'rm -rf "$site"' EXIT
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
      "$kit"/wheels/*.whl || { echo "error: the kit in $kit did not install"; return 1; }
    export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
    echo "kit installed into $site in $(( $(date +%s) - started )) s"
  fi
  export PYTHONUNBUFFERED=1 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_USAGE_STATS_ENABLED=0
  cd "$repo" && "$python" "$here/run.py" --out "$out" --kit "$kit" --started "$started" ${args[@]+"${args[@]}"}
}

main 2>&1 | tee -a "$out/archbench-gpu.log"
exit "${PIPESTATUS[0]}"
