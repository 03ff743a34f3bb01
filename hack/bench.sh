#!/usr/bin/env bash
# Benchmarks, printed as a markdown table. Everything runs against a real docker-registry on
# loopback, populated with one small image per Package of the real overlay data (187 images).
#
# Rows: `index` of every Package with --jobs 16 and --jobs 1, cold (no previous outputs: every
# manifest and config is fetched) and warm (previous plugin_builds/ present, as in the pipeline
# where they are committed: configs of unchanged digests are not fetched again); a sequential
# `skopeo inspect` loop over the same references (what a user would otherwise script); and `index`
# of the supported selection (54 plugins, the real catalog build). Median wall time of RUNS runs,
# peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

for tool in docker-registry skopeo /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install docker-registry skopeo time)" >&2; exit 2; }
done
cargo build --release --quiet --bin rhdh-catalog
tool=$PWD/target/release/rhdh-catalog
overlay=$PWD/tests/data/reference-data/overlays-main
prefix=ghcr.io/redhat-developer/rhdh-plugin-export-overlays

scratch=$(mktemp -d)
registry_pid=
cleanup() {
  local status=$?
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 40000))
cat >"$scratch/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $scratch/registry}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$scratch/registry.yml" >"$scratch/registry.log" 2>&1 &
registry_pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
host=127.0.0.1:$port
store=docker://$host

# One image per Package, named as the catalog names it; the mirror store holds the same repositories.
"$tool" index --overlay "$overlay" --registry "$prefix" --all-packages --dry-run >"$scratch/plan.txt"
while read -r image _path reference; do
  dir=$scratch/exports/$image
  mkdir -p "$dir"
  printf '{"name":"@bench/%s-dynamic","version":"1.0.0"}\n' "$image" >"$dir/package.json"
  RUST_LOG=warn "$tool" package "$dir" --tag "$reference" --store "$store" --insecure-registry "$host" \
    --label build-date=2026-11-01T00:00:00Z --label vcs-ref=bench >/dev/null
done <"$scratch/plan.txt"
references=$(wc -l <"$scratch/plan.txt")

# median_seconds and peak_kib of RUNS runs of a command.
measure() {
  local times=() peak=0 start end rss
  for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    /usr/bin/time -f %M -o "$scratch/rss" "$@" >/dev/null 2>"$scratch/stderr" || { cat "$scratch/stderr" >&2; exit 1; }
    end=$(date +%s%N)
    times+=("$(((end - start) / 1000000))")
    rss=$(tail -n1 "$scratch/rss")
    ((rss > peak)) && peak=$rss
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  echo "$median $peak"
}

skopeo_loop() {
  while read -r _image _path reference; do
    skopeo inspect --tls-verify=false "docker://$host/${reference#ghcr.io/}" >/dev/null
  done <"$scratch/plan.txt"
}
export -f skopeo_loop
export host scratch

index_all() {
  [ "$2" = cold ] && rm -rf "$scratch/out-$1"
  "$tool" index --overlay "$overlay" --registry "$prefix" --store "$store" --insecure-registry "$host" \
    --all-packages --overlay-commit bench --source-repo bench --jobs "$1" \
    --output "$scratch/out-$1/catalog-index" --plugin-builds "$scratch/out-$1/plugin_builds"
}
index_supported() {
  "$tool" index --overlay "$overlay" --registry "$prefix" --store "$store" --insecure-registry "$host" \
    --overlay-commit bench --source-repo bench --output "$scratch/out-s/catalog-index" --plugin-builds "$scratch/out-s/plugin_builds"
}

setup="$(declare -f index_all); tool=$tool overlay=$overlay prefix=$prefix store=$store"
read -r jobs16 rss16 < <(measure bash -c "$setup; index_all 16 cold")
read -r jobs1 rss1 < <(measure bash -c "$setup; index_all 1 cold")
read -r warm16 rss_warm16 < <(measure bash -c "$setup; index_all 16 warm")
read -r warm1 _ < <(measure bash -c "$setup; index_all 1 warm")
read -r supported rss_supported < <(measure bash -c "$(declare -f index_supported); tool=$tool overlay=$overlay prefix=$prefix store=$store; index_supported")
RUNS_SAVED=$RUNS
RUNS=${SKOPEO_RUNS:-3}
read -r skopeo_ms _ < <(measure bash -c skopeo_loop)
RUNS=$RUNS_SAVED

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / (b > 0 ? b : 1) }'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo
echo "Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/Mem:/ {print $2}') GiB; registry: docker-registry on loopback (plain HTTP)"
echo "$references image references (one per Package of reference-data/overlays-main); median of $RUNS runs (skopeo: ${SKOPEO_RUNS:-3})"
echo
echo "| run | median wall time | peak RSS | vs skopeo loop |"
echo "|---|---|---|---|"
echo "| \`index --all-packages --jobs 16\`, cold ($references refs, full outputs) | ${jobs16} ms | $((rss16 / 1024)) MiB | $(ratio "$skopeo_ms" "$jobs16") faster |"
echo "| \`index --all-packages --jobs 1\`, cold | ${jobs1} ms | $((rss1 / 1024)) MiB | $(ratio "$skopeo_ms" "$jobs1") faster |"
echo "| \`index --all-packages --jobs 16\`, warm (previous plugin_builds/) | ${warm16} ms | $((rss_warm16 / 1024)) MiB | $(ratio "$skopeo_ms" "$warm16") faster |"
echo "| \`index --all-packages --jobs 1\`, warm | ${warm1} ms | - | $(ratio "$skopeo_ms" "$warm1") faster |"
echo "| sequential \`skopeo inspect\` loop, same refs | ${skopeo_ms} ms | - | 1.0× |"
echo "| \`index\` of the supported selection (54 plugins, the real catalog build) | ${supported} ms | $((rss_supported / 1024)) MiB | - |"
echo
echo "--jobs 16 vs --jobs 1: $(ratio "$jobs1" "$jobs16") cold, $(ratio "$warm1" "$warm16") warm"
echo "The loopback registry shares the 2 cores: it spends ~2 ms of CPU per manifest and ~5 ms per blob request, which bounds every row."

