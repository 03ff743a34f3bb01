#!/usr/bin/env bash
# Benchmarks, printed as markdown tables: `hack/bench.sh [index] [export] [scale] [tasks]` (default: all).
# Registries are real: docker-registry on loopback, started here. Medians of RUNS runs (default 5;
# SCALE_RUNS, default 3, for the sync rows), peak RSS of the largest process of each run. As root,
# the kernel's dentry and inode caches are dropped before each run: on the 2-core VMs this was
# written on, creating files slows about tenfold as those caches grow (`tar xzf` of the 10×
# source artifact, 23k files: 1.8 s after a drop, 13 to 17 s after a few syncs), which would make
# every row depend on what ran before it.
#
# index:  `index` of every Package of the real overlay data (187 images, one small image each),
#         --jobs 16 and --jobs 1, cold (no previous outputs: every manifest and config fetched) and
#         warm (previous plugin_builds/ present, as in the pipeline where they are committed); a
#         sequential `skopeo inspect` loop over the same references (what a user would otherwise
#         script); `index` of the supported selection (54 plugins, the real catalog build).
# export: `export` of the 65 real workspaces (upstreams synthesised by hack/synth_catalog.py, the
#         recorded exporter) --jobs 1 vs --jobs 4; a no-op `fetch`; full vs sparse clone.
# scale:  the whole `sync` on a synthetic catalog at SCALES (default "1 10": 65 workspaces / 264
#         plugins, and 650 / 2,640): full sync --jobs 1 and --jobs 4 into an OCI layout, the no-op
#         sync after it, `index` alone, and digest resolution against a registry vs a sequential
#         `skopeo inspect` loop; then how each grows from the first scale to the last.
# tasks:  where the time goes, against a baseline binary built in the same run from BASELINE (a
#         commit, default the one before the task-reuse work: 2c66045; built once into
#         target/bench-baseline): the whole sync at TASK_SCALES (default "1 10") with each binary, a
#         full sync, then the three no-op cases — the first no-op after it, a no-op after that no-op
#         (nothing moved at all), and a no-op after an unrelated commit pushed to the midstream —
#         then the steady state: a sync after a push that moves one workspace to a new upstream
#         commit (it exports that workspace) and the first no-op after that sync; all of it
#         TASK_RUNS times (default 3): the totals, each task's time, the files and bytes of the
#         artifacts each task unpacks and how many files it wrote, and how each case grows from the
#         first scale to the last.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

for tool in docker-registry skopeo /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install docker-registry skopeo time)" >&2; exit 2; }
done
cargo build --release --quiet --bin rhdh-catalog
tool=$PWD/target/release/rhdh-catalog
# The benchmark fixtures clone local (file://) repositories.
export RHDH_CATALOG_ALLOW_LOCAL_REPOS=true
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

# median_seconds and peak_kib of RUNS runs of a command; $BEFORE (a shell snippet), when set, runs
# before each run, outside the timing.
measure() {
  local times=() peak=0 start end rss
  for _ in $(seq 1 "$RUNS"); do
    [ -z "${BEFORE:-}" ] || bash -c "$BEFORE" >/dev/null 2>&1
    drop_caches
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

# Flushes dirty pages and drops the dentry and inode caches (not the page cache) when allowed.
drop_caches() {
  ((can_drop_caches)) || return 0
  sync
  echo 2 >/proc/sys/vm/drop_caches
}
can_drop_caches=0
if [ -w /proc/sys/vm/drop_caches ] && (sync && echo 2 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  can_drop_caches=1
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / (b > 0 ? b : 1) }'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/Mem:/ {print $2}') GiB; registries: docker-registry on loopback (plain HTTP)"
if ((can_drop_caches)); then
  echo "Dentry and inode caches dropped before every run (sync; echo 2 >/proc/sys/vm/drop_caches)."
else
  echo "Dentry and inode caches NOT dropped (not root): rows that create many files depend on what ran before."
fi

bench_index() {
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

  echo
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

}

