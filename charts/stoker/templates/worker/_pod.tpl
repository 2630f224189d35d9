{{/*
The worker pod template of one pool, shared by its Deployment and its ScaledJob.
Call with (dict "ctx" $ "pool" $pool).
*/}}
{{- define "stoker.workerPodTemplate" -}}
{{- $ctx := .ctx }}
{{- $pool := .pool }}
{{- $job := eq $pool.mode "job" }}
{{- $gpu := gt (int $pool.gpu.count) 0 }}
{{- $deletionCost := and $pool.podDeletionCost $ctx.Values.workers.rbac.create (not $job) }}
metadata:
  labels:
    {{- include "stoker.poolLabels" . | nindent 4 }}
    {{- include "stoker.redisClientLabel" $ctx | nindent 4 }}
    {{- with $pool.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/webhook: {{ include (print $ctx.Template.BasePath "/worker/secret.yaml") $ctx | sha256sum }}
    {{- with $pool.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "stoker.workerServiceAccountName" $ctx }}
  # The token is only needed to patch the pod-deletion-cost annotation.
  automountServiceAccountToken: {{ $deletionCost }}
  {{- with (include "stoker.imagePullSecrets" $ctx) }}{{- . | trim | nindent 2 }}{{- end }}
  {{- if $job }}
  restartPolicy: Never
  {{- end }}
  {{- with $pool.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $pool.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  # The drain budget plus a margin to hand back what is left and exit.
  terminationGracePeriodSeconds: {{ add (int $pool.drainSeconds) (int $pool.terminationMarginSeconds) }}
  securityContext:
    {{- include "stoker.podSecurityContext" (dict "runAsUser" $ctx.Values.securityContext.runAsUser) | nindent 4 }}
  containers:
    - name: worker
      image: {{ include "stoker.workerImage" . | quote }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      {{- if $job }}
      args:
        - --burst
        {{- if gt (int $pool.job.maxJobs) 0 }}
        - --max-jobs
        - {{ $pool.job.maxJobs | int | quote }}
        {{- end }}
      {{- end }}
      ports:
        - name: health
          containerPort: 8081
          protocol: TCP
      env:
        - name: WORKER_QUEUES
          value: {{ join "," $pool.queues | quote }}
        - name: WORKER_TASKS
          value: {{ join "," $pool.tasks | quote }}
        - name: WORKER_CONCURRENCY
          value: {{ $pool.concurrency | int | quote }}
        - name: WORKER_DRAIN_S
          value: {{ $pool.drainSeconds | int | quote }}
        - name: WORKER_DEVICE
          value: {{ $pool.device | quote }}
        - name: WORKER_HEALTH_PORT
          value: "8081"
        - name: WORKER_POD_DELETION_COST
          value: {{ $deletionCost | quote }}
        - name: WORKER_WEBHOOK_SECRET
          valueFrom:
            secretKeyRef:
              name: {{ include "stoker.webhookSecretName" $ctx }}
              key: {{ $ctx.Values.webhooks.key }}
        {{- with (include "stoker.settingsEnv" (dict "prefix" "WORKER_" "settings" $pool.settings)) }}{{- . | trim | nindent 8 }}{{- end }}
        {{- with (include "stoker.redisEnv" $ctx) }}{{- . | trim | nindent 8 }}{{- end }}
        {{- include "stoker.logEnv" $ctx | nindent 8 }}
        {{- include "stoker.podEnv" $ctx | nindent 8 }}
        {{- with (include "stoker.otelEnv" (dict "ctx" $ctx "service" "stoker-worker" "attributes" (dict "stoker.pool" $pool.name))) }}{{- . | trim | nindent 8 }}{{- end }}
        - name: HOME
          value: /tmp
        {{- with $pool.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet:
          path: /readyz
          port: health
        initialDelaySeconds: {{ $pool.startupProbe.initialDelaySeconds | int }}
        periodSeconds: {{ $pool.startupProbe.periodSeconds | int }}
        failureThreshold: {{ $pool.startupProbe.failureThreshold | int }}
        timeoutSeconds: {{ $pool.startupProbe.timeoutSeconds | int }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        periodSeconds: {{ $pool.livenessProbe.periodSeconds | int }}
        failureThreshold: {{ $pool.livenessProbe.failureThreshold | int }}
        timeoutSeconds: {{ $pool.livenessProbe.timeoutSeconds | int }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: health
        periodSeconds: {{ $pool.readinessProbe.periodSeconds | int }}
        failureThreshold: {{ $pool.readinessProbe.failureThreshold | int }}
        timeoutSeconds: {{ $pool.readinessProbe.timeoutSeconds | int }}
      {{- $resources := deepCopy ($pool.resources | default dict) }}
      {{- if $gpu }}
      {{- $limits := $resources.limits | default dict }}
      {{- $_ := set $limits $pool.gpu.resource ($pool.gpu.count | int) }}
      {{- $_ := set $resources "limits" $limits }}
      {{- end }}
      {{- with $resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "stoker.containerSecurityContext" $ctx | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if $pool.sharedMemorySize }}
        - name: shm
          mountPath: /dev/shm
        {{- end }}
        {{- with (include "stoker.redisTlsVolumeMount" $ctx) }}{{- . | trim | nindent 8 }}{{- end }}
        {{- with $pool.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if $pool.sharedMemorySize }}
    - name: shm
      emptyDir:
        medium: Memory
        sizeLimit: {{ $pool.sharedMemorySize }}
    {{- end }}
    {{- with (include "stoker.redisTlsVolume" $ctx) }}{{- . | trim | nindent 4 }}{{- end }}
    {{- with $pool.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $pool.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $tolerations := $pool.tolerations | default list }}
  {{- if and $gpu $pool.gpu.tolerate }}
  {{- $tolerations = prepend $tolerations (dict "key" $pool.gpu.resource "operator" "Exists" "effect" "NoSchedule") }}
  {{- end }}
  {{- with $tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The redis trigger name of one list: an expr identifier, since the formula names it. */}}
{{- define "stoker.triggerName" -}}
{{- $name := printf "%s_%s" (.queue | replace "-" "_") .list }}
{{- if regexMatch "^[0-9]" $name }}q_{{ end }}{{ $name }}
{{- end }}

{{/* The lists a pool's triggers read, in trigger order: (dict "queue" "list" "name") per list. */}}
{{- define "stoker.poolLists" -}}
{{- $out := list }}
{{- range $queue := .queues }}
{{- range $list := list "waiting:high" "waiting:normal" "waiting:low" "running" }}
{{- $name := include "stoker.triggerName" (dict "queue" $queue "list" (replace ":" "_" $list)) }}
{{- $out = append $out (dict "queue" $queue "key" (printf "stoker:{%s}:%s" $queue $list) "name" $name) }}
{{- end }}
{{- end }}
{{- toYaml (dict "lists" $out) }}
{{- end }}

{{/* The scalingModifiers formula: the sum of every list the pool's triggers read. */}}
{{- define "stoker.poolFormula" -}}
{{- $names := list }}
{{- range (include "stoker.poolLists" .pool | fromYaml).lists }}
{{- $names = append $names .name }}
{{- end }}
{{- join " + " $names }}
{{- end }}

{{/*
The KEDA triggers of one pool (`redis`; `redis-cluster` on a Redis Cluster): one per waiting list
(high, normal, low) and one for the in-flight list of each queue, with the key names of
stoker_queue.keys.QueueKeys.
Call with (dict "ctx" $ "pool" $pool "target" $target); returns a YAML list.
*/}}
{{- define "stoker.poolTriggers" -}}
{{- $ctx := .ctx }}
{{- $tls := eq (include "stoker.redisTls" $ctx) "true" }}
{{- $auth := eq (include "stoker.kedaAuthNeeded" $ctx) "true" }}
{{- $cluster := eq (include "stoker.redisCluster" $ctx) "true" }}
{{- range (include "stoker.poolLists" .pool | fromYaml).lists }}
- type: {{ ternary "redis-cluster" "redis" $cluster }}
  name: {{ .name }}
  metadata:
    {{- if $cluster }}
    addresses: {{ include "stoker.redisClusterAddresses" $ctx | quote }}
    {{- else }}
    address: {{ printf "%s:%s" (include "stoker.redisHost" $ctx) (include "stoker.redisPort" $ctx) | quote }}
    databaseIndex: {{ include "stoker.redisDatabase" $ctx | quote }}
    {{- end }}
    {{- if and (not $ctx.Values.redis.enabled) $ctx.Values.externalRedis.username }}
    username: {{ $ctx.Values.externalRedis.username | quote }}
    {{- end }}
    listName: {{ .key | quote }}
    listLength: {{ $.target | quote }}
    {{- if and $tls (not $ctx.Values.externalRedis.tls.caSecret) }}
    enableTLS: "true"
    {{- if $ctx.Values.externalRedis.tls.insecureSkipVerify }}
    unsafeSsl: "true"
    {{- end }}
    {{- end }}
  {{- if $auth }}
  authenticationRef:
    name: {{ include "stoker.poolName" (dict "ctx" $ctx "pool" $.pool) }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Whether KEDA needs a TriggerAuthentication: a password, or TLS with a private CA. */}}
{{- define "stoker.kedaAuthNeeded" -}}
{{- if or (include "stoker.redisPasswordSecret" .) (and (eq (include "stoker.redisTls" .) "true") .Values.externalRedis.tls.caSecret) }}true{{ end }}
{{- end }}

{{/* The per-replica target: the pool's own, else its concurrency. */}}
{{- define "stoker.poolTarget" -}}
{{- if gt (int .keda.targetPerReplica) 0 }}{{ int .keda.targetPerReplica }}{{ else }}{{ int .concurrency }}{{ end }}
{{- end }}
