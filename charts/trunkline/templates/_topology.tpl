{{/*
What the chart reads from .Values.topology, and the checks JSON Schema cannot
make: references between objects (a trunk's gateway, a route's trunks, ...),
and what this deployment needs of the topology. `trunkline.checks` fails the
render with every problem at once; messages follow `trunkctl topology
validate`. The semantic checks (patterns, addresses, ...) stay with trunkctl
and the services' loader.
*/}}

{{/* The short lower-case spelling of an enum value: (dict "value" "TRANSPORT_UDP" "prefix" "TRANSPORT_") -> udp */}}
{{- define "trunkline.enum" -}}
{{- trimPrefix .prefix (.value | toString | upper | replace "-" "_") | lower -}}
{{- end -}}

{{/* Appends to .ctx.errs when .value does not name one of .names. */}}
{{- define "trunkline.checkRef" -}}
{{- $value := .value | default "" | toString -}}
{{- if not $value -}}
  {{- if .required -}}
    {{- $_ := set .ctx "errs" (append .ctx.errs (printf "%s: %s is required" .owner .field)) -}}
  {{- end -}}
{{- else if not (hasKey .names $value) -}}
  {{- $_ := set .ctx "errs" (append .ctx.errs (printf "%s: %s %q is not defined" .owner .kind $value)) -}}
{{- end -}}
{{- end -}}

{{/* Reference errors of the topology, one per line. */}}
{{- define "trunkline.topologyErrors" -}}
{{- $t := .Values.topology | default dict -}}
{{- $ctx := dict "errs" list -}}
{{- $kinds := list
      (list "sites" "site") (list "pools" "pool") (list "gateways" "gateway")
      (list "trunks" "trunk") (list "trunkConfigurations" "trunk configuration")
      (list "dialPlans" "dial plan") (list "voicePolicies" "voice policy")
      (list "pstnUsages" "PSTN usage") (list "voiceRoutes" "voice route")
      (list "credentials" "credential") -}}
{{- $n := dict -}}
{{- range $kinds -}}
  {{- $key := index . 0 -}}
  {{- $label := index . 1 -}}
  {{- $set := dict -}}
  {{- range $i, $o := (get $t $key | default list) -}}
    {{- $name := $o.name | default "" | toString -}}
    {{- if not $name -}}
      {{- $_ := set $ctx "errs" (append $ctx.errs (printf "%s #%d: name is required" $label (add1 $i))) -}}
    {{- else if hasKey $set $name -}}
      {{- $_ := set $ctx "errs" (append $ctx.errs (printf "%s %q is defined twice" $label $name)) -}}
    {{- else -}}
      {{- $_ := set $set $name $o -}}
    {{- end -}}
  {{- end -}}
  {{- $_ := set $n $key $set -}}
{{- end -}}

{{- range $t.pools | default list -}}
  {{- $owner := printf "pool %q" (.name | default "" | toString) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.sites "value" .site "owner" $owner "field" "site" "kind" "site") -}}
{{- end -}}

{{- range $t.gateways | default list -}}
  {{- $owner := printf "gateway %q" (.name | default "" | toString) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.sites "value" .site "owner" $owner "field" "site" "kind" "site") -}}
{{- end -}}

{{- range $t.trunks | default list -}}
  {{- $owner := printf "trunk %q" (.name | default "" | toString) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pools "value" .pool "owner" $owner "field" "pool" "kind" "pool" "required" true) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.gateways "value" .gateway "owner" $owner "field" "gateway" "kind" "gateway" "required" true) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.trunkConfigurations "value" .configuration "owner" $owner "field" "configuration" "kind" "trunk configuration") -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.dialPlans "value" .dialPlan "owner" $owner "field" "dialPlan" "kind" "dial plan") -}}
  {{- if and .listener (hasKey $n.pools (.pool | default "" | toString)) -}}
    {{- $pool := get $n.pools (.pool | toString) -}}
    {{- $listeners := dict -}}
    {{- range $pool.listeners | default list -}}{{- $_ := set $listeners (.name | default "" | toString) true -}}{{- end -}}
    {{- if not (hasKey $listeners (.listener | toString)) -}}
      {{- $_ := set $ctx "errs" (append $ctx.errs (printf "%s: pool %q has no listener %q" $owner (.pool | toString) (.listener | toString))) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}

{{- range $t.trunkConfigurations | default list -}}
  {{- $owner := printf "trunk configuration %q" (.name | default "" | toString) -}}
  {{- range .pstnUsages | default list -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pstnUsages "value" . "owner" $owner "field" "pstnUsages" "kind" "PSTN usage") -}}
  {{- end -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.credentials "value" .credentials "owner" $owner "field" "credentials" "kind" "credential") -}}
{{- end -}}

