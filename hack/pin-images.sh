#!/usr/bin/env bash
# Pins an image or bundle reference in the Tekton definitions and the Containerfiles:
#   hack/pin-images.sh quay.io/rhdh-community/rhdh-catalog sha256:<64 hex>
#   hack/pin-images.sh quay.io/konflux-ci/tekton-catalog/task-git-clone-oci-ta:0.2.4 sha256:<64 hex>
#   hack/pin-images.sh quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel sha256:<64 hex>
#   hack/pin-images.sh registry.access.redhat.com/ubi9/ubi-minimal:9.6 sha256:<64 hex>
# Every `<reference>@sha256:<digest>` under tekton/, .tekton/ and containerfiles/ gets the new
# digest; a reference with a tag that is written without a digest (the tag ends the value) gets
# `@<digest>` added. A count of the rewritten files is printed; a reference found nowhere is an
# error (exit 2). Take the digest from the build (IMAGE_DIGEST of the Konflux PipelineRun) or from
# `skopeo inspect --format '{{.Digest}}' docker://<reference>`.
#
#   hack/pin-images.sh --check
# lists every reference that is not pinned yet (an all-zero placeholder digest, a Konflux bundle or
# a base image without a digest) and exits 1 if there is one. Run it before tagging a release: the
# Tasks of a release tag must run real digests.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=(tekton .tekton containerfiles)

if [ "${1:-}" = --check ]; then
  [ $# -eq 1 ] || { echo "usage: $0 --check" >&2; exit 2; }
  unpinned=$(
    {
      grep -rnE '@sha256:0{64}' "${folders[@]}" 2>/dev/null || true
      grep -rnE '^[[:space:]]*(- )?value: quay\.io/konflux-ci/tekton-catalog/[^@[:space:]]+[[:space:]]*$' "${folders[@]}" 2>/dev/null || true
      grep -rnE '^FROM[[:space:]]' containerfiles 2>/dev/null | grep -v '@sha256:' || true
    } | sort -u
  )
  if [ -n "$unpinned" ]; then
    echo "not pinned to a real digest yet:" >&2
    echo "$unpinned" >&2
    exit 1
  fi
  echo "every image and bundle reference is pinned by digest"
  exit 0
fi

[ $# -eq 2 ] || { echo "usage: $0 <image reference without digest> sha256:<digest> | $0 --check" >&2; exit 2; }
reference=$1 digest=$2
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "$digest is not sha256:<64 lowercase hex>" >&2; exit 2; }
[[ $digest =~ ^sha256:0{64}$ ]] && { echo "$digest is the placeholder, not a digest" >&2; exit 2; }
escaped=$(printf '%s' "$reference" | sed 's/[.[\*^$/]/\\&/g')
# A reference with a tag may also appear without a digest: then the tag ends the value.
has_tag=false
[[ ${reference##*/} == *:* ]] && has_tag=true
pinned_pattern="${escaped}@sha256:[0-9a-f]{64}"
bare_pattern="${escaped}([\"']?[[:space:]]*$|[\"']?[[:space:]]+AS[[:space:]])"
files=$(grep -rlE "$pinned_pattern" "${folders[@]}" 2>/dev/null || true)
if $has_tag; then
  files=$(printf '%s\n%s\n' "$files" "$(grep -rlE "$bare_pattern" "${folders[@]}" 2>/dev/null || true)" | sed '/^$/d' | sort -u)
fi
[ -n "$files" ] || { echo "$reference@sha256:… appears in no file under ${folders[*]}" >&2; exit 2; }
for file in $files; do
  sed -i -E "s#(${escaped})@sha256:[0-9a-f]{64}#\1@${digest}#g" "$file"
  if $has_tag; then
    sed -i -E "s#(${escaped})([\"']?[[:space:]]*$|[\"']?[[:space:]]+AS[[:space:]])#\1@${digest}\2#" "$file"
  fi
done
echo "pinned $reference@$digest in $(echo "$files" | wc -l) file(s)"
