#!/usr/bin/env bash
# One call on the GPU machine: install the kit (benchmarks/gpu/pack built it), then run the steps of
# benchmarks/gpu/run.py (preflight first) within its clock, counted from this script's start. Under $OUT:
# archbench-gpu.jsonl (JSON lines, per step and per cell or level) and archbench-gpu.log (all output,
# ending in a summary). The install and the data go to /tmp/archbench-gpu (outside $OUT), where a second
# call on a machine still warm finds them: `bash benchmarks/gpu/run.sh --steps accuracy,summary`.
#
#   GPU machine:  bash benchmarks/gpu/run.sh                 (the kit carried as benchmarks/gpu/kit)
#   this machine: PYTHON=.venv/bin/python bash benchmarks/gpu/run.sh --dry --kit DIR
#                 (--dry: CPU, tiny budgets; --kit DIR: a kit packed with --python-version of $PYTHON)
# Other options go to run.py (--steps a,b, --limits step=s). Exit: run.py's (3: the preflight failed),
# 1 if the kit did not install.
set -uo pipefail
started=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
out=${OUT:-$(mktemp -d /tmp/archbench-gpu-out-XXXXXX)}
work=${ARCHBENCH_GPU_WORK:-/tmp/archbench-gpu}
kit=$here/kit
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --kit) kit=$(cd "$2" && pwd); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out" "$work"

install() {
  # Installed once per machine (and per kit): a second call on a warm machine skips it.
  local stamp=$work/installed.$(sha256sum "$kit/manifest.json" | cut -c1-16)
  [ -e "$stamp" ] && return 0
  rm -rf "$work/site" "$work/data" && mkdir -p "$work/site" "$work/data" || return 1
  for archive in "$kit"/site/*.tar.xz; do
    tar -xJf "$archive" -C "$work/site" || return 1
  done
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" \
    "$kit"/wheels/*.whl || return 1
  for folder in "$kit"/data/*/; do
    local name
    name=$(basename "$folder")
    mkdir -p "$work/data/$name"
    for f in "$folder"*.xz; do
      xz -dc "$f" > "$work/data/$name/$(basename "$f" .xz)" || return 1
    done
  done
  touch "$stamp"
}

main() {
  echo "archbench GPU run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $python, out $out, work $work"
  install || { echo "error: the kit in $kit did not install"; return 1; }
  echo "kit installed into $work/site in $(( $(date +%s) - started )) s"
  export PYTHONPATH=$work/site${PYTHONPATH:+:$PYTHONPATH}
  export PYTHONUNBUFFERED=1 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_USAGE_STATS_ENABLED=0
  cd "$repo" && "$python" "$here/run.py" --out "$out" --work "$work" --kit "$kit" --data "$work/data" \
    --started "$started" ${args[@]+"${args[@]}"}
}

main 2>&1 | tee -a "$out/archbench-gpu.log"
exit "${PIPESTATUS[0]}"
