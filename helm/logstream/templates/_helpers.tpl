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
{{- range $k := list "SHUTDOWN_TIMEOUT" "DRAIN_TIMEOUT" "HTTP_PORT" }}
{{- if or (hasKey $.Values.config $k) (hasKey $.Values.secretEnv $k) }}
{{- fail (printf "config.%s is set by the chart: use shutdown.* / httpPort" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether a secret-files volume is mounted. */}}
{{- define "logstream.hasSecretFiles" -}}
{{- if or .Values.secretFiles .Values.existingSecretFiles }}true{{ end }}
{{- end }}

{{/* Prometheus selector of this release's series (ServiceMonitor sets job to the Service name). */}}
{{- define "logstream.promSelector" -}}
namespace="{{ .Release.Namespace }}",job="{{ include "logstream.fullname" . }}"
{{- end }}
