{{/*
Names and labels (the Helm best practices' app.kubernetes.io/* set), the daemon's config, and the
pod template that the Deployment and the StatefulSet share.
*/}}

{{- define "scanner.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scanner.fullname" -}}
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

{{- define "scanner.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scanner.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scanner.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scanner.labels" -}}
helm.sh/chart: {{ include "scanner.chart" . }}
{{ include "scanner.selectorLabels" . }}
app.kubernetes.io/version: {{ include "scanner.imageTag" . | quote }}
app.kubernetes.io/component: daemon
app.kubernetes.io/part-of: cloudtrail-monitoring-scanner
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "scanner.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scanner.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scanner.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* No image is published: the user builds it (README, "The container image") and names the
repository it was pushed to. An empty repository would pull a name that exists nowhere. */}}
{{- define "scanner.image" -}}
{{- $repository := required "image.repository: no scanner image is published; build it (docker build -t <your registry>/scanner .) and push it, then --set image.repository=<your registry>/scanner (README, The container image)" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" $repository (include "scanner.imageTag" .) .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (include "scanner.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "scanner.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else }}
{{- include "scanner.fullname" . }}
{{- end }}
{{- end }}

{{/* Where the Secret's keys are mounted as files (the daemon re-reads them: rotation needs no restart). */}}
{{- define "scanner.secretDir" -}}/etc/scanner/secrets{{- end }}
{{- define "scanner.stateDir" -}}/var/lib/scanner{{- end }}
{{- define "scanner.configPath" -}}/etc/scanner/config.yaml{{- end }}

{{/* The Secret keys the configuration reads, sorted and unique. */}}
{{- define "scanner.secretKeys" -}}
{{- $keys := list }}
{{- range .Values.alerts.webhooks }}{{ $keys = append $keys .secretKey }}{{ if .urlKey }}{{ $keys = append $keys .urlKey }}{{ end }}{{ end }}
{{- range .Values.alerts.slack }}{{ $keys = append $keys .urlKey }}{{ end }}
{{- if .Values.http.bearerTokenKey }}{{ $keys = append $keys .Values.http.bearerTokenKey }}{{ end }}
{{- $keys | uniq | sortAlpha | toJson }}
{{- end }}

{{/*
The daemon's configuration: the user's `config` sections, plus what the chart owns (http, the
state's path, sharding, events, alert targets). Secrets appear only as file paths under the Secret's mount.
*/}}
{{- define "scanner.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $secretDir := include "scanner.secretDir" . }}
{{- $http := dict "listen" (printf "0.0.0.0:%d" (int .Values.service.port)) }}
{{- if .Values.http.bearerTokenKey }}
{{- $_ := set $http "bearer_token_file" (printf "%s/%s" $secretDir .Values.http.bearerTokenKey) }}
{{- end }}
{{- $_ := set $config "http" $http }}
{{- $state := deepCopy (default dict $config.state) }}
{{- $_ := set $state "path" (printf "%s/scanner-state.db" (include "scanner.stateDir" .)) }}
{{- $_ := set $config "state" $state }}
{{- if .Values.suppressions }}
{{- $rules := deepCopy (default dict $config.rules) }}
{{- $_ := set $rules "suppressions" "/etc/scanner/suppressions/suppressions.yaml" }}
{{- $_ := set $config "rules" $rules }}
{{- end }}
{{- if .Values.sharding.enabled }}
{{- $_ := set $config "sharding" (dict "total_shards" (int .Values.sharding.shards) "pod_name_env" "POD_NAME") }}
{{- end }}
{{- if .Values.events.enabled }}
{{- $urls := .Values.events.queueUrls }}
{{- $shards := ternary (int .Values.sharding.shards) 1 .Values.sharding.enabled }}
{{- if ne (len $urls) $shards }}
{{- fail (printf "events.queueUrls: %d queue URL(s) for %d shard(s): give one per shard, in shard order (the QueueUrlN outputs of deploy/events/central.yaml)" (len $urls) $shards) }}
{{- end }}
{{- $events := dict "enabled" true "queue_urls" $urls "batch_size" (int .Values.events.batchSize) "wait_seconds" (int .Values.events.waitSeconds) "debounce" .Values.events.debounce }}
{{- $_ := set $config "events" $events }}
{{- end }}
{{- $alerts := deepCopy (default dict $config.alerts) }}
{{- $webhooks := list }}
{{- range .Values.alerts.webhooks }}
{{- $hook := dict "name" .name "secret_file" (printf "%s/%s" $secretDir .secretKey) }}
{{- if .urlKey }}{{ $_ := set $hook "url_file" (printf "%s/%s" $secretDir .urlKey) }}{{ else }}{{ $_ := set $hook "url" .url }}{{ end }}
{{- $webhooks = append $webhooks $hook }}
{{- end }}
{{- $slack := list }}
{{- range .Values.alerts.slack }}
{{- $slack = append $slack (dict "name" .name "url_file" (printf "%s/%s" $secretDir .urlKey)) }}
{{- end }}
{{- $alertmanager := list }}
{{- range .Values.alerts.alertmanager }}
{{- $alertmanager = append $alertmanager (dict "name" .name "url" .url) }}
{{- end }}
{{- $_ := set $alerts "webhooks" $webhooks }}
{{- $_ := set $alerts "slack" $slack }}
{{- $_ := set $alerts "alertmanager" $alertmanager }}
{{- $_ := set $config "alerts" $alerts }}
{{- toYaml $config }}
{{- end }}

{{/* Fails the render when a Secret key is referenced and no Secret is given or made. */}}
{{- define "scanner.checkSecrets" -}}
{{- $keys := include "scanner.secretKeys" . | fromJsonArray }}
{{- if and $keys (not .Values.secret.existingSecret) (not .Values.secret.create) }}
{{- fail (printf "secret: the keys %s are referenced (alerts / http.bearerTokenKey): set secret.existingSecret, or secret.create with secret.stringData" (join ", " $keys)) }}
{{- end }}
{{- if and .Values.secret.existingSecret .Values.secret.create }}
{{- fail "secret: set secret.existingSecret or secret.create, not both" }}
{{- end }}
{{- if .Values.secret.create }}
{{- range $keys }}
{{- if not (hasKey $.Values.secret.stringData .) }}
{{- fail (printf "secret.stringData: no key %q, which the configuration reads" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod template of the Deployment and of the StatefulSet. */}}
{{- define "scanner.podTemplate" -}}
{{- $keys := include "scanner.secretKeys" . | fromJsonArray -}}
metadata:
  labels:
    {{- include "scanner.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "scanner.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "scanner.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: scanner
      image: {{ include "scanner.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config
        - {{ include "scanner.configPath" . }}
      env:
        {{- if .Values.sharding.enabled }}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.aws.region }}
        - name: AWS_REGION
          value: {{ . | quote }}
        - name: AWS_DEFAULT_REGION
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/scanner/config.yaml
          subPath: config.yaml
          readOnly: true
        - name: state
          mountPath: {{ include "scanner.stateDir" . }}
        - name: tmp
          mountPath: /tmp
        {{- if .Values.suppressions }}
        - name: suppressions  # a directory, not a subPath: ConfigMap updates reach the pod
          mountPath: /etc/scanner/suppressions
          readOnly: true
        {{- end }}
        {{- if $keys }}
        - name: secrets
          mountPath: {{ include "scanner.secretDir" . }}
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "scanner.fullname" . }}
    {{- if .Values.suppressions }}
    - name: suppressions
      configMap:
        name: {{ include "scanner.fullname" . }}
        items:
          - key: suppressions.yaml
            path: suppressions.yaml
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- if $keys }}
    - name: secrets
      secret:
        secretName: {{ include "scanner.secretName" . }}
        defaultMode: 0440
        items:
          {{- range $keys }}
          - key: {{ . }}
            path: {{ . }}
          {{- end }}
    {{- end }}
    {{- if not (and .Values.sharding.enabled .Values.persistence.enabled) }}
    - name: state
      {{- if .Values.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ .Values.persistence.existingClaim | default (include "scanner.fullname" .) }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
