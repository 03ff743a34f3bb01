#!/usr/bin/env bash
# The one way digests change in this repository: Task step images, Tekton bundles, base images.
#
#   hack/pin-images.sh <reference> sha256:<64 hex>
#     Every `<reference>@sha256:<digest>` under tekton/, .tekton/ and containerfiles/ gets the new
#     digest; a reference with a tag written without a digest (the tag ends the value) gets
#     `@<digest>` added. Prints `pinned <reference>@<digest> in <n> file(s)`; a reference found
#     nowhere is an error (exit 2). Examples:
#       hack/pin-images.sh quay.io/rhdh-community/rhdh-catalog sha256:<digest>
#       hack/pin-images.sh quay.io/konflux-ci/tekton-catalog/task-init:0.4.2 sha256:<digest>
#       hack/pin-images.sh registry.access.redhat.com/ubi9/s2i-base:latest sha256:<digest>
#
#   hack/pin-images.sh --from-build <file>|-
#     Pins the image a Konflux build produced: <file> is the build's PipelineRun as JSON
#     (`kubectl get pipelinerun <name> -o json`); its results IMAGE_URL (the repository, the tag
#     dropped) and IMAGE_DIGEST are pinned as above. A run that did not succeed, or has no such
#     results, is refused (exit 2). Needs jq.
#
#   hack/pin-images.sh --base-images
#     Resolves the tag of every `FROM <image>:<tag>@sha256:<digest>` of containerfiles/ to the
#     digest the registry serves for it now (`skopeo inspect`; PIN_IMAGES_TLS_VERIFY=false for a
#     plain-HTTP test registry) and pins it. A tag the registry does not answer for is exit 3.
#
#   hack/pin-images.sh --release v<major>.<minor>.<patch>
#     Points the Pipeline and Task URLs of the PaC templates (tekton/pac/) at that tag.
#
#   hack/pin-images.sh --check
#     Prints nothing and exits 0 when the tree is releasable: every step image, bundle and base
#     image pinned to a real digest (no all-zero placeholder, no bundle or base image without a
#     digest), and the PaC templates naming one release tag. Otherwise lists what is not, on
#     stderr, and exits 1. Run it on the tree you are about to tag.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=(tekton .tekton containerfiles)

usage() {
  echo "usage: $0 <reference> sha256:<digest> | --from-build <file>|- | --base-images | --release v<x.y.z> | --check" >&2
  exit 2
}

