{{/*
Names, labels and the pieces every pod shares: images, the Redis connection, security contexts.
*/}}

{{- define "stoker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stoker.fullname" -}}
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

{{- define "stoker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release, so never the chart version. */}}
{{- define "stoker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stoker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "stoker.labels" -}}
helm.sh/chart: {{ include "stoker.chart" . }}
{{ include "stoker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stoker
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Component names and labels; call with (dict "ctx" $ "component" "api"). */}}
{{- define "stoker.componentName" -}}
{{- printf "%s-%s" (include "stoker.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stoker.componentSelectorLabels" -}}
{{ include "stoker.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "stoker.componentLabels" -}}
{{ include "stoker.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The label that the bundled Redis' NetworkPolicy admits. */}}
{{- define "stoker.redisClientLabel" -}}
stoker.dev/redis-client: "true"
{{- end }}

{{/* Worker pools: call with (dict "ctx" $ "pool" $pool). */}}
{{- define "stoker.poolName" -}}
{{- printf "%s-worker-%s" (include "stoker.fullname" .ctx) .pool.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stoker.poolSelectorLabels" -}}
{{ include "stoker.componentSelectorLabels" (dict "ctx" .ctx "component" "worker") }}
stoker.dev/pool: {{ .pool.name }}
{{- end }}

{{- define "stoker.poolLabels" -}}
{{ include "stoker.componentLabels" (dict "ctx" .ctx "component" "worker") }}
stoker.dev/pool: {{ .pool.name }}
{{- end }}

{{/*
Deep merge that lets the second map override anything, false and 0 included (sprig's mergeOverwrite
keeps the first map's value when the second one is a zero value). Lists are replaced, not appended.
Call with (dict "base" $a "over" $b); returns YAML.
*/}}
{{- define "stoker.merge" -}}
{{- $out := deepCopy .base }}
{{- range $key, $value := .over }}
{{- $current := get $out $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $current) }}
{{- $_ := set $out $key (include "stoker.merge" (dict "base" $current "over" $value) | fromYaml) }}
{{- else }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The enabled worker pools, each merged over workers.defaults, as a YAML list under "pools".
Also checks what the schema cannot: unique names, a startup budget below the rollout deadline.
*/}}
{{- define "stoker.pools" -}}
{{- $pools := list }}
{{- $seen := dict }}
{{- range $pool := .Values.workers.pools }}
{{- $merged := include "stoker.merge" (dict "base" $.Values.workers.defaults "over" $pool) | fromYaml }}
{{- if hasKey $seen $merged.name }}
{{- fail (printf "workers.pools: the name %q is used twice" $merged.name) }}
{{- end }}
{{- $_ := set $seen $merged.name true }}
{{- if $merged.enabled }}
{{- $startup := add (int $merged.startupProbe.initialDelaySeconds) (mul (int $merged.startupProbe.periodSeconds) (int $merged.startupProbe.failureThreshold)) }}
{{- if and (eq $merged.mode "deployment") (le (int $merged.progressDeadlineSeconds) (int $startup)) }}
{{- fail (printf "workers.pools[%s]: progressDeadlineSeconds (%d) must exceed the startup probe's budget (%d s)" $merged.name (int $merged.progressDeadlineSeconds) (int $startup)) }}
{{- end }}
{{- if and (eq $merged.mode "job") (not $merged.keda.enabled) }}
{{- fail (printf "workers.pools[%s]: mode job is a KEDA ScaledJob and needs keda.enabled" $merged.name) }}
{{- end }}
{{- $names := dict }}
{{- range (include "stoker.poolLists" $merged | fromYaml).lists }}
{{- if hasKey $names .name }}
{{- fail (printf "workers.pools[%s]: queues %q and another give the same KEDA trigger name %q" $merged.name .queue .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- $pools = append $pools $merged }}
{{- end }}
{{- end }}
{{- toYaml (dict "pools" $pools) }}
{{- end }}

{{/* An image reference; call with (dict "image" $img "global" .Values.image "ctx" $). */}}
{{- define "stoker.image" -}}
{{- $registry := default .global.registry .image.registry }}
{{- $tag := default (default .ctx.Chart.AppVersion .global.tag) .image.tag }}
{{- $ref := .image.repository }}
{{- if $registry }}
{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $ref }}
{{- end }}
{{- if $tag }}
{{- $ref = printf "%s:%s" $ref (toString $tag) }}
{{- end }}
{{- if .image.digest }}
{{- $ref = printf "%s@%s" $ref .image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{- define "stoker.apiImage" -}}
{{- include "stoker.image" (dict "image" .Values.image.api "global" .Values.image "ctx" .) }}
{{- end }}

{{/* A pool's worker image: its own image block over image.worker. Call with (dict "ctx" $ "pool" $pool). */}}
{{- define "stoker.workerImage" -}}
{{- $image := include "stoker.merge" (dict "base" .ctx.Values.image.worker "over" (.pool.image | default dict)) | fromYaml }}
{{- include "stoker.image" (dict "image" $image "global" .ctx.Values.image "ctx" .ctx) }}
{{- end }}

{{- define "stoker.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* A settings value as an environment string: whole numbers without an exponent, booleans in lower case. */}}
{{- define "stoker.envValue" -}}
{{- if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 .) (float64 (int64 .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if kindIs "slice" . }}
{{- join "," . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* env entries for a settings map: (dict "prefix" "API_" "settings" $map). */}}
{{- define "stoker.settingsEnv" -}}
{{- $prefix := .prefix }}
{{- range $key, $value := .settings }}
- name: {{ printf "%s%s" $prefix (upper $key) }}
  value: {{ include "stoker.envValue" $value | quote }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ Redis */}}

{{- define "stoker.redisHost" -}}
{{- if .Values.redis.enabled }}
{{- printf "%s.%s.svc" (include "stoker.componentName" (dict "ctx" . "component" "redis")) .Release.Namespace }}
{{- else }}
{{- required "externalRedis.host is required unless redis.enabled" .Values.externalRedis.host }}
{{- end }}
{{- end }}

{{- define "stoker.redisPort" -}}
{{- if .Values.redis.enabled }}6379{{ else }}{{ int .Values.externalRedis.port }}{{ end }}
{{- end }}

{{- define "stoker.redisDatabase" -}}
{{- if .Values.redis.enabled }}0{{ else }}{{ int .Values.externalRedis.database }}{{ end }}
{{- end }}

{{/* The Secret holding the Redis password, and its key; empty name: Redis has no password. */}}
{{- define "stoker.redisPasswordSecret" -}}
{{- if .Values.redis.enabled }}
{{- default (include "stoker.componentName" (dict "ctx" . "component" "redis")) .Values.redis.auth.existingSecret }}
{{- else }}
{{- .Values.externalRedis.password.existingSecret }}
{{- end }}
{{- end }}

{{- define "stoker.redisPasswordKey" -}}
{{- if .Values.redis.enabled }}{{ .Values.redis.auth.key }}{{ else }}{{ .Values.externalRedis.password.key }}{{ end }}
{{- end }}

{{- define "stoker.redisTls" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tls.enabled }}true{{ end }}
{{- end }}

{{/* Whether Redis is a Redis Cluster (external only; the bundled Redis is one server). */}}
{{- define "stoker.redisCluster" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.cluster.enabled }}
{{- if ne (int .Values.externalRedis.database) 0 }}
{{- fail "externalRedis.cluster.enabled: a Redis Cluster has only database 0; set externalRedis.database to 0" }}
{{- end }}true
{{- end }}
{{- end }}

{{/* The nodes KEDA's redis-cluster scaler starts from: the listed addresses, else host:port. */}}
{{- define "stoker.redisClusterAddresses" -}}
{{- $default := list (printf "%s:%s" (include "stoker.redisHost" .) (include "stoker.redisPort" .)) }}
{{- join "," (default $default .Values.externalRedis.cluster.addresses) }}
{{- end }}

{{- define "stoker.redisCaPath" -}}
/etc/stoker/redis-tls/{{ .Values.externalRedis.tls.caKey }}
{{- end }}

{{- define "stoker.redisUrl" -}}
{{- $scheme := ternary "rediss" "redis" (eq (include "stoker.redisTls" .) "true") }}
{{- $query := list }}
{{- if eq (include "stoker.redisTls" .) "true" }}
{{- if .Values.externalRedis.tls.caSecret }}
{{- $query = append $query (printf "ssl_ca_certs=%s" (include "stoker.redisCaPath" .)) }}
{{- end }}
{{- if .Values.externalRedis.tls.insecureSkipVerify }}
{{- $query = append $query "ssl_cert_reqs=none" }}
{{- end }}
{{- end }}
{{- printf "%s://%s:%s/%s" $scheme (include "stoker.redisHost" .) (include "stoker.redisPort" .) (include "stoker.redisDatabase" .) }}
{{- if $query }}?{{ join "&" $query }}{{ end }}
{{- end }}

{{/*
The Redis variables of every API and worker container. The credentials stay out of REDIS_URL
(the services read REDIS_USERNAME and REDIS_PASSWORD apart), so a password needs no escaping.
*/}}
{{- define "stoker.redisEnv" -}}
{{- $secret := include "stoker.redisPasswordSecret" . }}
{{- if $secret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ include "stoker.redisPasswordKey" . }}
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.username }}
- name: REDIS_USERNAME
  value: {{ .Values.externalRedis.username | quote }}
{{- end }}
- name: REDIS_URL
  value: {{ include "stoker.redisUrl" . | quote }}
{{- if eq (include "stoker.redisCluster" .) "true" }}
- name: REDIS_CLUSTER
  value: "true"
{{- end }}
{{- with (include "stoker.settingsEnv" (dict "prefix" "" "settings" .Values.redisClient)) }}{{ . }}{{- end }}
{{- end }}

{{- define "stoker.redisTlsVolume" -}}
{{- if and (eq (include "stoker.redisTls" .) "true") .Values.externalRedis.tls.caSecret }}
- name: redis-tls
  secret:
    secretName: {{ .Values.externalRedis.tls.caSecret }}
    items:
      - key: {{ .Values.externalRedis.tls.caKey }}
        path: {{ .Values.externalRedis.tls.caKey }}
{{- end }}
{{- end }}

{{- define "stoker.redisTlsVolumeMount" -}}
{{- if and (eq (include "stoker.redisTls" .) "true") .Values.externalRedis.tls.caSecret }}
- name: redis-tls
  mountPath: /etc/stoker/redis-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ shared env */}}

{{- define "stoker.logEnv" -}}
- name: LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
{{- end }}

{{/* The downward API: where the pod runs. */}}
{{- define "stoker.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- end }}

{{/* OTEL_* when tracing is on; call with (dict "ctx" $ "service" "stoker-api" "attributes" $extra). */}}
{{- define "stoker.otelEnv" -}}
{{- $t := .ctx.Values.tracing }}
{{- if $t.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ required "tracing.endpoint is required when tracing.enabled" $t.endpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .service | quote }}
{{- $attrs := list "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.node.name=$(NODE_NAME)" }}
{{- range $k, $v := (merge (dict) (.attributes | default dict) $t.resourceAttributes) }}
{{- $attrs = append $attrs (printf "%s=%s" $k (toString $v)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- with $t.sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with $t.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ include "stoker.envValue" . | quote }}
{{- end }}
{{- range $k, $v := $t.env }}
- name: {{ $k }}
  value: {{ include "stoker.envValue" $v | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ security */}}

{{/* The restricted Pod Security Standard, for pods and for containers. */}}
{{- define "stoker.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser | default 10001 }}
runAsGroup: {{ .runAsUser | default 10001 }}
fsGroup: {{ .runAsUser | default 10001 }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "stoker.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "stoker.apiServiceAccountName" -}}
{{- if .Values.api.serviceAccount.create }}
{{- default (include "stoker.componentName" (dict "ctx" . "component" "api")) .Values.api.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.api.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "stoker.workerServiceAccountName" -}}
{{- if .Values.workers.serviceAccount.create }}
{{- default (include "stoker.componentName" (dict "ctx" . "component" "worker")) .Values.workers.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.workers.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ secrets */}}

{{- define "stoker.authSecretName" -}}
{{- default (printf "%s-auth" (include "stoker.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "stoker.webhookSecretName" -}}
{{- default (printf "%s-webhook" (include "stoker.fullname" .)) .Values.webhooks.existingSecret }}
{{- end }}

{{/*
A Secret value generated once: the live object's value when the release already has one, else the
given value, else a random one. Call with (dict "ctx" $ "secret" $name "key" $key "value" $given).
*/}}
{{- define "stoker.keptSecretValue" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if .value }}
{{- .value | b64enc }}
{{- else if and $live (hasKey ($live.data | default dict) .key) }}
{{- index $live.data .key }}
{{- else }}
{{- randAlphaNum 40 | b64enc }}
{{- end }}
{{- end }}
