{{/* <release>-artifact-store, cut to 52 characters so suffixes fit in 63. */}}
{{- define "as.fullname" -}}
{{- printf "%s-artifact-store" .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "as.gateway" -}}{{ include "as.fullname" . }}-gateway{{- end -}}
{{- define "as.zot" -}}{{ include "as.fullname" . }}-zot{{- end -}}

{{/* Labels; call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "as.labels" -}}
app.kubernetes.io/name: artifact-store
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: artifact-store
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- end -}}

{{- define "as.selector" -}}
app.kubernetes.io/name: artifact-store
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "as.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "as.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "as.gatewayImage" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Secret names: the user's existing one, or the generated one. */}}
{{- define "as.rootSecret" -}}
{{- default (printf "%s-root" (include "as.fullname" .)) .Values.gateway.rootCredentials.existingSecret -}}
{{- end -}}
{{- define "as.credentialsKeySecret" -}}
{{- default (printf "%s-credentials-key" (include "as.fullname" .)) .Values.gateway.credentialsKey.existingSecret -}}
{{- end -}}
{{- define "as.receiptKeySecret" -}}
{{- default (printf "%s-receipt-key" (include "as.fullname" .)) .Values.gateway.receiptKey.existingSecret -}}
{{- end -}}
{{- define "as.zotSecret" -}}
{{- default (printf "%s-zot-credentials" (include "as.fullname" .)) .Values.zot.credentials.existingSecret -}}
{{- end -}}

{{- define "as.registryUrl" -}}
{{- if .Values.zot.managed -}}
http://{{ include "as.zot" . }}:5000
{{- else -}}
{{- .Values.zot.external.url -}}
{{- end -}}
{{- end -}}

{{/* restricted-v2: no fixed UID or fsGroup (OpenShift assigns them from the namespace). */}}
{{- define "as.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "as.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "as.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "string" . }}{{ . }}{{ else }}{{ .name }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Refuse combinations the schema cannot express as clearly. */}}
{{- define "as.validate" -}}
{{- if and (eq .Values.index.type "sqlite") (gt (int .Values.gateway.replicas) 1) -}}
{{- fail "index.type sqlite allows one gateway replica only (gateway.replicas > 1 needs index.type postgresql)" -}}
{{- end -}}
{{- if and (eq .Values.index.type "postgresql") (not .Values.index.postgresql.existingSecret) -}}
{{- fail "index.type postgresql needs index.postgresql.existingSecret (the Secret holding the database URL)" -}}
{{- end -}}
{{- if and (not .Values.zot.managed) (not .Values.zot.external.url) -}}
{{- fail "zot.managed false needs zot.external.url" -}}
{{- end -}}
{{- if and .Values.keycloak.enabled (not .Values.keycloak.issuerUrl) -}}
{{- fail "keycloak.enabled needs keycloak.issuerUrl" -}}
{{- end -}}
{{- if and .Values.zot.managed (eq .Values.zot.storage.type "s3") (not .Values.zot.storage.s3.bucket) -}}
{{- fail "zot.storage.type s3 needs zot.storage.s3.bucket" -}}
{{- end -}}
{{- end -}}
