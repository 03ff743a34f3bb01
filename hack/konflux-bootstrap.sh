#!/usr/bin/env bash
# From an empty Konflux tenant to a green sync run, one step at a time (README, "From an empty
# Konflux tenant to a green sync run"). Each step does its part; `--check` after a step name only
# checks it (exit 0 done, 1 not yet, with what to do; 2 bad usage); `check` checks, in order, every
# step that takes no argument and stops at the first one that is not done.
#
#   hack/konflux-bootstrap.sh images               Application and Components of the two images
#   hack/konflux-bootstrap.sh image-push-secret    push secret for quay.io/rhdh-community, linked
#                                                  (QUAY_AUTH_FILE=<docker config.json>)
#   hack/konflux-bootstrap.sh first-build          (check only) the push builds of both images green
#   hack/konflux-bootstrap.sh pin                  the Tasks' step images pinned to those builds
#   hack/konflux-bootstrap.sh tag v<x.y.z>         PaC templates at the tag, --check clean, tag pushed
#   hack/konflux-bootstrap.sh sync-tenant          Component + ImageRepository of the midstream
#                                                  (MIDSTREAM_URL=https://github.com/<org>/<repo>)
#   hack/konflux-bootstrap.sh git-auth             Secret git-auth with a push token that lasts
#                                                  (GIT_PUSH_TOKEN=<token>)
#   hack/konflux-bootstrap.sh pac <midstream dir>  the PaC runs copied into the midstream's .tekton/
#   hack/konflux-bootstrap.sh sync-run             (check only) the newest sync run green
#
# Needs kubectl logged in to the tenant (the namespace of the current context, or NAMESPACE), jq,
# git, and for `tag` curl. Nothing here prints a secret.
set -euo pipefail
cd "$(dirname "$0")/.."

images=(rhdh-catalog rhdh-catalog-exporter)
push_secret=rhdh-community-push
sync_component=rhdh-catalog-sync
sync_account=build-pipeline-$sync_component
# image-controller names the push secret of an ImageRepository <name>-image-push
# (internal/controller/imagerepository_controller.go, getSecretName, appstudio.redhat.com group).
sync_push_secret=rhdh-catalog-sync-image-push
git_auth_secret=git-auth

die() { echo "error: $*" >&2; exit 2; }
todo() { echo "not done: $*" >&2; exit 1; }
ok() { echo "done: $*"; }
need() { command -v "$1" >/dev/null || die "$1 is not installed"; }

namespace() {
  local ns=${NAMESPACE:-}
  [ -n "$ns" ] || ns=$(kubectl config view --minify -o jsonpath='{..namespace}' 2>/dev/null || true)
  [ -n "$ns" ] || die "no namespace: set NAMESPACE or the namespace of the kubectl context"
  printf '%s' "$ns"
}

k() { kubectl --namespace "$(namespace)" "$@"; }

# The secrets a ServiceAccount lists, one per line.
account_secrets() { k get serviceaccount "$1" -o json 2>/dev/null | jq -r '.secrets[]?.name'; }

link_secret() {
  local account=$1 secret=$2
  if ! account_secrets "$account" | grep -qx "$secret"; then
    k patch serviceaccount "$account" --type=json \
      -p "[{\"op\": \"add\", \"path\": \"/secrets/-\", \"value\": {\"name\": \"$secret\"}}]" >/dev/null
  fi
}

# The newest push PipelineRun of a component, as JSON (empty when there is none).
newest_push_run() {
  k get pipelineruns -l "appstudio.openshift.io/component=$1,pipelinesascode.tekton.dev/event-type=push" -o json \
    | jq -c '.items | sort_by(.metadata.creationTimestamp) | last // empty'
}

run_status() { jq -r '[.status.conditions[]? | select(.type == "Succeeded")][0].status // "Unknown"'; }

check_images() {
  local image
  for image in "${images[@]}"; do
    k get component "$image" >/dev/null 2>&1 || todo "Component $image does not exist: hack/konflux-bootstrap.sh images"
    k get serviceaccount "build-pipeline-$image" >/dev/null 2>&1 \
      || todo "build-service has not created build-pipeline-$image yet (is the Konflux GitHub App installed on the repository?)"
  done
  ok "Components ${images[*]} and their build ServiceAccounts exist"
}

