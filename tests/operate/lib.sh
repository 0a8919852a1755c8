# shellcheck shell=bash
# Shared by tests/operate/*.sh (sourced, not run): paths, the pinned node
# tools and how to fail. Same pattern as tests/deploy/lib.sh.
#
# The node modules are installed on first use into a cache directory (the
# first argument of the scripts that need them; ctest passes
# BUILD_DIR/operate-tools), pinned by tests/operate/package-lock.json:
#   @grafana/schema 13.2.3          the Dashboard TypeScript type
#   ts-json-schema-generator 2.4.0  turns it into a JSON Schema
#   ajv 8.17.1                      enforces that schema
# A lock makes parallel tests install once.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OPERATE_TESTS=$REPO/tests/operate
DASHBOARDS=$REPO/deploy/grafana
# shellcheck disable=SC2034  # used by the scripts that source this file
CHART_DASHBOARDS=$REPO/charts/trunkline/files/grafana
# The dashboard type inside @grafana/schema, and the file that declares it.
GRAFANA_DASHBOARD_TYPES=@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() { echo "--- $*"; }

dashboards() {
  local f found=0
  for f in "$DASHBOARDS"/*.json; do
    [ -f "$f" ] || continue
    found=1
    echo "$f"
  done
  [ "$found" = 1 ] || fail "no dashboards in $DASHBOARDS"
}

# operate_init CACHE_DIR: sets CACHE, NODE_PATH, DASHBOARD_SCHEMA and
# installs what is missing (node modules, then the generated JSON Schema).
operate_init() {
  CACHE=${1:-${TMPDIR:-/tmp}/trunkline-operate-tools}
  mkdir -p "$CACHE"
  CACHE=$(cd "$CACHE" && pwd)
  export NODE_PATH=$CACHE/grafana-node/node_modules
  DASHBOARD_SCHEMA=$CACHE/grafana-node/dashboard.schema.json
  command -v node > /dev/null || fail "node is not installed (Debian 12: apt-get install nodejs npm)"
  command -v npm > /dev/null || fail "npm is not installed (Debian 12: apt-get install npm)"
  (
    flock 9
    install_operate_node_modules
    generate_dashboard_schema
  ) 9> "$CACHE/.operate.lock"
}

install_operate_node_modules() {
  local dir=$CACHE/grafana-node stamp
  stamp=$(cat "$OPERATE_TESTS/package.json" "$OPERATE_TESTS/package-lock.json" | sha256sum | cut -c1-64)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    return
  fi
  note "installing node modules (tests/operate/package-lock.json) into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$OPERATE_TESTS/package.json" "$OPERATE_TESTS/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    fail "npm ci of tests/operate/package-lock.json failed"
  echo "$stamp" > "$dir/.stamp"
}

# The JSON Schema of @grafana/schema's Dashboard type, generated once per
# installed module set (a minute of CPU) and kept next to the modules.
generate_dashboard_schema() {
  local dir=$CACHE/grafana-node types
  if [ -s "$DASHBOARD_SCHEMA" ] && [ "$DASHBOARD_SCHEMA" -nt "$dir/.stamp" ]; then
    return
  fi
  types=$dir/node_modules/$GRAFANA_DASHBOARD_TYPES
  [ -f "$types" ] || fail "$GRAFANA_DASHBOARD_TYPES is missing from the installed @grafana/schema"
  note "generating the JSON Schema of Dashboard from $GRAFANA_DASHBOARD_TYPES"
  (cd "$dir" && node node_modules/ts-json-schema-generator/bin/ts-json-schema-generator \
    --path "$types" --type Dashboard --no-type-check --expose export \
    --out "$DASHBOARD_SCHEMA.tmp") > "$dir/schema.log" 2>&1 || {
    cat "$dir/schema.log" >&2
    fail "ts-json-schema-generator could not turn Dashboard into a JSON Schema"
  }
  mv "$DASHBOARD_SCHEMA.tmp" "$DASHBOARD_SCHEMA"
}
