{{/* Chart name. */}}
{{- define "logstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "logstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "logstream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "logstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "logstream.labels" -}}
helm.sh/chart: {{ include "logstream.chart" . }}
{{ include "logstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: shipper
app.kubernetes.io/part-of: logstream
{{- end }}

{{- define "logstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "logstream.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "logstream.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Upper bound of replicas for the autoscalers: the given max, or kafka.partitions when 0; above it fails. */}}
{{- define "logstream.maxReplicas" -}}
{{- $max := int .max }}
{{- $partitions := int .root.Values.kafka.partitions }}
{{- if eq $max 0 }}{{ $max = $partitions }}{{ end }}
{{- if gt $max $partitions }}
{{- fail (printf "%s (%d) is above kafka.partitions (%d): replicas beyond the partition count only idle" .what $max $partitions) }}
{{- end }}
{{- $max }}
{{- end }}

{{/* Render-time consistency checks, included by the Deployment. */}}
{{- define "logstream.validate" -}}
{{- if and .Values.keda.enabled .Values.autoscaling.enabled }}
{{- fail "keda.enabled and autoscaling.enabled are mutually exclusive: choose the KEDA ScaledObject (consumer lag) or the HPA" }}
{{- end }}
{{- $s := .Values.shutdown }}
{{- if le (int $s.terminationGracePeriodSeconds) (int $s.shutdownTimeoutSeconds) }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must be above shutdown.shutdownTimeoutSeconds (%d), or Kubernetes kills the pod before it commits" (int $s.terminationGracePeriodSeconds) (int $s.shutdownTimeoutSeconds)) }}
{{- end }}
{{- if ge (int $s.drainTimeoutSeconds) (int $s.shutdownTimeoutSeconds) }}
{{- fail (printf "shutdown.drainTimeoutSeconds (%d) must be below shutdown.shutdownTimeoutSeconds (%d): the commit follows the drain" (int $s.drainTimeoutSeconds) (int $s.shutdownTimeoutSeconds)) }}
{{- end }}
{{- range $k := list "SHUTDOWN_TIMEOUT" "DRAIN_TIMEOUT" "HTTP_PORT" "METRICS_PORT" }}
{{- if or (hasKey $.Values.config $k) (hasKey $.Values.secretEnv $k) }}
{{- fail (printf "config.%s is set by the chart: use shutdown.* / httpPort / metricsPort" $k) }}
{{- end }}
{{- end }}
{{- include "logstream.validateRoutes" . }}
{{- if and .Values.https (not (hasKey .Values.config "HTTP_TLS_CERT_FILE")) }}
{{- fail "https: true needs config.HTTP_TLS_CERT_FILE and config.HTTP_TLS_KEY_FILE (the files mounted with secretFiles / existingSecretFiles)" }}
{{- end }}
{{- if and (hasKey .Values.config "HTTP_TLS_CLIENT_CA_FILE") (eq (int .Values.metricsPort) 0) }}
{{- fail "config.HTTP_TLS_CLIENT_CA_FILE (mutual TLS) needs metricsPort: the kubelet's probes and Prometheus have no client certificate" }}
{{- end }}
{{- if and (eq (toString (get .Values.config "KAFKA_GROUP_PROTOCOL")) "consumer") (eq (toString (get .Values.config "KAFKA_CLIENT")) "kafkajs") }}
{{- fail "config.KAFKA_GROUP_PROTOCOL: consumer does not work with config.KAFKA_CLIENT: kafkajs (kafkajs speaks only the classic protocol)" }}
{{- end }}
{{- if .Values.staticMembership.enabled }}
{{- if eq (toString (get .Values.config "KAFKA_CLIENT")) "kafkajs" }}
{{- fail "staticMembership.enabled does not work with config.KAFKA_CLIENT: kafkajs (kafkajs has no static membership)" }}
{{- end }}
{{- if hasKey .Values.config "KAFKA_GROUP_INSTANCE_ID" }}
{{- fail "config.KAFKA_GROUP_INSTANCE_ID is set by the chart with staticMembership.enabled (each pod's name)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A StatefulSet with static membership (stable pod names), else a Deployment. */}}
{{- define "logstream.workloadKind" -}}
{{- if .Values.staticMembership.enabled }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{/*
Routes: the chart writes ROUTES and every ROUTE_<NAME>_* itself, so that the KEDA triggers know each
route's group; a hand-written one would escape those checks.
*/}}
{{- define "logstream.validateRoutes" -}}
{{- $mount := .Values.secretFilesMountPath }}
{{- range $where, $env := dict "config" .Values.config "secretEnv" .Values.secretEnv }}
{{- range $k, $_ := $env }}
{{- if eq $k "ROUTES" }}
{{- fail (printf "%s.ROUTES is set by the chart: name the routes under `routes`" $where) }}
{{- else if hasPrefix "ROUTE_" $k }}
{{- fail (printf "%s.%s: per-route settings go under routes.<name>.config / secretEnv / secretFileRefs" $where $k) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.routes .Values.keda.consumerGroup }}
{{- fail "keda.consumerGroup names one group, but each route has its own: set routes.<name>.config.KAFKA_GROUP_ID instead" }}
{{- end }}
{{- $groups := dict }}
{{- range $name, $r := .Values.routes }}
{{- $r = $r | default dict }}
{{- $seen := dict }}
{{- range $part := list "config" "secretEnv" }}
{{- range $k, $_ := (get $r $part | default dict) }}
{{- if hasKey $seen $k }}
{{- fail (printf "routes.%s: %s is set in both %s and %s" $name $k (get $seen $k) $part) }}
{{- end }}
{{- $_ := set $seen $k $part }}
{{- end }}
{{- end }}
{{- range $k, $file := (get $r "secretFileRefs" | default dict) }}
{{- range $n := list $k (printf "%s_FILE" $k) }}
{{- if hasKey $seen $n }}
{{- fail (printf "routes.%s: %s is set in both %s and secretFileRefs" $name $n (get $seen $n)) }}
{{- end }}
{{- end }}
{{- if not (or (hasKey $.Values.secretFiles $file) $.Values.existingSecretFiles) }}
{{- fail (printf "routes.%s.secretFileRefs.%s: file %q is not in secretFiles and no existingSecretFiles is mounted at %s" $name $k $file $mount) }}
{{- end }}
{{- end }}
{{- $group := include "logstream.routeGroup" (dict "root" $ "name" $name) }}
{{- if hasKey $groups $group }}
{{- fail (printf "routes %s and %s are both in consumer group %s: each route needs its own group (they would share offsets)" (get $groups $group) $name $group) }}
{{- end }}
{{- $_ := set $groups $group $name }}
{{- end }}
{{- end }}

{{/* ROUTE_<NAME>_ of a route name: upper-cased, '-' -> '_' (routePrefix in src/config/route-env.ts). */}}
{{- define "logstream.routePrefix" -}}
ROUTE_{{ . | upper | replace "-" "_" }}_
{{- end }}

{{/* A route's consumer group: its own KAFKA_GROUP_ID, else <KAFKA_GROUP_ID>.<name>, as loadConfig derives it. */}}
{{- define "logstream.routeGroup" -}}
{{- $r := get .root.Values.routes .name | default dict }}
{{- $own := trim (toString (dig "config" "KAFKA_GROUP_ID" "" $r)) }}
{{- $base := trim (toString (default "" .root.Values.config.KAFKA_GROUP_ID)) | default "logstream" }}
{{- $own | default (printf "%s.%s" $base .name) }}
{{- end }}

{{/*
An env value as a string. Helm reads numbers of a values file as float64, whose default formatting
turns 134217728 into 1.34217728e+08, which logstream's size and count parsers reject.
*/}}
{{- define "logstream.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}
{{- printf "%d" (int64 .) }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* A memory quantity (resources.*.memory) in MiB, as a float; empty when it is not set. */}}
{{- define "logstream.quantityMiB" -}}
{{- if kindIs "string" . }}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $unit := trimPrefix $n . }}
{{- $bytes := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 }}
{{- divf (mulf (float64 $n) (get $bytes $unit)) 1048576 }}
{{- else if not (kindIs "invalid" .) }}
{{- divf (float64 .) 1048576 }}
{{- end }}
{{- end }}

{{/*
V8's old-space limit in MiB for NODE_OPTIONS: heap.maxOldSpaceSizeMiB, else heap.percentOfMemoryLimit
of resources.limits.memory. Empty (Node's own default) without a memory limit, or when NODE_OPTIONS is
set in config, secretEnv or extraEnv: the user's flags win whole.
*/}}
{{- define "logstream.maxOldSpaceMiB" -}}
{{- $h := .Values.heap }}
{{- $userSet := or (hasKey .Values.config "NODE_OPTIONS") (hasKey .Values.secretEnv "NODE_OPTIONS") }}
{{- range .Values.extraEnv }}{{ if eq .name "NODE_OPTIONS" }}{{ $userSet = true }}{{ end }}{{ end }}
{{- $limit := include "logstream.quantityMiB" (dig "limits" "memory" nil .Values.resources) }}
{{- if not $userSet }}
{{- if $h.maxOldSpaceSizeMiB }}
{{- if and $limit (ge (float64 $h.maxOldSpaceSizeMiB) (float64 $limit)) }}
{{- fail (printf "heap.maxOldSpaceSizeMiB (%d) must be below resources.limits.memory (%s = %s MiB): the heap is only part of the process' memory" (int $h.maxOldSpaceSizeMiB) (toString .Values.resources.limits.memory) $limit) }}
{{- end }}
{{- int $h.maxOldSpaceSizeMiB }}
{{- else if and $limit $h.percentOfMemoryLimit }}
{{- int (floor (divf (mulf (float64 $limit) $h.percentOfMemoryLimit) 100)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether the chart's env Secret exists: global or per-route secretEnv. */}}
{{- define "logstream.hasSecretEnv" -}}
{{- $any := .Values.secretEnv }}
{{- range $_, $r := .Values.routes }}{{ if get ($r | default dict) "secretEnv" }}{{ $any = true }}{{ end }}{{ end }}
{{- if $any }}true{{ end }}
{{- end }}

{{/* Whether a secret-files volume is mounted. */}}
{{- define "logstream.hasSecretFiles" -}}
{{- if or .Values.secretFiles .Values.existingSecretFiles }}true{{ end }}
{{- end }}

{{/* Prometheus selector of this release's series (ServiceMonitor sets job to the Service name). */}}
{{- define "logstream.promSelector" -}}
namespace="{{ .Release.Namespace }}",job="{{ include "logstream.fullname" . }}"
{{- end }}
