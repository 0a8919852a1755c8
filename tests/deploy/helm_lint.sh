#!/usr/bin/env bash
# `helm lint --strict` and `helm template` of charts/trunkline with each
# example values file, alone and with the other switches (SIP on
# hostNetwork, monitoring on).
#
#   tests/deploy/helm_lint.sh CACHE_DIR
. "$(dirname "$0")/lib.sh"
deploy_init "${1:-}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-helm-lint-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for example in "${EXAMPLES[@]}"; do
  values=$CHART/examples/$example.yaml
  [ -f "$values" ] || fail "missing $values"
  for variant in "${VARIANTS[@]}"; do
    read -r -a words <<< "$variant"
    label=${words[0]}
    extra=("${words[@]:1}")
    note "helm lint --strict -f examples/$example.yaml ${extra[*]}"
    if ! "$HELM" lint --strict "$CHART" -f "$values" "${extra[@]}" > "$WORK/lint.out" 2>&1; then
      cat "$WORK/lint.out" >&2
      fail "helm lint --strict with examples/$example.yaml ($label) failed"
    fi
    note "helm template -f examples/$example.yaml ${extra[*]}"
    render "$example" "$WORK/$example-$label.yaml" -f "$values" "${extra[@]}"
    [ -s "$WORK/$example-$label.yaml" ] || fail "helm template with examples/$example.yaml ($label) rendered nothing"
  done
done

# Without a topology the chart refuses, saying why.
note "helm template without a topology fails with a message"
if "$HELM" template bare "$CHART" > "$WORK/bare.out" 2>&1; then
  fail "helm template without a topology succeeded"
fi
grep -q "topology is empty" "$WORK/bare.out" || { cat "$WORK/bare.out" >&2; fail "no clear message without a topology"; }
echo "helm lint and template: ${#EXAMPLES[@]} examples x ${#VARIANTS[@]} variants passed"