bench_export() {
  # --- fetch and export at real scale: the 65 workspaces of the reference overlay, upstreams
  # synthesised as local git repositories (hack/synth_catalog.py), the recorded exporter.
  python3 hack/synth_catalog.py --out "$scratch/synth" >"$scratch/synth.json"
  midstream=$scratch/synth/midstream
  exporter=$PWD/examples/recorded-exporter.sh
  (cd "$midstream" && "$tool" fetch --allow-local-repos >/dev/null 2>&1)
  batch_list=$("$tool" fetch --allow-local-repos --tree "$midstream" --dry-run | awk 'NR > 1 && $2 == "export" {print $3}' | sort -un | paste -sd, -)
  export_all() {
    "$tool" export --tree "$midstream" --batch "$batch_list" --exporter "$exporter" --install-command "" --tsc-command "" \
      --jobs "$1" --work-dir "$scratch/work-$1"
  }
  setup_export="$(declare -f export_all); tool=$tool midstream=$midstream batch_list=$batch_list exporter=$exporter scratch=$scratch"
  read -r export1 _ < <(measure bash -c "$setup_export; export_all 1")
  read -r export4 rss_export4 < <(measure bash -c "$setup_export; export_all 4")
  fetch_noop() { (cd "$midstream" && "$tool" fetch); }
  read -r fetch_skip rss_fetch < <(measure bash -c "$(declare -f fetch_noop); tool=$tool midstream=$midstream; fetch_noop")
  skips=$(grep -c '"decision": "skip"' "$midstream/plan.json")

  # --- clone cost: a synthetic 100-workspace monorepo, 5 commits of history.
  mono=$scratch/monorepo
  mkdir -p "$mono"
  python3 - "$mono" <<'PY'
import os, random, sys
root = sys.argv[1]
random.seed(7)
for workspace in range(100):
    for plugin in range(4):
        base = os.path.join(root, "workspaces", f"ws-{workspace:03}", "plugins", f"p{plugin}", "src")
        os.makedirs(base, exist_ok=True)
        for number in range(10):
            with open(os.path.join(base, f"f{number}.ts"), "w") as handle:
                handle.write("".join(random.choice("abcdefghij \n") for _ in range(8000)))
PY
  (cd "$mono" && git init -q -b main && git config uploadpack.allowFilter true && git add -A && git -c user.name=b -c user.email=b@b commit -qm c0)
  for commit in 1 2 3 4; do
    find "$mono/workspaces" -name 'f0.ts' -exec sh -c 'echo "// change" >> "$1"' _ {} \;
    (cd "$mono" && git add -A && git -c user.name=b -c user.email=b@b commit -qm "c$commit")
  done
  full_clone() { rm -rf "$scratch/full" && git clone -q --no-local "file://$mono" "$scratch/full"; }
  sparse_clone() {
    rm -rf "$scratch/sparse" && git init -q "$scratch/sparse" && git -C "$scratch/sparse" remote add origin "file://$mono" &&
      git -C "$scratch/sparse" sparse-checkout set --cone workspaces/ws-042 .yarn &&
      git -C "$scratch/sparse" fetch -q --depth 1 --filter=blob:none --no-tags origin main &&
      git -C "$scratch/sparse" -c advice.detachedHead=false checkout -q FETCH_HEAD
  }
  read -r full_ms _ < <(measure bash -c "$(declare -f full_clone); mono=$mono scratch=$scratch; full_clone")
  read -r sparse_ms _ < <(measure bash -c "$(declare -f sparse_clone); mono=$mono scratch=$scratch; sparse_clone")
  full_kib=$(du -sk "$scratch/full" | cut -f1)
  sparse_kib=$(du -sk "$scratch/sparse" | cut -f1)

  echo
  echo "Fetch and export at real scale: $(cat "$scratch/synth.json")"
  echo
  echo "| run | median wall time | peak RSS | note |"
  echo "|---|---|---|---|"
  echo "| \`export\` of every planned workspace, \`--jobs 1\` (recorded exporter) | ${export1} ms | - | |"
  echo "| \`export\` of every planned workspace, \`--jobs 4\` | ${export4} ms | $((rss_export4 / 1024)) MiB | $(ratio "$export1" "$export4") faster than --jobs 1 |"
  echo "| \`fetch\` after an export, nothing changed (clone overlay + plan) | ${fetch_skip} ms | $((rss_fetch / 1024)) MiB | $skips workspaces planned skip |"
  echo
  echo "| clone of one workspace of a 100-workspace monorepo (33 MB of sources, 5 commits) | median wall time | size on disk |"
  echo "|---|---|---|"
  echo "| full clone (\`git clone --no-local\`) | ${full_ms} ms | $((full_kib / 1024)) MiB |"
  echo "| partial + sparse + shallow (what \`export\` does) | ${sparse_ms} ms | $((sparse_kib / 1024)) MiB |"
}
# The whole sync at SCALES times the real catalog. Every full run starts from the midstream's first
# commit with no outputs and no images; the no-op row runs right after a full run.
bench_scale() {
  local scales saved_runs=$RUNS exporter=$PWD/examples/recorded-exporter.sh
  read -r -a scales <<<"${SCALES:-1 10}"
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.test GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.test
  local -A size full1 rss_full1 full4 rss_full4 noop rss_noop index_layout rss_index pushed index_registry rss_registry skopeo
  for scale in "${scales[@]}"; do
    local dir=$scratch/scale-$scale prefix=quay.io/rhdh-scale$scale
    python3 hack/synth_catalog.py --scale "$scale" --out "$dir" >"$dir.json"
    size[$scale]=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["workspaces"], "/", s["plugins"])' "$dir.json")
    local initial sync_command reset index_command
    initial=$(git -C "$dir/midstream" rev-parse HEAD)
    sync_command="$tool sync --allow-local-repos --tree $dir/midstream --out $dir/out --registry $prefix --exporter $exporter --install-command '' --tsc-command ''"
    reset="rm -rf $dir/out $dir/layout && git -C $dir/midstream.git update-ref refs/heads/main $initial && git -C $dir/midstream reset -q --hard $initial && git -C $dir/midstream clean -qfdx"
    RUNS=${SCALE_RUNS:-3}
    read -r "full1[$scale]" "rss_full1[$scale]" < <(BEFORE=$reset measure bash -c "$sync_command --store oci-layout:$dir/layout --jobs 1")
    read -r "full4[$scale]" "rss_full4[$scale]" < <(BEFORE=$reset measure bash -c "$sync_command --store oci-layout:$dir/layout --jobs 4")
    read -r "noop[$scale]" "rss_noop[$scale]" < <(measure bash -c "$sync_command --store oci-layout:$dir/layout --jobs 4")

    # `index` alone on the overlay the index task saw, cold (no previous outputs), OCI layout store.
    cp -r "$dir/out/runs/index/workdir/source/overlay-repo" "$dir/index-overlay"
    index_command="$tool index --overlay $dir/index-overlay --registry $prefix --rhdh-version 1.10.0 --tag-scheme rhdh --output $dir/index-out/catalog-index --plugin-builds $dir/index-out/plugin_builds"
    read -r "index_layout[$scale]" "rss_index[$scale]" < <(BEFORE="rm -rf $dir/index-out" measure bash -c "$index_command --store oci-layout:$dir/layout")

    # The same images in the registry (one more full sync, pushing there), then digest resolution:
    # `index` cold with --jobs 16 vs a sequential `skopeo inspect` of every reference.
    RUNS=1
    read -r "pushed[$scale]" _ < <(BEFORE=$reset measure env RHDH_CATALOG_INSECURE_REGISTRIES="$host" \
      bash -c "$sync_command --store docker://$host --jobs 4")
    RUNS=${SCALE_RUNS:-3}
    read -r "index_registry[$scale]" "rss_registry[$scale]" < <(BEFORE="rm -rf $dir/index-out" \
      measure bash -c "$index_command --store docker://$host --insecure-registry $host --jobs 16")
    $index_command --dry-run | awk '{print $3}' >"$dir/references.txt"
    RUNS=1
    read -r "skopeo[$scale]" _ < <(measure bash -c \
      "while read -r reference; do skopeo inspect --tls-verify=false docker://$host/\${reference#*/} >/dev/null; done <$dir/references.txt")
    RUNS=$saved_runs
  done

  echo
  echo "The whole \`sync\` at scale (hack/synth_catalog.py; recorded exporter; OCI layout store unless noted); median of ${SCALE_RUNS:-3} runs, skopeo and the push row 1 run"
  echo
  echo "| scale (workspaces / plugins) | full \`sync --jobs 1\` | full \`sync --jobs 4\` | no-op \`sync\` | \`index\` alone | full \`sync --jobs 4\` to the registry | \`index --jobs 16\` via registry, cold | sequential \`skopeo inspect\` loop |"
  echo "|---|---|---|---|---|---|---|---|"
  for scale in "${scales[@]}"; do
    echo "| ${scale}× (${size[$scale]}) | ${full1[$scale]} ms, $((rss_full1[$scale] / 1024)) MiB | ${full4[$scale]} ms, $((rss_full4[$scale] / 1024)) MiB ($(ratio "${full1[$scale]}" "${full4[$scale]}") vs --jobs 1) | ${noop[$scale]} ms, $((rss_noop[$scale] / 1024)) MiB | ${index_layout[$scale]} ms, $((rss_index[$scale] / 1024)) MiB | ${pushed[$scale]} ms | ${index_registry[$scale]} ms, $((rss_registry[$scale] / 1024)) MiB ($(ratio "${skopeo[$scale]}" "${index_registry[$scale]}") faster than skopeo) | ${skopeo[$scale]} ms |"
  done
  local first=${scales[0]} last=${scales[-1]}
  if [ "$first" != "$last" ]; then
    local factor=$((last / first))
    echo
    echo "Growth from ${first}× to ${last}× (${factor}× the workspaces and plugins; linear would be ${factor}.0×):"
    echo
    echo "| row | ${first}× | ${last}× | growth |"
    echo "|---|---|---|---|"
    local row
    for row in full1:"full sync --jobs 1" full4:"full sync --jobs 4" noop:"no-op sync" index_layout:"index alone" index_registry:"index via registry" skopeo:"skopeo loop"; do
      local -n values=${row%%:*}
      echo "| ${row#*:} | ${values[$first]} ms | ${values[$last]} ms | $(ratio "${values[$last]}" "${values[$first]}") |"
      unset -n values
    done
  fi
}

