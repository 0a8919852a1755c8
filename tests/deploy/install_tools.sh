#!/usr/bin/env bash
# Installs the pinned tools the deploy checks use (helm, node modules) into
# CACHE_DIR; the other scripts call the same code, so this is the ctest
# fixture that does it once, first.
#
#   tests/deploy/install_tools.sh CACHE_DIR
. "$(dirname "$0")/lib.sh"
deploy_init "${1:-}"
"$HELM" version --short
node -e "for (const m of ['kubernetes-models/package.json', '@kubernetes-models/prometheus-operator/package.json', 'yaml/package.json']) { const p = require(m); console.log(p.name + ' ' + p.version); }"
echo "deploy tools ready in $CACHE"