check_image_push_secret() {
  local image
  k get secret "$push_secret" >/dev/null 2>&1 || todo "Secret $push_secret does not exist: QUAY_AUTH_FILE=… hack/konflux-bootstrap.sh image-push-secret"
  for image in "${images[@]}"; do
    account_secrets "build-pipeline-$image" | grep -qx "$push_secret" \
      || todo "build-pipeline-$image does not list $push_secret: hack/konflux-bootstrap.sh image-push-secret"
  done
  ok "$push_secret is linked to build-pipeline-${images[0]} and build-pipeline-${images[1]}"
}

check_first_build() {
  local image run status
  for image in "${images[@]}"; do
    run=$(newest_push_run "$image")
    [ -n "$run" ] || todo "no push build of $image yet: push a commit to main that touches what goes into it"
    status=$(run_status <<<"$run")
    [ "$status" = True ] || todo "the newest push build of $image, $(jq -r .metadata.name <<<"$run"), is not green (Succeeded: $status)"
  done
  ok "the newest push builds of ${images[*]} succeeded"
}

check_pin() {
  local image
  for image in "${images[@]}"; do
    if grep -rqE "quay\.io/rhdh-community/$image@sha256:0{64}" tekton; then
      todo "tekton/task/ still runs quay.io/rhdh-community/$image at the placeholder digest: hack/konflux-bootstrap.sh pin"
    fi
  done
  ok "the Tasks run the built images by digest"
}

