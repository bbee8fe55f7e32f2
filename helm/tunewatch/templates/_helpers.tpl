{{/*
Named templates of the Tunewatch chart.

Templates used by other charts (sidecar mode, when you own the model Deployment) take a context
with .Values (this chart's values), .Release and .Chart (Name, AppVersion):
  tunewatch.sidecarContainer  the Tunewatch container (a mapping: put it after "- " in containers)
  tunewatch.sidecarVolumes    the volumes it mounts (a list: append to the pod's volumes)
  tunewatch.sidecarPodLabels  pod labels that let the chart's metrics Service (and so the
                              ServiceMonitor) and NetworkPolicies find your pods
They use only .Values, .Release and .Chart, never .Template or .Capabilities.
*/}}

{{- define "tunewatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tunewatch.fullname" -}}
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

{{- define "tunewatch.chart" -}}
{{- printf "%s-%s" .Chart.Name (.Chart.Version | default "0") | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels (also used by the generated PrometheusRule). */}}
{{- define "tunewatch.labels" -}}
helm.sh/chart: {{ include "tunewatch.chart" . }}
{{ include "tunewatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default "unknown" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | default "Helm" }}
app.kubernetes.io/part-of: tunewatch
{{- end }}

{{- define "tunewatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tunewatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tunewatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tunewatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tunewatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Whether the chart renders the server workload (standalone, or sidecar with the full pod). */}}
{{- define "tunewatch.rendersWorkload" -}}
{{- if or (eq .Values.mode "standalone") .Values.sidecar.renderDeployment }}true{{ end }}
{{- end }}

{{/* Where server pods forward to. */}}
{{- define "tunewatch.upstreamURL" -}}
{{- if eq .Values.mode "sidecar" }}
{{- printf "http://127.0.0.1:%d" (int .Values.sidecar.modelPort) }}
{{- else }}
{{- .Values.upstream.url | trimSuffix "/" }}
{{- end }}
{{- end }}

{{/* What the prober targets: the model Service (standalone) or this chart's Service (sidecar). */}}
{{- define "tunewatch.proberTarget" -}}
{{- if .Values.prober.target }}
{{- .Values.prober.target | trimSuffix "/" }}
{{- else if eq .Values.mode "sidecar" }}
{{- printf "http://%s.%s.svc:%d" (include "tunewatch.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- else }}
{{- .Values.upstream.url | trimSuffix "/" }}
{{- end }}
{{- end }}

{{/* Port of an http(s) URL: explicit, else 443 for https and 80 for http. */}}
{{- define "tunewatch.urlPort" -}}
{{- $u := urlParse . }}
{{- $parts := splitList ":" $u.host }}
{{- if gt (len $parts) 1 }}{{ last $parts }}{{ else if eq $u.scheme "https" }}443{{ else }}80{{ end }}
{{- end }}

{{/*
Secret files mounted into a component, as a YAML list of {volume, secret, key, dir}.
The admin token and the probe secret go to every pod; the Alertmanager token and sink credentials go where tickets
are delivered: the prober when it is enabled, otherwise the server pods.
Context: dict "root" $ "component" "server"|"prober".
*/}}
{{- define "tunewatch.secretFiles" -}}
{{- $v := .root.Values }}
{{- $tickets := or (eq .component "prober") (not $v.prober.enabled) }}
{{- $out := list }}
{{- with $v.secrets.adminToken.existingSecret }}
{{- $out = append $out (dict "volume" "tunewatch-secret-admin-token" "secret" . "key" $v.secrets.adminToken.key "dir" "/etc/tunewatch/secrets/admin-token") }}
{{- end }}
{{- with $v.secrets.probeSecret.existingSecret }}
{{- $out = append $out (dict "volume" "tunewatch-secret-probe" "secret" . "key" $v.secrets.probeSecret.key "dir" "/etc/tunewatch/secrets/probe") }}
{{- end }}
{{- if $tickets }}
{{- with $v.secrets.alertmanagerToken.existingSecret }}
{{- $out = append $out (dict "volume" "tunewatch-secret-alertmanager-token" "secret" . "key" $v.secrets.alertmanagerToken.key "dir" "/etc/tunewatch/secrets/alertmanager-token") }}
{{- end }}
{{- range $v.secrets.sinks }}
{{- $out = append $out (dict "volume" (printf "tunewatch-secret-sink-%s" .name) "secret" .existingSecret "key" .key "dir" (printf "/etc/tunewatch/secrets/sink-%s" .name)) }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The Tunewatch configuration of a component: values `config` with the chart's wiring on top.
Context: dict "root" $ "component" "server"|"prober".
*/}}
{{- define "tunewatch.config" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $cfg := deepCopy ($v.config | default dict) }}
{{- $upstream := include "tunewatch.upstreamURL" $root }}
{{- $probes := dict "enabled" false }}
{{- if eq .component "prober" }}
{{- $upstream = include "tunewatch.proberTarget" $root }}
{{- $probes = dict "enabled" true }}
{{- if $v.probeSuite }}
{{- $_ := set $probes "suite" "/etc/tunewatch/config/suite.yaml" }}
{{- end }}
{{- if $v.prober.baseline.configMapName }}
{{- $_ := set $probes "baseline" (printf "/etc/tunewatch/baseline/%s" $v.prober.baseline.key) }}
{{- end }}
{{- else if $v.prober.enabled }}
{{- /* the prober delivers the fleet's tickets; server pods only export metrics */}}
{{- $_ := set $cfg "triggers" (dict "enabled" false) }}
{{- end }}
{{- $wiring := dict
  "proxy" (dict "listen" (printf "0.0.0.0:%d" (int $v.ports.proxy)))
  "admin" (dict "listen" (printf "0.0.0.0:%d" (int $v.ports.admin)))
  "upstream" (dict "url" $upstream)
  "store" (dict "path" "/var/lib/tunewatch/tunewatch.db")
  "probes" $probes }}
{{- with $v.secrets.adminToken.existingSecret }}
{{- $_ := set $wiring.admin "token_file" (printf "/etc/tunewatch/secrets/admin-token/%s" $v.secrets.adminToken.key) }}
{{- end }}
{{- with $v.secrets.probeSecret.existingSecret }}
{{- $_ := set $wiring "sampling" (mustMergeOverwrite (deepCopy (get $cfg "sampling" | default dict)) (dict "probe_secret_file" (printf "/etc/tunewatch/secrets/probe/%s" $v.secrets.probeSecret.key))) }}
{{- end }}
{{- if and $v.secrets.alertmanagerToken.existingSecret (or (eq .component "prober") (not $v.prober.enabled)) }}
{{- $_ := set $wiring "triggers" (dict "alertmanager_token_file" (printf "/etc/tunewatch/secrets/alertmanager-token/%s" $v.secrets.alertmanagerToken.key)) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $cfg $wiring) }}
{{- end }}

{{/*
The Tunewatch container (a mapping). Context: dict "root" $ "component" "server"|"prober".
*/}}
{{- define "tunewatch.container" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $prober := eq .component "prober" }}
name: {{ ternary "tunewatch-prober" "tunewatch" $prober }}
image: {{ include "tunewatch.image" $root }}
imagePullPolicy: {{ $v.image.pullPolicy }}
command: ["tunewatch"]
args: ["serve", "--config", "/etc/tunewatch/config/{{ ternary "prober.yaml" "config.yaml" $prober }}"]
ports:
  - name: http
    containerPort: {{ int $v.ports.proxy }}
    protocol: TCP
  - name: admin
    containerPort: {{ int $v.ports.admin }}
    protocol: TCP
env:
  # env overrides the config file: probes run on the prober only, never once per replica
  - name: TUNEWATCH_PROBES__ENABLED
    value: {{ ternary "true" "false" $prober | quote }}
  - name: HOME
    value: /tmp
  - name: HF_HOME
    value: /var/cache/tunewatch/huggingface
  - name: HF_HUB_OFFLINE
    value: "1"
  - name: TRANSFORMERS_OFFLINE
    value: "1"
  {{- with $v.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  {{- toYaml $v.livenessProbe | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  {{- toYaml $v.readinessProbe | nindent 2 }}
resources:
  {{- toYaml (ternary $v.prober.resources $v.resources $prober) | nindent 2 }}
securityContext:
  {{- toYaml $v.securityContext | nindent 2 }}
volumeMounts:
  - name: tunewatch-config
    mountPath: /etc/tunewatch/config
    readOnly: true
  - name: tunewatch-tmp
    mountPath: /tmp
  - name: tunewatch-cache
    mountPath: /var/cache/tunewatch
  - name: tunewatch-state
    mountPath: /var/lib/tunewatch
  {{- if and $prober $v.prober.baseline.configMapName }}
  - name: tunewatch-baseline
    mountPath: /etc/tunewatch/baseline
    readOnly: true
  {{- end }}
  {{- range (include "tunewatch.secretFiles" . | fromYamlArray) }}
  - name: {{ .volume }}
    mountPath: {{ .dir }}
    readOnly: true
  {{- end }}
  {{- /* the model files deployment.artifacts verifies (sidecar server pods), read-only */}}
  {{- if and (not $prober) (eq $v.mode "sidecar") }}
  {{- range $v.sidecar.artifactMounts }}
  - name: {{ .name }}
    mountPath: {{ .mountPath }}
    {{- with .subPath }}
    subPath: {{ . }}
    {{- end }}
    readOnly: true
  {{- end }}
  {{- end }}
{{- end }}

{{/*
Volumes of the Tunewatch container (a list).
Context: dict "root" $ "component" "server"|"prober" "state" "emptyDir"|"claim"|"template".
*/}}
{{- define "tunewatch.volumes" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
- name: tunewatch-config
  configMap:
    name: {{ include "tunewatch.fullname" $root }}-config
- name: tunewatch-tmp
  emptyDir:
    sizeLimit: {{ $v.tmpVolume.sizeLimit }}
- name: tunewatch-cache
  emptyDir:
    sizeLimit: {{ $v.cacheVolume.sizeLimit }}
{{- if eq .state "emptyDir" }}
- name: tunewatch-state
  emptyDir: {}
{{- else if eq .state "claim" }}
- name: tunewatch-state
  persistentVolumeClaim:
    claimName: {{ $v.persistence.existingClaim | default (printf "%s-prober-state" (include "tunewatch.fullname" $root)) }}
{{- end }}
{{- if and (eq .component "prober") $v.prober.baseline.configMapName }}
- name: tunewatch-baseline
  configMap:
    name: {{ $v.prober.baseline.configMapName }}
    items:
      - key: {{ $v.prober.baseline.key }}
        path: {{ $v.prober.baseline.key }}
{{- end }}
{{- range (include "tunewatch.secretFiles" . | fromYamlArray) }}
- name: {{ .volume }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- end }}
{{- end }}

{{/* For your own model Deployment (sidecar mode, sidecar.renderDeployment: false). */}}
{{- define "tunewatch.sidecarContainer" -}}
{{- include "tunewatch.container" (dict "root" . "component" "server") }}
{{- end }}

{{- define "tunewatch.sidecarPodLabels" -}}
{{ include "tunewatch.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tunewatch.sidecarVolumes" -}}
{{- include "tunewatch.volumes" (dict "root" . "component" "server" "state" "emptyDir") }}
{{- end }}

{{/* NetworkPolicy egress rule for DNS (kube-dns / CoreDNS). */}}
{{- define "tunewatch.dnsEgress" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end }}