{{- range $t.dialPlans | default list -}}
  {{- $owner := printf "dial plan %q" (.name | default "" | toString) -}}
  {{- $scope := include "trunkline.enum" (dict "value" (.scope | default "") "prefix" "DIAL_PLAN_SCOPE_") -}}
  {{- if eq $scope "site" -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.sites "value" .target "owner" $owner "field" "target" "kind" "site" "required" true) -}}
  {{- else if eq $scope "pool" -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pools "value" .target "owner" $owner "field" "target" "kind" "pool" "required" true) -}}
  {{- else if eq $scope "trunk" -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.trunks "value" .target "owner" $owner "field" "target" "kind" "trunk" "required" true) -}}
  {{- end -}}
{{- end -}}

{{- range $t.voicePolicies | default list -}}
  {{- $owner := printf "voice policy %q" (.name | default "" | toString) -}}
  {{- range .pstnUsages | default list -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pstnUsages "value" . "owner" $owner "field" "pstnUsages" "kind" "PSTN usage") -}}
  {{- end -}}
{{- end -}}

{{- range $i, $pa := $t.policyAssignments | default list -}}
  {{- $owner := printf "policy assignment #%d" (add1 $i) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.voicePolicies "value" $pa.voicePolicy "owner" $owner "field" "voicePolicy" "kind" "voice policy" "required" true) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.dialPlans "value" $pa.dialPlan "owner" $owner "field" "dialPlan" "kind" "dial plan") -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pools "value" $pa.pool "owner" $owner "field" "pool" "kind" "pool") -}}
{{- end -}}

{{- range $t.voiceRoutes | default list -}}
  {{- $owner := printf "voice route %q" (.name | default "" | toString) -}}
  {{- range .pstnUsages | default list -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pstnUsages "value" . "owner" $owner "field" "pstnUsages" "kind" "PSTN usage") -}}
  {{- end -}}
  {{- range .trunks | default list -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.trunks "value" .trunk "owner" $owner "field" "trunks.trunk" "kind" "trunk" "required" true) -}}
  {{- end -}}
  {{- range .allowedSites | default list -}}
    {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.sites "value" . "owner" $owner "field" "allowedSites" "kind" "site") -}}
  {{- end -}}
{{- end -}}

