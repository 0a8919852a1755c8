{{/* Names, labels and the pieces every Trunkline pod shares. */}}

{{- define "trunkline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "trunkline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's object name: FULLNAME-COMPONENT. (dict "root" $ "component" "media") */}}
{{- define "trunkline.componentName" -}}
{{- printf "%s-%s" (include "trunkline.fullname" .root | trunc 52 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "trunkline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "trunkline.labels" -}}
helm.sh/chart: {{ include "trunkline.chart" . }}
{{ include "trunkline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: trunkline
{{- end -}}

{{- define "trunkline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trunkline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component. (dict "root" $ "component" "routing") */}}
{{- define "trunkline.componentLabels" -}}
{{ include "trunkline.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "trunkline.componentSelectorLabels" -}}
{{ include "trunkline.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "trunkline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "trunkline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "trunkline.image" -}}
{{- $values := index .root.Values .component -}}
{{- if $values.image -}}
{{- $values.image -}}
{{- else -}}
{{- $image := .root.Values.image -}}
{{- $repository := printf "%s/%s" $image.repository .component -}}
{{- if $image.registry -}}{{- $repository = printf "%s/%s" $image.registry $repository -}}{{- end -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* HOST:PORT a service binds. (dict "root" $ "port" 50051) */}}
{{- define "trunkline.bind" -}}
{{- printf "%s:%v" .root.Values.bindHost .port -}}
{{- end -}}

{{/* Stable DNS name of a StatefulSet member. (dict "root" $ "component" "media" "ordinal" 0) */}}
{{- define "trunkline.memberHost" -}}
{{- $name := include "trunkline.componentName" (dict "root" .root "component" .component) -}}
{{- printf "%s-%d.%s-headless.%s.svc.%s" $name (int .ordinal) $name .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* --media: every media member that may exist (up to the autoscaler's maximum). */}}
{{- define "trunkline.mediaList" -}}
{{- $media := .Values.media -}}
{{- $count := $media.replicas -}}
{{- if $media.autoscaling.enabled -}}{{- $count = $media.autoscaling.maxReplicas -}}{{- end -}}
{{- $members := list -}}
{{- range $i := until (int $count) -}}
{{- $members = append $members (printf "%s:%v" (include "trunkline.memberHost" (dict "root" $ "component" "media" "ordinal" $i)) $media.ports.api) -}}
{{- end -}}
{{- join "," $members -}}
{{- end -}}

{{/* The flags every service takes. (dict "root" $ "component" "routing") */}}
{{- define "trunkline.args" -}}
{{- $values := index .root.Values .component -}}
- --topology=/etc/trunkline/topology.yaml
- --grpc_address={{ include "trunkline.bind" (dict "root" .root "port" $values.ports.api) }}
- --admin_address={{ include "trunkline.bind" (dict "root" .root "port" $values.ports.admin) }}
- --metrics_address={{ include "trunkline.bind" (dict "root" .root "port" $values.ports.metrics) }}
- --log_level={{ .root.Values.logLevel }}
{{- if .root.Values.admin.tokenSecret }}
- --admin_token_file=/etc/trunkline/admin/token
{{- end }}
{{- end -}}

{{/* Pod-level security: a fixed non-root identity, default seccomp. */}}
{{- define "trunkline.podSecurityContext" -}}
{{- $seccomp := .seccomp | default (dict "type" "RuntimeDefault") -}}
runAsNonRoot: true
runAsUser: {{ .root.Values.runAsUser }}
runAsGroup: {{ .root.Values.runAsGroup }}
fsGroup: {{ .root.Values.runAsGroup }}
seccompProfile:
  {{- toYaml $seccomp | nindent 2 }}
{{- end -}}

{{/* Container-level security: nothing privileged, no capabilities at all. */}}
{{- define "trunkline.containerSecurityContext" -}}
{{- $seccomp := .seccomp | default (dict "type" "RuntimeDefault") -}}
runAsNonRoot: true
runAsUser: {{ .root.Values.runAsUser }}
runAsGroup: {{ .root.Values.runAsGroup }}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  {{- toYaml $seccomp | nindent 2 }}
{{- end -}}

{{/* Probes: gRPC health on the API port (liveness: api or admin). (dict "root" $ "component" "routing") */}}
{{- define "trunkline.probes" -}}
{{- $values := index .root.Values .component -}}
{{- $probes := .root.Values.probes -}}
{{- $livenessPort := $values.ports.api -}}
{{- if eq $probes.livenessPort "admin" -}}{{- $livenessPort = $values.ports.admin -}}{{- end -}}
startupProbe:
  grpc:
    port: {{ $values.ports.api }}
  {{- toYaml $probes.startup | nindent 2 }}
readinessProbe:
  grpc:
    port: {{ $values.ports.api }}
  {{- toYaml $probes.readiness | nindent 2 }}
livenessProbe:
  grpc:
    port: {{ $livenessPort }}
  {{- toYaml $probes.liveness | nindent 2 }}
{{- end -}}

{{/* preStop: let endpoints and load balancers forget the pod before SIGTERM starts the drain. */}}
{{- define "trunkline.lifecycle" -}}
preStop:
  exec:
    command: ["/bin/sleep", "{{ .seconds }}"]
{{- end -}}

{{- define "trunkline.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef: {fieldPath: metadata.namespace}
- name: POD_IP
  valueFrom:
    fieldRef: {fieldPath: status.podIP}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The /etc/trunkline volume: the topology, plus (signaling) the Secrets' files. (dict "root" $ "secrets" list) */}}
{{- define "trunkline.configVolume" -}}
- name: config
  projected:
    defaultMode: 0440
    sources:
      - configMap:
          name: {{ include "trunkline.componentName" (dict "root" .root "component" "topology") }}
          items:
            - {key: topology.yaml, path: topology.yaml}
      {{- with .root.Values.admin.tokenSecret }}
      - secret:
          name: {{ . }}
          items:
            - {key: token, path: admin/token}
      {{- end }}
      {{- range .secrets }}
      - secret:
          name: {{ .secretName }}
          items:
            {{- range .items }}
            - key: {{ .key | quote }}
              path: {{ .path | quote }}
            {{- end }}
          {{- if hasKey . "optional" }}
          optional: {{ .optional }}
          {{- end }}
      {{- end }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end -}}

{{- define "trunkline.volumeMounts" -}}
- name: config
  mountPath: /etc/trunkline
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Scheduling fields shared by every pod spec. (values of the component) */}}
{{- define "trunkline.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Turns any name into a DNS-1123 label fragment. */}}
{{- define "trunkline.dnsLabel" -}}
{{- regexReplaceAll "[^a-z0-9-]+" (lower .) "-" | trimAll "-" -}}
{{- end -}}
