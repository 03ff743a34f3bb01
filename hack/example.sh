#!/usr/bin/env bash
# The main job on the bundled example, with no cluster and no registry server: package every
# example export into an OCI layout directory (out/registry), then build the catalog index
# against it. Run from anywhere; outputs land in out/ at the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bin rhdh-catalog
tool=target/debug/rhdh-catalog
overlay=examples/overlay
store=oci-layout:out/registry
registry=quay.io/rhdh
rhdh_version=1.10.0

# Which image and tag each selected plugin needs, straight from the overlay metadata.
"$tool" index --overlay "$overlay" --registry "$registry" --rhdh-version "$rhdh_version" --dry-run |
  while read -r image _workspace_path reference; do
    RUST_LOG=warn "$tool" package "examples/exports/$image" --tag "$reference" --store "$store" \
      --label build-date=2026-11-01T00:00:00Z --label vcs-ref=example \
      --env UPSTREAM_REPO=https://github.com/redhat-developer/rhdh-plugin-export-overlays >/dev/null
  done

"$tool" index --overlay "$overlay" --registry "$registry" --rhdh-version "$rhdh_version" \
  --store "$store" --output out/catalog-index --plugin-builds out/plugin_builds \
  --overlay-commit example --source-repo https://github.com/redhat-developer/rhdh-plugin-export-overlays \
  --report out/index-report.json

echo "index:  out/catalog-index (dynamic-plugins.default.yaml, index.json, catalog-entities/)"
echo "report: out/index-report.json"
echo "images: out/registry (OCI layouts; e.g. skopeo inspect oci:out/registry/rhdh/backstage-community-plugin-tech-radar:$rhdh_version--1.20.0)"
