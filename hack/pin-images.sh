#!/usr/bin/env bash
# Re-pins an image or bundle in the Tekton definitions after a release:
#   hack/pin-images.sh quay.io/rhdh-community/rhdh-catalog sha256:<64 hex>
#   hack/pin-images.sh quay.io/konflux-ci/tekton-catalog/task-git-clone-oci-ta:0.2 sha256:<64 hex>
# Every `<reference>@sha256:<digest>` under tekton/ and .tekton/ gets the new digest; a count of the
# rewritten files is printed, and a reference found nowhere is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 <image reference without digest> sha256:<digest>" >&2; exit 2; }
reference=$1 digest=$2
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "$digest is not sha256:<64 lowercase hex>" >&2; exit 2; }
escaped=$(printf '%s' "$reference" | sed 's/[.[\*^$/]/\\&/g')
files=$(grep -rlE "${escaped}@sha256:[0-9a-f]{64}" tekton .tekton 2>/dev/null || true)
[ -n "$files" ] || { echo "$reference@sha256:… appears in no file under tekton/ or .tekton/" >&2; exit 2; }
for file in $files; do
  sed -i -E "s#(${escaped})@sha256:[0-9a-f]{64}#\1@${digest}#g" "$file"
done
echo "pinned $reference@$digest in $(echo "$files" | wc -l) file(s)"
