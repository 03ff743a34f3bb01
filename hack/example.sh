#!/usr/bin/env bash
# The main job on the bundled example, on one machine: no cluster, no registry server.
#
# Builds local git repositories from examples/ under out/example/ (two upstream monorepos, the
# overlay repository, a midstream repository with a bare remote), then runs the whole sync
# pipeline with `rhdh-catalog sync`: fetch, export every workspace (the recorded exporter stands in
# for rhdh-cli, so no npm downloads), package the plugin images into an OCI layout
# (out/registry), build the digest-pinned index (the supported catalog, and the community catalog,
# whose plugin images stand in for the upstream overlay's registry), bump the release number, commit
# and push, and publish both catalog index images into the same store.
# Running it again is a no-op sync. `hack/example.sh --fresh` starts over. It ends by saying where
# the status page is (out/sync/status.html).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
example=$root/out/example
if [ "${1:-}" = --fresh ]; then
  rm -rf "$example" "$root/out/sync" "$root/out/registry"
fi

echo "building rhdh-catalog (the first build compiles for about 2 minutes on 2 cores, after downloading the crates; later ones take seconds)" >&2
cargo build --bin rhdh-catalog
tool=$root/target/debug/rhdh-catalog
export GIT_AUTHOR_NAME=example GIT_AUTHOR_EMAIL=example@example.test GIT_COMMITTER_NAME=example GIT_COMMITTER_EMAIL=example@example.test

repository() { # <dir>: commit everything in <dir> as a new repository on branch main
  git -C "$1" init -q -b main
  git -C "$1" config uploadpack.allowFilter true
  git -C "$1" config uploadpack.allowReachableSHA1InWant true
  git -C "$1" add -A
  git -C "$1" commit -q -m "example content"
}

if [ ! -d "$example/midstream" ]; then
  mkdir -p "$example/upstreams"
  for upstream in community-plugins rhdh-plugins; do
    cp -r "examples/upstreams/$upstream" "$example/upstreams/$upstream"
    repository "$example/upstreams/$upstream"
    git -C "$example/upstreams/$upstream" tag v1
  done
  cp -r examples/overlay "$example/overlay"
  for source in "$example"/overlay/workspaces/*/source.json; do
    sed -i -e "s|https://github.com/backstage/community-plugins|file://$example/upstreams/community-plugins|" \
      -e "s|https://github.com/redhat-developer/rhdh-plugins|file://$example/upstreams/rhdh-plugins|" \
      -e 's|"repo-ref":"[^"]*"|"repo-ref":"v1"|' "$source"
  done
  repository "$example/overlay"
  git init -q --bare -b main "$example/midstream.git"
  git clone -q "$example/midstream.git" "$example/midstream" 2>/dev/null
  cp -r examples/midstream/. "$example/midstream/"
  cat >"$example/midstream/upstream_repos.yml" <<YAML
rhdh:
  branch: main
  version: 1.10.0
backstage:
  version: 1.52.0
repos:
  - repo: file://$example/overlay
    branch: [release-1.10, main]
    destination_folder: overlay-repo
YAML
  git -C "$example/midstream" add -A
  git -C "$example/midstream" commit -q -m "example midstream"
  git -C "$example/midstream" push -q origin main
fi

# The community catalog's plugins come from the upstream overlay's registry (ghcr.io), which its own
# CI fills: stand them in, in the same local store (idempotent: same bytes, same digests).
examples/community-images.sh "$tool" "$example/overlay" oci-layout:out/registry >/dev/null

status=0
"$tool" sync --allow-local-repos --tree "$example/midstream" --out out/sync --store oci-layout:out/registry \
  --exporter "$root/examples/recorded-exporter.sh" --install-command true --tsc-command true \
  --param publish=true || status=$?
echo "status page: $root/out/sync/status.html (open it in a browser; status.md beside it has the same facts)"
exit "$status"