# pin <reference> <digest>: the rewrite described above.
pin() {
  local reference=$1 digest=$2
  [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "$digest is not sha256:<64 lowercase hex>" >&2; exit 2; }
  [[ $digest =~ ^sha256:0{64}$ ]] && { echo "$digest is the placeholder, not a digest" >&2; exit 2; }
  [[ $reference =~ ^[a-z0-9][a-z0-9._/:-]*$ ]] || { echo "$reference is not an image reference without a digest" >&2; exit 2; }
  local escaped has_tag=false pinned_pattern bare_pattern files
  escaped=$(printf '%s' "$reference" | sed 's/[.[\*^$/]/\\&/g')
  [[ ${reference##*/} == *:* ]] && has_tag=true
  pinned_pattern="${escaped}@sha256:[0-9a-f]{64}"
  # A reference with a tag may also appear without a digest: then the tag ends the value.
  bare_pattern="${escaped}([\"']?[[:space:]]*$|[\"']?[[:space:]]+AS[[:space:]])"
  files=$(grep -rlE "$pinned_pattern" "${folders[@]}" 2>/dev/null || true)
  if $has_tag; then
    files=$(printf '%s\n%s\n' "$files" "$(grep -rlE "$bare_pattern" "${folders[@]}" 2>/dev/null || true)" | sed '/^$/d' | sort -u)
  fi
  [ -n "$files" ] || { echo "$reference@sha256:… appears in no file under ${folders[*]}" >&2; exit 2; }
  local file
  for file in $files; do
    sed -i -E "s#(${escaped})@sha256:[0-9a-f]{64}#\1@${digest}#g" "$file"
    if $has_tag; then
      sed -i -E "s#(${escaped})([\"']?[[:space:]]*$|[\"']?[[:space:]]+AS[[:space:]])#\1@${digest}\2#" "$file"
    fi
  done
  echo "pinned $reference@$digest in $(echo "$files" | wc -l) file(s)"
}

case "${1:-}" in
  --check)
    [ $# -eq 1 ] || usage
    unpinned=$(
      {
        grep -rnE '@sha256:0{64}' "${folders[@]}" 2>/dev/null || true
        # A Tekton bundle (a `value:` or `bundle:` naming a tekton-catalog image) without a digest.
        grep -rnE '^[[:space:]]*(- )?(value|bundle):[[:space:]]*quay\.io/[^[:space:]]*/tekton-catalog/[^@[:space:]]+[[:space:]]*$' "${folders[@]}" 2>/dev/null || true
        grep -rnE '^FROM[[:space:]]' containerfiles 2>/dev/null | grep -v '@sha256:' || true
      } | sort -u
    )
    tags=$(grep -rhoE 'raw\.githubusercontent\.com/[^/]+/[^/]+/[^/]+/' tekton/pac 2>/dev/null | awk -F/ '{print $4}' | sort -u)
    problems=""
    if [ -n "$unpinned" ]; then
      problems+="not pinned to a real digest yet (hack/pin-images.sh <reference> sha256:<digest>):"$'\n'"$unpinned"$'\n'
    fi
    if [ "$(printf '%s' "$tags" | grep -c .)" -ne 1 ] || ! [[ $tags =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      problems+="the PaC templates (tekton/pac/) name $(printf '%s' "${tags:-no}" | tr '\n' ' ')instead of one release tag v<x.y.z> (hack/pin-images.sh --release v<x.y.z>)"$'\n'
    fi
    if [ -n "$problems" ]; then
      printf '%s' "$problems" >&2
      exit 1
    fi
    exit 0
    ;;
  --from-build)
    [ $# -eq 2 ] || usage
    command -v jq >/dev/null || { echo "--from-build needs jq" >&2; exit 2; }
    run=$(cat -- "$2") || exit 2
    name=$(jq -r '.metadata.name // "the PipelineRun"' <<<"$run" 2>/dev/null) || { echo "$2: not a PipelineRun in JSON" >&2; exit 2; }
    status=$(jq -r '[.status.conditions[]? | select(.type == "Succeeded")][0].status // "Unknown"' <<<"$run")
    [ "$status" = True ] || { echo "$name has not succeeded (condition Succeeded: $status); pin the image of a green build" >&2; exit 2; }
    result() { jq -r --arg name "$1" '[.status.results[]? | select(.name == $name) | .value][0] // empty' <<<"$run"; }
    url=$(result IMAGE_URL) digest=$(result IMAGE_DIGEST)
    [ -n "$url" ] && [ -n "$digest" ] || { echo "$name has no IMAGE_URL and IMAGE_DIGEST results" >&2; exit 2; }
    repository=${url%@*}
    last=${repository##*/}
    [[ $last == *:* ]] && repository=${repository%:*}
    pin "$repository" "$(tr -d '[:space:]' <<<"$digest")"
    ;;
  --base-images)
    [ $# -eq 1 ] || usage
    command -v skopeo >/dev/null || { echo "--base-images needs skopeo" >&2; exit 2; }
    references=$(grep -rhoE '^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?[^[:space:]]+' containerfiles \
      | awk '{print $NF}' | sed 's/@sha256:.*//' | grep ':' | sort -u)
    [ -n "$references" ] || { echo "no FROM <image>:<tag> under containerfiles/" >&2; exit 2; }
    for reference in $references; do
      last=${reference##*/}
      [[ $last == *:* ]] || continue # a stage name, not an image
      if ! digest=$(skopeo inspect --tls-verify="${PIN_IMAGES_TLS_VERIFY:-true}" --format '{{.Digest}}' "docker://$reference" 2>&1); then
        echo "$reference: the registry did not answer with a digest: $digest" >&2
        exit 3
      fi
      pin "$reference" "$digest"
    done
    ;;
  --release)
    [ $# -eq 2 ] || usage
    [[ $2 =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "$2 is not v<major>.<minor>.<patch>" >&2; exit 2; }
    files=$(grep -rlE 'raw\.githubusercontent\.com/' tekton/pac || true)
    [ -n "$files" ] || { echo "no Pipeline or Task URL under tekton/pac" >&2; exit 2; }
    for file in $files; do
      sed -i -E "s#(raw\.githubusercontent\.com/[^/]+/[^/]+/)[^/]+/#\1$2/#g" "$file"
    done
    echo "the PaC templates name $2 in $(echo "$files" | wc -l) file(s)"
    ;;
  -*) usage ;;
  *)
    [ $# -eq 2 ] || usage
    pin "$1" "$2"
    ;;
esac