check_tag() {
  local tag=${1:-} url
  [ -n "$tag" ] || die "usage: $0 tag v<x.y.z> [--check]"
  hack/pin-images.sh --check || todo "the tree is not releasable (above)"
  git ls-remote --exit-code --tags origin "refs/tags/$tag" >/dev/null || todo "tag $tag is not on origin: hack/konflux-bootstrap.sh tag $tag"
  url=$(grep -ohE 'https://raw\.githubusercontent\.com/[^ ]+rhdh-catalog-sync\.yaml' tekton/pac/rhdh-catalog-sync-push.yaml | head -n1)
  [[ $url == */"$tag"/* ]] || todo "the PaC templates do not name $tag: hack/konflux-bootstrap.sh tag $tag"
  curl -fsSIo /dev/null "$url" || todo "$url is not served yet"
  ok "$tag is pushed and the PaC templates' Pipeline URL answers"
}

check_sync_tenant() {
  local state
  k get component "$sync_component" >/dev/null 2>&1 || todo "Component $sync_component does not exist: MIDSTREAM_URL=… hack/konflux-bootstrap.sh sync-tenant"
  state=$(k get imagerepository "$sync_component" -o jsonpath='{.status.state}' 2>/dev/null || true)
  [ "$state" = ready ] || todo "ImageRepository $sync_component is not ready (state: ${state:-none})"
  account_secrets "$sync_account" | grep -qx "$sync_push_secret" \
    || todo "$sync_account does not list $sync_push_secret yet (image-controller links it once the ServiceAccount exists)"
  ok "$sync_account exists and holds the push secret of the artifact repository"
}

check_git_auth() {
  local size
  size=$(k get secret "$git_auth_secret" -o jsonpath='{.data.password}' 2>/dev/null | wc -c)
  [ "$size" -gt 0 ] || todo "Secret $git_auth_secret with a non-empty password does not exist: GIT_PUSH_TOKEN=… hack/konflux-bootstrap.sh git-auth"
  ok "Secret $git_auth_secret holds a push token"
}

# The PaC templates as the midstream needs them: the tenant's namespace in output-image.
render_pac() { sed "s#/redhat-user-workloads/rhdh-tenant/#/redhat-user-workloads/$(namespace)/#" "$1"; }

check_pac() {
  local dir=${1:-} file
  [ -n "$dir" ] || die "usage: $0 pac <midstream checkout> [--check]"
  for file in tekton/pac/rhdh-catalog-sync-*.yaml; do
    cmp -s <(render_pac "$file") "$dir/.tekton/${file##*/}" \
      || todo "$dir/.tekton/${file##*/} is not the current template: hack/konflux-bootstrap.sh pac $dir"
  done
  ok "the midstream's .tekton/ holds the sync PipelineRuns (commit and push them there)"
}

check_sync_run() {
  local run status
  run=$(k get pipelineruns -l "appstudio.openshift.io/component=$sync_component" -o json \
    | jq -c '.items | sort_by(.metadata.creationTimestamp) | last // empty')
  [ -n "$run" ] || todo "no sync run yet: push a change of upstream_repos.yml to the midstream's main, or comment /sync on its head commit"
  status=$(run_status <<<"$run")
  [ "$status" = True ] || todo "the newest sync run, $(jq -r .metadata.name <<<"$run"), is not green (Succeeded: $status): tkn pipelinerun logs $(jq -r .metadata.name <<<"$run")"
  ok "the newest sync run, $(jq -r .metadata.name <<<"$run"), succeeded"
}

step=${1:-}
[ -n "$step" ] || { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift
argument=""
if [ $# -gt 0 ] && [ "$1" != --check ]; then argument=$1; shift; fi
only_check=false
[ "${1:-}" = --check ] && only_check=true

case "$step" in
  check)
    # Every step that needs no argument, in order (tag and pac are checked with their argument).
    need kubectl; need jq
    check_images && check_image_push_secret && check_first_build && check_pin && check_sync_tenant \
      && check_git_auth && check_sync_run
    ;;
  images)
    need kubectl; need jq
    $only_check || k apply -f konflux/rhdh-catalog-images.yaml
    check_images
    ;;
  image-push-secret)
    need kubectl; need jq
    if ! $only_check; then
      [ -f "${QUAY_AUTH_FILE:-}" ] || die "QUAY_AUTH_FILE must name a docker config.json that may push to quay.io/rhdh-community"
      k create secret generic "$push_secret" --type=kubernetes.io/dockerconfigjson \
        --from-file=.dockerconfigjson="$QUAY_AUTH_FILE" --dry-run=client -o yaml | k apply -f - >/dev/null
      for image in "${images[@]}"; do link_secret "build-pipeline-$image" "$push_secret"; done
    fi
    check_image_push_secret
    ;;
  first-build)
    need kubectl; need jq
    check_first_build
    ;;
  pin)
    need kubectl; need jq
    if ! $only_check; then
      check_first_build >/dev/null
      for image in "${images[@]}"; do newest_push_run "$image" | hack/pin-images.sh --from-build -; done
    fi
    check_pin
    ;;
  tag)
    need git; need curl
    [[ $argument =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "usage: $0 tag v<x.y.z> [--check]"
    if ! $only_check; then
      hack/pin-images.sh --release "$argument"
      hack/pin-images.sh --check || die "the tree is not releasable (above); nothing was tagged"
      git add tekton .tekton containerfiles
      git diff --cached --quiet || git commit -q -m "Release $argument: the Tasks run the images built from $(git rev-parse --short HEAD)"
      git tag -a "$argument" -m "rhdh-catalog $argument"
      git push -q origin HEAD "refs/tags/$argument"
    fi
    check_tag "$argument"
    ;;
  sync-tenant)
    need kubectl; need jq
    if ! $only_check; then
      [[ ${MIDSTREAM_URL:-} =~ ^https://[^[:space:]]+$ ]] || die "MIDSTREAM_URL must be the https URL of the midstream repository"
      sed "s#MIDSTREAM_URL#$MIDSTREAM_URL#" konflux/rhdh-catalog-sync.yaml | k apply -f -
    fi
    check_sync_tenant
    ;;
  git-auth)
    need kubectl
    if ! $only_check; then
      [ -n "${GIT_PUSH_TOKEN:-}" ] || die "GIT_PUSH_TOKEN must hold a token that may push to the midstream's main"
      case "$GIT_PUSH_TOKEN" in
        ghs_* | ghu_*)
          die "GIT_PUSH_TOKEN is a GitHub App token, which expires within hours of its issue; the sync pushes up to 5h20m after it starts: use a token that lasts (a fine-grained personal access token or a bot's token)"
          ;;
      esac
      k create secret generic "$git_auth_secret" --from-literal=password="$GIT_PUSH_TOKEN" --dry-run=client -o yaml | k apply -f - >/dev/null
    fi
    check_git_auth
    ;;
  pac)
    [ -n "$argument" ] || die "usage: $0 pac <midstream checkout> [--check]"
    [ -d "$argument/.git" ] || die "$argument is not a git checkout of the midstream repository"
    if ! $only_check; then
      mkdir -p "$argument/.tekton"
      for file in tekton/pac/rhdh-catalog-sync-*.yaml; do render_pac "$file" >"$argument/.tekton/${file##*/}"; done
    fi
    check_pac "$argument"
    ;;
  sync-run)
    need kubectl; need jq
    check_sync_run
    ;;
  *) die "unknown step $step (see $0 without arguments)" ;;
esac