# Points the first workspace of the synthetic overlay repository at a new (empty) commit of its
# upstream and commits that there: a maintainer's bump of one workspace, which the next sync's fetch
# brings into the midstream's overlay-repo/.
move_one_workspace() {
  local dir=$1 note=$2 source upstream commit
  source=$(find "$dir/overlay/workspaces" -mindepth 2 -maxdepth 2 -name source.json | sort | head -1)
  upstream=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["repo"].removeprefix("file://"))' "$source")
  git -C "$upstream" commit -q --allow-empty -m "bench: a new upstream commit ($note)"
  commit=$(git -C "$upstream" rev-parse HEAD)
  python3 -c 'import json, sys; p = sys.argv[1]; d = json.load(open(p)); d["repo-ref"] = sys.argv[2]; open(p, "w").write(json.dumps(d))' "$source" "$commit"
  git -C "$dir/overlay" commit -qam "bench: move one workspace ($note)"
}

# Per task, this tree's binary against BASELINE's, on the same synthetic catalogs in one run: the
# three no-op cases of a sync (the first one after a full sync; one after another no-op, nothing
# moved at all; one after a push that changes nothing the pipeline reads) and the steady state (a
# sync that exports one moved workspace, and the first no-op after it), at each scale, with how each
# grows from the first scale to the last.
bench_tasks() {
  local baseline_rev exporter=$PWD/examples/recorded-exporter.sh baseline_dir=$PWD/target/bench-baseline
  baseline_rev=$(git rev-parse "${BASELINE:-2c66045}^{commit}")
  if [ "$(cat "$baseline_dir/rev" 2>/dev/null)" != "$baseline_rev" ] || [ ! -x "$baseline_dir/release/rhdh-catalog" ]; then
    echo "building the baseline ${baseline_rev:0:12} into $baseline_dir (once)" >&2
    rm -rf "$scratch/baseline-src" && mkdir -p "$scratch/baseline-src"
    git archive "$baseline_rev" | tar -x -C "$scratch/baseline-src"
    cargo build --release --quiet --manifest-path "$scratch/baseline-src/Cargo.toml" --target-dir "$baseline_dir" --bin rhdh-catalog
    echo "$baseline_rev" >"$baseline_dir/rev"
  fi
  local -A binaries=([new]=$tool [base]=$baseline_dir/release/rhdh-catalog)
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.test GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.test
  local scales scale which run kind start end elapsed
  local kinds=(full first again push moved after)
  local -A label=([full]="full sync" [first]="first no-op after a full sync" [again]="no-op after a no-op (nothing moved)" [push]="no-op after an unrelated push"
    [moved]="sync after a push that moves one workspace" [after]="first no-op after that sync")
  local -A medians=()
  read -r -a scales <<<"${TASK_SCALES:-1 10}"
  echo
  echo "Where the time goes: this tree against baseline ${baseline_rev:0:12} (\`sync --jobs 4\`, recorded exporter, OCI layout store, the catalogs of hack/synth_catalog.py); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
  for scale in "${scales[@]}"; do
    local dir=$scratch/tasks-$scale initial overlay_initial
    python3 hack/synth_catalog.py --scale "$scale" --out "$dir" >"$dir.json"
    initial=$(git -C "$dir/midstream" rev-parse HEAD)
    overlay_initial=$(git -C "$dir/overlay" rev-parse HEAD)
    local -A totals=()
    for which in new base; do
      for run in $(seq 1 "${TASK_RUNS:-3}"); do
        rm -rf "$dir/out" "$dir/layout"
        git -C "$dir/midstream.git" update-ref refs/heads/main "$initial"
        git -C "$dir/midstream" reset -q --hard "$initial" && git -C "$dir/midstream" clean -qfdx
        git -C "$dir/overlay" reset -q --hard "$overlay_initial"
        local sync=("${binaries[$which]}" sync --allow-local-repos --tree "$dir/midstream" --out "$dir/out" --registry "quay.io/rhdh-tasks$scale"
          --exporter "$exporter" --install-command "" --tsc-command "" --store "oci-layout:$dir/layout" --jobs 4)
        for kind in "${kinds[@]}"; do
          if [ "$kind" = push ]; then
            # What a push that changes nothing is: someone else's commit on the midstream that
            # touches no input of the catalog.
            echo "run $run" >>"$dir/midstream/NOTES.md"
            git -C "$dir/midstream" add NOTES.md && git -C "$dir/midstream" commit -qm "an unrelated change"
            git -C "$dir/midstream" push -q origin HEAD:main
          fi
          if [ "$kind" = moved ]; then
            # The steady state: one workspace moved to a new commit of its upstream, so this sync
            # exports it alone (and commits what that changed), and the no-op after it sees that.
            move_one_workspace "$dir" "$run-$which"
          fi
          drop_caches
          start=$(date +%s%N)
          "${sync[@]}" >/dev/null 2>"$scratch/stderr" || { cat "$scratch/stderr" >&2; exit 1; }
          end=$(date +%s%N)
          elapsed=$(((end - start) / 1000000))
          totals[$which-$kind]+=" $elapsed"
          python3 hack/bench_tasks.py collect "$dir/out" "$start" >"$dir/$which-$kind-$run.json"
        done
      done
    done
    for which in new base; do
      for kind in "${kinds[@]}"; do
        # shellcheck disable=SC2086
        medians[$which-$kind-$scale]=$(printf '%s\n' ${totals[$which-$kind]} | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
      done
    done
    echo
    echo "${scale}× ($(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["workspaces"], "workspaces /", s["plugins"], "plugins")' "$dir.json")), whole runs, median of ${TASK_RUNS:-3}:"
    echo
    echo "| run | this tree | baseline | vs baseline |"
    echo "|---|---|---|---|"
    for kind in "${kinds[@]}"; do
      echo "| ${label[$kind]} | ${medians[new-$kind-$scale]} ms | ${medians[base-$kind-$scale]} ms | $(ratio "${medians[base-$kind-$scale]}" "${medians[new-$kind-$scale]}") faster |"
    done
    for kind in "${kinds[@]}"; do
      python3 hack/bench_tasks.py table "${label[$kind]^} at ${scale}×" "$dir"/base-"$kind"-*.json -- "$dir"/new-"$kind"-*.json
    done
  done
  local first=${scales[0]} last=${scales[-1]}
  if [ "$first" != "$last" ]; then
    echo
    echo "Growth from ${first}× to ${last}× ($((last / first))× the workspaces and plugins):"
    echo
    echo "| run | this tree ${first}× | this tree ${last}× | growth | baseline ${first}× | baseline ${last}× | growth |"
    echo "|---|---|---|---|---|---|---|"
    for kind in "${kinds[@]}"; do
      echo "| ${label[$kind]} | ${medians[new-$kind-$first]} ms | ${medians[new-$kind-$last]} ms | $(ratio "${medians[new-$kind-$last]}" "${medians[new-$kind-$first]}") | ${medians[base-$kind-$first]} ms | ${medians[base-$kind-$last]} ms | $(ratio "${medians[base-$kind-$last]}" "${medians[base-$kind-$first]}") |"
    done
  fi
}

sections=("$@")
((${#sections[@]})) || sections=(index export scale tasks)
for section in "${sections[@]}"; do
  case $section in
    index | export | scale | tasks) "bench_$section" ;;
    *) echo "unknown section '$section' (index, export, scale, tasks)" >&2; exit 2 ;;
  esac
done
