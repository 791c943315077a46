{{/* The chart's name, or nameOverride. */}}
{{- define "kannon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's prefix for every object: fullnameOverride, else <release>-<chart> (or the release alone when it contains the chart's name). */}}
{{- define "kannon.fullname" -}}
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

{{- define "kannon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "kannon.labels" -}}
helm.sh/chart: {{ include "kannon.chart" . }}
app.kubernetes.io/name: {{ include "kannon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "kannon.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kannon
{{- end }}

{{/* Selector of one role's pods: (dict "root" $ "role" "sender"). */}}
{{- define "kannon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kannon.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{/* Labels of one role's objects: (dict "root" $ "role" "sender"). */}}
{{- define "kannon.roleLabels" -}}
{{ include "kannon.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "kannon.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "kannon.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "kannon.tag" .) }}
{{- end }}

{{/* The Secret every role reads: existingSecret, or the chart's own. */}}
{{- define "kannon.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "kannon.fullname" .) }}
{{- end }}

{{/* The TCP port of smtp.address (":2525", "0.0.0.0:2525"). */}}
{{- define "kannon.smtpPort" -}}
{{- .Values.config.smtp.address | toString | splitList ":" | last | int }}
{{- end }}

{{/*
The config tree as KANNON_* variables: (dict "prefix" "KANNON_" "value" .Values.config).
Nesting is "__" (KANNON_SENDER__MAX_JOBS), list items are numbered (KANNON_SENDER__DNS_SERVERS__0).
Empty strings and nulls are left out, so the key keeps its default. Helm reads numbers in values.yaml
as floats: whole numbers are written without an exponent (1048576, not 1.048576e+06).
*/}}
{{- define "kannon.configEnv" -}}
{{- $prefix := .prefix }}
{{- $separator := .separator | default "" }}
{{- range $key, $value := .value }}
{{- $name := printf "%s%s%s" $prefix $separator (upper (toString $key)) }}
{{- if kindIs "map" $value }}
{{- include "kannon.configEnv" (dict "prefix" $name "separator" "__" "value" $value) }}
{{- else if kindIs "slice" $value }}
{{- $items := dict }}
{{- range $index, $item := $value }}
{{- $_ := set $items (toString $index) $item }}
{{- end }}
{{- include "kannon.configEnv" (dict "prefix" $name "separator" "__" "value" $items) }}
{{- else if kindIs "invalid" $value }}
{{- else if and (kindIs "string" $value) (eq $value "") }}
{{- else if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{ $name }}: {{ int64 $value | toString | quote }}
{{- else }}
{{ $name }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod settings every role and the migrate Job share. */}}
{{- define "kannon.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
# A Service named kannon-api would otherwise put KANNON_API_PORT=tcp://… into every pod's environment.
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
