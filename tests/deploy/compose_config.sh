#!/usr/bin/env bash
# docker-compose.yml is a valid Compose file for docker-compose 1.29.2
# (`docker-compose config -q`, offline: no Docker engine needed), runs the
# three services and the two SIPp peers with the example topology mounted;
# and every Dockerfile target it builds, and every stage the Dockerfile
# copies from, exists. Installs Debian's docker-compose when it is missing
# (as root).
#
#   tests/deploy/compose_config.sh [TRUNKCTL]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TRUNKCTL=${1:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$REPO"

if ! command -v docker-compose > /dev/null; then
  [ "$(id -u)" = 0 ] || fail "docker-compose is not installed and this is not root: apt-get install docker-compose"
  echo "--- installing Debian's docker-compose"
  export DEBIAN_FRONTEND=noninteractive
  # Several tests may install at once: apt's own lock makes them wait.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 docker-compose > /dev/null 2>&1 ||
    { apt-get update -qq -o DPkg::Lock::Timeout=300 &&
      apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 docker-compose > /dev/null; } ||
    fail "apt-get install docker-compose failed"
fi
docker-compose version --short 2> /dev/null || docker-compose --version

echo "--- docker-compose -f docker-compose.yml config -q"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml does not validate (above)"

config=$(docker-compose -f docker-compose.yml config) || fail "docker-compose config failed"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
for service in signaling routing media pstn-gateway uc-front-end; do
  [[ " $services" == *" $service "* ]] || fail "docker-compose.yml has no service $service (has: $services)"
done
grep -q "$REPO/deploy/examples/topology.yaml:/etc/trunkline/topology.yaml:ro" <<< "$config" ||
  fail "the example topology is not mounted at /etc/trunkline/topology.yaml"
for scenario in uas uac; do
  grep -q -- "- $scenario\$" <<< "$config" ||
    fail "no SIPp $scenario peer (-sn $scenario) in docker-compose.yml"
done

# Targets and stages.
stages=$(sed -n 's/^FROM [^ ]* AS \([a-z0-9_-]*\)$/\1/p' Dockerfile | sort -u | tr '\n' ' ')
for target in $(sed -n 's/.*target: *\([a-z0-9_-]*\).*/\1/p' docker-compose.yml | sort -u); do
  [[ " $stages" == *" $target "* ]] || fail "docker-compose.yml builds target $target, which the Dockerfile lacks (stages: $stages)"
done
for service in signaling routing media; do
  [[ " $stages" == *" $service "* ]] || fail "the Dockerfile has no $service target"
done
for from in $(sed -n 's/.*--from=\([a-z0-9_-]*\).*/\1/p' Dockerfile | sort -u); do
  [[ " $stages" == *" $from "* ]] || fail "the Dockerfile copies from $from, which is no stage"
done
grep -q "deploy/debian-packages.txt" Dockerfile || fail "the builder does not install deploy/debian-packages.txt"
[ -x tools/deploy/runtime_packages.sh ] || fail "tools/deploy/runtime_packages.sh is not executable"

# The runtime package list the images would get, from a binary built here.
if [ -n "$TRUNKCTL" ]; then
  echo "--- runtime packages of $(basename "$TRUNKCTL") (what tools/deploy/runtime_packages.sh gives the images)"
  packages=$(tools/deploy/runtime_packages.sh "$TRUNKCTL") || fail "tools/deploy/runtime_packages.sh failed"
  echo "$packages" | tr '\n' ' '
  echo
  grep -qx 'libgrpc++1.51' <<< "$packages" || fail "runtime_packages.sh did not find libgrpc++1.51"
  echo "--- trunkctl topology validate (the mounted topology)"
  "$TRUNKCTL" topology validate deploy/examples/topology.yaml || fail "the mounted topology does not validate"
fi
echo "docker-compose.yml and Dockerfile: valid"
