{{/* Names, labels and the few decisions several templates share. */}}

{{- define "kafka-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-derived prefix of every resource name; "-injector" etc. are appended, so it stays under 50. */}}
{{- define "kafka-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kafka-sidecar.injector" -}}
{{- printf "%s-injector" (include "kafka-sidecar.fullname" .) }}
{{- end }}

{{- define "kafka-sidecar.serviceAccountName" -}}
{{- if .Values.injector.serviceAccount.create }}
{{- default (include "kafka-sidecar.injector" .) .Values.injector.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.injector.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kafka-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kafka-sidecar.labels" -}}
helm.sh/chart: {{ include "kafka-sidecar.chart" . }}
{{ include "kafka-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kafka-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kafka-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: injector
{{- end }}

{{- define "kafka-sidecar.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "kafka-sidecar.sidecarImage" -}}
{{- $repository := default .Values.image.repository .Values.sidecar.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.sidecar.image.tag }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/*
Native sidecars (KEP-753, restartable init containers) are on by default from Kubernetes 1.29 (feature gate
SidecarContainers beta; GA in 1.33). The AdmissionReview does not carry the API server's version, so "auto" is decided
here, from the version Helm reads from the cluster (or helm template's --kube-version).
*/}}
{{- define "kafka-sidecar.nativeSidecar" -}}
{{- $v := .Values.sidecar.nativeSidecar }}
{{- if eq (toString $v) "auto" }}
{{- semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version }}
{{- else }}
{{- $v }}
{{- end }}
{{- end }}

{{/* TLS mode after "auto" is resolved: cert-manager when its API is installed, else helm. */}}
{{- define "kafka-sidecar.tlsMode" -}}
{{- $mode := .Values.webhook.tls.mode }}
{{- if eq $mode "auto" }}
{{- if .Capabilities.APIVersions.Has "cert-manager.io/v1" }}cert-manager{{ else }}helm{{ end }}
{{- else }}
{{- $mode }}
{{- end }}
{{- end }}

{{- define "kafka-sidecar.tlsSecretName" -}}
{{- if eq (include "kafka-sidecar.tlsMode" .) "secret" }}
{{- required "webhook.tls.secret.name is required with webhook.tls.mode secret" .Values.webhook.tls.secret.name }}
{{- else }}
{{- printf "%s-tls" (include "kafka-sidecar.injector" .) }}
{{- end }}
{{- end }}

{{/*
Namespaces the API server never sends to the webhook: the system namespaces and the injector's own (where it must be
able to start even while it is down), whatever the values say.
*/}}
{{- define "kafka-sidecar.excludedNamespaces" -}}
{{- $always := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace }}
{{- toJson (uniq (concat $always .Values.webhook.excludeNamespaces)) }}
{{- end }}

{{/* The webhook's clientConfig for one path; the CA bundle comes from the caller (helm mode) or cert-manager. */}}
{{- define "kafka-sidecar.clientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $caBundle := index . 2 -}}
{{- if $root.Values.webhook.url -}}
url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhook.url) $path | quote }}
{{- else -}}
service:
  name: {{ include "kafka-sidecar.injector" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ $path }}
  port: 443
{{- end }}
{{- if $caBundle }}
caBundle: {{ $caBundle }}
{{- end }}
{{- end }}
