#!/bin/sh
# Stands in for the upstream overlay's registry (ghcr.io/redhat-developer/rhdh-plugin-export-overlays),
# whose own CI builds the community plugins: packages one small plugin image for every plugin of the
# overlay's rhdh-community-packages.txt, under the reference `index` plans for it in that registry
# (`bs_<backstage>__<version>` tags), into a store. Same inputs, same image digests.
#
# usage: examples/community-images.sh <rhdh-catalog> <overlay> <store> [<registry prefix> [<insecure host>]]
set -eu
[ $# -ge 3 ] || { echo "usage: $0 <rhdh-catalog> <overlay> <store> [<registry prefix> [<insecure host>]]" >&2; exit 2; }
tool=$1 overlay=$2 store=$3
prefix=${4:-ghcr.io/redhat-developer/rhdh-plugin-export-overlays}
insecure=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" index --overlay "$overlay" --packages "$overlay/rhdh-community-packages.txt" \
  --registry quay.io/rhdh --rhdh-version 1.10.0 \
  --community-registry "$prefix" --community-tag-scheme backstage --allow-local-repos --dry-run >"$work/plan"
while read -r image _ reference; do
  version=${reference##*__}
  mkdir -p "$work/$image/dist"
  cat >"$work/$image/package.json" <<JSON
{
  "name": "$image-dynamic",
  "version": "$version",
  "backstage": { "role": "frontend-plugin" },
  "main": "dist/index.cjs.js"
}
JSON
  printf 'module.exports = {};\n' >"$work/$image/dist/index.cjs.js"
  set -- package "$work/$image" --tag "$reference" --store "$store"
  [ -z "$insecure" ] || set -- "$@" --insecure-registry "$insecure"
  "$tool" "$@" >/dev/null
  echo "$reference"
done <"$work/plan"
