#!/usr/bin/env bash
# Values the chart must refuse, each with a clear message: tests/deploy/values/
# (see its README). Each file, over examples/lab.yaml, must be refused at the
# stage its header names (schema, chart or trunkctl) with every `# expect:`
# message. examples/lab.yaml itself must pass every stage.
#
#   tests/deploy/values_rejected.sh CACHE_DIR TRUNKCTL
. "$(dirname "$0")/lib.sh"
deploy_init "${1:-}"
TRUNKCTL=${2:-}
if [ -z "$TRUNKCTL" ] || [ ! -x "$TRUNKCTL" ]; then
  fail "usage: $0 CACHE_DIR TRUNKCTL (trunkctl binary: '$TRUNKCTL')"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-rejected-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
BASE=$CHART/examples/lab.yaml

# stage_of FILE -> the stage at which the pipeline refuses it, or "accepted";
# the messages go to $WORK/messages.
stage_of() {
  local values=("$@") out=$WORK/rendered.yaml
  if ! "$HELM" template case "$CHART" "${values[@]}" > "$out" 2> "$WORK/messages"; then
    if grep -q "values don't meet the specifications of the schema" "$WORK/messages"; then
      echo schema
    else
      echo chart
    fi
    return
  fi
  node "$DEPLOY_TESTS/validate_manifests.js" "$out" --topology-out "$WORK/topology.yaml" > "$WORK/messages" 2>&1 ||
    { echo manifests; return; }
  if ! "$TRUNKCTL" topology validate "$WORK/topology.yaml" > "$WORK/messages" 2>&1; then
    echo trunkctl
    return
  fi
  echo accepted
}

[ "$(stage_of -f "$BASE")" = accepted ] || { cat "$WORK/messages" >&2; fail "examples/lab.yaml itself is refused"; }

cases=0
for file in "$DEPLOY_TESTS"/values/*.yaml; do
  name=values/$(basename "$file")
  want=$(sed -n 's/^# stage: *//p' "$file")
  [ -n "$want" ] || fail "$name has no '# stage:' line"
  grep -q '^# expect: ' "$file" || fail "$name has no '# expect:' line"
  got=$(stage_of -f "$BASE" -f "$file")
  note "$name: refused at $got (expected $want)"
  if [ "$got" != "$want" ]; then
    cat "$WORK/messages" >&2
    fail "$name: expected the $want stage to refuse it, got: $got"
  fi
  while IFS= read -r expect; do
    if ! grep -qF -- "$expect" "$WORK/messages"; then
      cat "$WORK/messages" >&2
      fail "$name: the message lacks: $expect"
    fi
  done < <(sed -n 's/^# expect: //p' "$file")
  sed 's/^/    /' "$WORK/messages" | head -20
  cases=$((cases + 1))
done
[ "$cases" -ge 5 ] || fail "only $cases cases in tests/deploy/values"
echo "values rejected: $cases cases refused at their stage with their messages"