{{- $uc := $t.ucSide | default dict -}}
{{- range $i, $hop := $uc.nextHops | default list -}}
  {{- $owner := printf "UC next hop #%d" (add1 $i) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.gateways "value" $hop.gateway "owner" $owner "field" "gateway" "kind" "gateway" "required" true) -}}
  {{- include "trunkline.checkRef" (dict "ctx" $ctx "names" $n.pools "value" $hop.pool "owner" $owner "field" "pool" "kind" "pool" "required" (ne (len ($t.pools | default list)) 1)) -}}
  {{- if and $hop.listener (hasKey $n.pools ($hop.pool | default "" | toString)) -}}
    {{- $listeners := dict -}}
    {{- range (get $n.pools ($hop.pool | toString)).listeners | default list -}}{{- $_ := set $listeners (.name | default "" | toString) true -}}{{- end -}}
    {{- if not (hasKey $listeners ($hop.listener | toString)) -}}
      {{- $_ := set $ctx "errs" (append $ctx.errs (printf "%s: pool %q has no listener %q" $owner ($hop.pool | toString) ($hop.listener | toString))) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}

{{- range $ctx.errs }}
{{ . }}
{{- end -}}
{{- end -}}

{{/*
The SIP sockets of every pool listener, as JSON:
  {"listeners": [{"pool", "listener", "key" (POOL/LISTENER), "address",
    "advertisedAddress", "ports": [{"port", "protocol" (UDP|TCP), "name"}]}],
   "ports": [the same ports, each (port, protocol) once]}
A listener serves its transports on its own port and on the local port of
every trunk that uses it (the services' defaults: port 5060, or 5061 when the
listener serves TLS only; transports UDP and TCP; a trunk's listener is its
pool's first when not named).
*/}}
{{- define "trunkline.sipSockets" -}}
{{- $t := .Values.topology | default dict -}}
{{- $out := list -}}
{{- $all := dict -}}
{{- $allPorts := list -}}
{{- range $pool := $t.pools | default list -}}
  {{- range $li, $l := $pool.listeners | default list -}}
    {{- $transports := list -}}
    {{- range $l.transports | default (list "udp" "tcp") -}}
      {{- $transports = append $transports (include "trunkline.enum" (dict "value" . "prefix" "TRANSPORT_")) -}}
    {{- end -}}
    {{- $protocols := list -}}
    {{- if has "udp" $transports -}}{{- $protocols = append $protocols "UDP" -}}{{- end -}}
    {{- if or (has "tcp" $transports) (has "tls" $transports) -}}{{- $protocols = append $protocols "TCP" -}}{{- end -}}
    {{- $onlyTls := and (has "tls" $transports) (not (has "udp" $transports)) (not (has "tcp" $transports)) -}}
    {{- $port := int ($l.port | default (ternary 5061 5060 $onlyTls)) -}}
    {{- $numbers := list $port -}}
    {{- range $trunk := $t.trunks | default list -}}
      {{- if eq ($trunk.pool | default "" | toString) ($pool.name | default "" | toString) -}}
        {{- $trunkListener := $trunk.listener | default "" | toString -}}
        {{- if or (eq $trunkListener ($l.name | default "" | toString)) (and (not $trunkListener) (eq $li 0)) -}}
          {{- $numbers = append $numbers (int ($trunk.localPort | default $port)) -}}
        {{- end -}}
      {{- end -}}
    {{- end -}}
    {{- $ports := list -}}
    {{- range $number := $numbers | uniq | sortAlpha -}}
      {{- range $protocol := $protocols -}}
        {{- $name := printf "s%v%s" $number (lower (substr 0 1 $protocol)) -}}
        {{- $p := dict "port" (int $number) "protocol" $protocol "name" $name -}}
        {{- $ports = append $ports $p -}}
        {{- if not (hasKey $all $name) -}}
          {{- $_ := set $all $name (list ($pool.name | toString) ($l.name | toString)) -}}
          {{- $allPorts = append $allPorts $p -}}
        {{- end -}}
      {{- end -}}
    {{- end -}}
    {{- $out = append $out (dict "pool" ($pool.name | default "" | toString) "listener" ($l.name | default "" | toString) "key" (printf "%s/%s" ($pool.name | default "" | toString) ($l.name | default "" | toString)) "address" ($l.address | default "" | toString) "advertisedAddress" ($l.advertisedAddress | default "" | toString) "ports" $ports) -}}
  {{- end -}}
{{- end -}}
{{- dict "listeners" $out "ports" $allPorts | toJson -}}
{{- end -}}

{{/* Files the topology names (TLS material, digest passwords), as JSON: {"PATH": "what names it"}. */}}
{{- define "trunkline.topologyFiles" -}}
{{- $t := .Values.topology | default dict -}}
{{- $files := dict -}}
{{- range $pool := $t.pools | default list -}}
  {{- range $l := $pool.listeners | default list -}}
    {{- range $field := list "certificateFile" "privateKeyFile" "caFile" -}}
      {{- with (get ($l.tls | default dict) $field) -}}
        {{- $_ := set $files (toString .) (printf "pool %q listener %q: tls.%s" ($pool.name | toString) ($l.name | toString) $field) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $gw := $t.gateways | default list -}}
  {{- range $field := list "certificateFile" "privateKeyFile" "caFile" -}}
    {{- with (get ($gw.tls | default dict) $field) -}}
      {{- $_ := set $files (toString .) (printf "gateway %q: tls.%s" ($gw.name | toString) $field) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $c := $t.credentials | default list -}}
  {{- with $c.passwordFile -}}
    {{- $_ := set $files (toString .) (printf "credential %q: passwordFile" ($c.name | toString)) -}}
  {{- end -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}

{{/* What this deployment needs of the values beyond the schema, one problem per line. */}}
{{- define "trunkline.deploymentErrors" -}}
{{- $errs := list -}}
{{- $v := .Values -}}
{{- if not $v.topology -}}
  {{- $errs = append $errs "topology is empty: give the chart a values file carrying one (see examples/lab.yaml)" -}}
{{- end -}}
{{- $sockets := include "trunkline.sipSockets" . | fromJson -}}
{{- $lb := eq $v.signaling.sip.exposure "loadBalancer" -}}
{{- $seen := dict -}}
{{- range $l := $sockets.listeners -}}
  {{- range $p := $l.ports -}}
    {{- if lt (int $p.port) 1024 -}}
      {{- $errs = append $errs (printf "pool %q listener %q: SIP port %v is below 1024; the containers run without capabilities (no NET_BIND_SERVICE): use 5060/5061 or above" $l.pool $l.listener $p.port) -}}
    {{- end -}}
    {{- if $lb -}}
      {{- if hasKey $seen $p.name -}}
        {{- $errs = append $errs (printf "pool %q listener %q: %v/%s is also a port of listener %s; with signaling.sip.exposure loadBalancer every listener binds the wildcard address, so their ports must differ" $l.pool $l.listener $p.port $p.protocol (get $seen $p.name)) -}}
      {{- else -}}
        {{- $_ := set $seen $p.name $l.key -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
  {{- if $lb -}}
    {{- if not (has $l.address (list "0.0.0.0" "::")) -}}
      {{- $errs = append $errs (printf "pool %q listener %q: address %q: with signaling.sip.exposure loadBalancer a listener binds 0.0.0.0 or :: in its pod (the load balancer's address is its advertisedAddress)" $l.pool $l.listener $l.address) -}}
    {{- end -}}
    {{- if not $l.advertisedAddress -}}
      {{- $errs = append $errs (printf "pool %q listener %q: with signaling.sip.exposure loadBalancer, advertisedAddress must be the load balancer's address" $l.pool $l.listener) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $provided := dict -}}
{{- range $s := $v.signaling.secrets -}}
  {{- range $item := $s.items -}}
    {{- $_ := set $provided (printf "/etc/trunkline/%s" (trimPrefix "/" $item.path | clean)) $s.secretName -}}
    {{- if eq (trimPrefix "/" $item.path | clean) "topology.yaml" -}}
      {{- $errs = append $errs (printf "signaling.secrets %q: item path topology.yaml is the topology's own" $s.secretName) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $path, $what := include "trunkline.topologyFiles" . | fromJson -}}
  {{- if not (hasKey $provided (clean $path)) -}}
    {{- $errs = append $errs (printf "%s %s is not provided by signaling.secrets (give a Secret item with path %s, mounted under /etc/trunkline/)" $what $path (trimPrefix "/etc/trunkline/" $path)) -}}
  {{- end -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (eq $v.signaling.sip.exposure "hostNetwork") (not $v.networkPolicy.nodeCidrs) -}}
  {{- $errs = append $errs "networkPolicy.nodeCidrs is empty: signaling on hostNetwork reaches routing and media from its nodes' addresses, which the policies must admit" -}}
{{- end -}}
{{- if gt (int $v.media.rtpPorts.first) (int $v.media.rtpPorts.last) -}}
  {{- $errs = append $errs (printf "media.rtpPorts: first %v is above last %v" $v.media.rtpPorts.first $v.media.rtpPorts.last) -}}
{{- end -}}
{{- if and $v.media.autoscaling.enabled (gt (int $v.media.autoscaling.minReplicas) (int $v.media.autoscaling.maxReplicas)) -}}
  {{- $errs = append $errs "media.autoscaling: minReplicas is above maxReplicas" -}}
{{- end -}}
{{- if and $v.routing.autoscaling.enabled (gt (int $v.routing.autoscaling.minReplicas) (int $v.routing.autoscaling.maxReplicas)) -}}
  {{- $errs = append $errs "routing.autoscaling: minReplicas is above maxReplicas" -}}
{{- end -}}
{{- range $errs }}
{{ . }}
{{- end -}}
{{- end -}}

{{/* Fails the render with every problem of the values at once. Called by the topology ConfigMap. */}}
{{- define "trunkline.checks" -}}
{{- $topology := include "trunkline.topologyErrors" . | trim -}}
{{- $deployment := include "trunkline.deploymentErrors" . | trim -}}
{{- $lines := list -}}
{{- range splitList "\n" $topology -}}{{- if . -}}{{- $lines = append $lines (printf "  topology: %s" .) -}}{{- end -}}{{- end -}}
{{- range splitList "\n" $deployment -}}{{- if . -}}{{- $lines = append $lines (printf "  %s" .) -}}{{- end -}}{{- end -}}
{{- if $lines -}}
{{- fail (printf "the values are not deployable (%d %s):\n%s" (len $lines) (ternary "problem" "problems" (eq (len $lines) 1)) (join "\n" $lines)) -}}
{{- end -}}
{{- end -}}
