{{/*
Chart name, shortened to the 63 characters a DNS label allows.
*/}}
{{- define "keyport.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release-chart, or just the release when it already holds the chart name.
*/}}
{{- define "keyport.fullname" -}}
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

{{/*
Name + version for the helm.sh/chart label.
*/}}
{{- define "keyport.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object of the release.
*/}}
{{- define "keyport.commonLabels" -}}
helm.sh/chart: {{ include "keyport.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keyport
{{- end }}

{{/*
keyport (server) labels and selector labels. Selectors use name + instance only, so they never
change on upgrade.
*/}}
{{- define "keyport.labels" -}}
{{ include "keyport.selectorLabels" . }}
{{ include "keyport.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "keyport.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyport.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Bundled Prometheus: its own name so its selector never matches keyport pods.
*/}}
{{- define "keyport.prometheus.fullname" -}}
{{- printf "%s-prometheus" (include "keyport.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyport.prometheus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyport.name" . }}-prometheus
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keyport.prometheus.labels" -}}
{{ include "keyport.prometheus.selectorLabels" . }}
{{ include "keyport.commonLabels" . }}
app.kubernetes.io/component: monitoring
{{- end }}

{{/*
Bundled Alertmanager.
*/}}
{{- define "keyport.alertmanager.fullname" -}}
{{- printf "%s-alertmanager" (include "keyport.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyport.alertmanager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyport.name" . }}-alertmanager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keyport.alertmanager.labels" -}}
{{ include "keyport.alertmanager.selectorLabels" . }}
{{ include "keyport.commonLabels" . }}
app.kubernetes.io/component: alerting
{{- end }}

{{/*
ServiceAccount used by the keyport pods.
*/}}
{{- define "keyport.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyport.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Label a client pod carries to pass the NetworkPolicy (the helm test pod carries it too).
*/}}
{{- define "keyport.clientLabel" -}}
{{ include "keyport.fullname" . }}-client
{{- end }}

{{/*
Image reference: a digest wins over the tag; the tag defaults to the chart's appVersion.
*/}}
{{- define "keyport.image" -}}
{{- include "keyport.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) }}
{{- end }}

{{- define "keyport.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .defaultTag .image.tag) }}
{{- end }}
{{- end }}

{{/*
Where the ports data comes from: "inline" (ConfigMap from values), "configMap" (an existing one),
"volume" (any volume source), "fetch" (downloaded into an emptyDir by the fetch-ports init container),
or "" (the image's bundled sample).
*/}}
{{- define "keyport.portsSource" -}}
{{- if .Values.ports.data }}inline
{{- else if .Values.ports.existingConfigMap }}configMap
{{- else if .Values.ports.volume }}volume
{{- else if .Values.ports.fetch.url }}fetch
{{- end }}
{{- end }}

{{/*
The fetch-ports init container: `keyport ports fetch` from keyport's own image writes the verified file
into the ports emptyDir, mounted at the same path keyport reads it from. No securityContext here: the
deployment passes it through keyport.extraContainers, which gives it the keyport container's.
*/}}
{{- define "keyport.portsFetchContainer" -}}
{{- $fetch := .Values.ports.fetch }}
{{- $ca := or $fetch.caSecret $fetch.caConfigMap }}
name: fetch-ports
image: {{ include "keyport.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - ports
  - fetch
  - {{ $fetch.url | quote }}
  - --sha256
  - {{ $fetch.sha256 | quote }}
  - --output
  - {{ printf "%s/%s" (include "keyport.portsDir" .) .Values.ports.fileName | quote }}
  - --max-bytes
  - {{ include "keyport.bytes" (list "ports.fetch.maxBytes" $fetch.maxBytes) | quote }}
  - --timeout
  - {{ $fetch.timeout | quote }}
  {{- if $ca }}
  - --ca-file
  - {{ printf "/etc/keyport/fetch-ca/%s" $fetch.caKey | quote }}
  {{- end }}
resources:
  {{- toYaml (default .Values.resources $fetch.resources) | nindent 2 }}
volumeMounts:
  - name: ports
    mountPath: {{ include "keyport.portsDir" . }}
  {{- if $ca }}
  - name: fetch-ca
    mountPath: /etc/keyport/fetch-ca
    readOnly: true
  {{- end }}
{{- end }}

{{- define "keyport.portsConfigMapName" -}}
{{- if .Values.ports.existingConfigMap }}
{{- .Values.ports.existingConfigMap }}
{{- else }}
{{- printf "%s-ports" (include "keyport.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Directory the ports volume is mounted at (a directory mount, never subPath, so kubelet's
ConfigMap updates reach the pod and keyport reloads the file).
*/}}
{{- define "keyport.portsDir" -}}/etc/keyport/ports{{- end }}

{{/*
The rules file shared with compose and the rule unit tests, rendered with this release's values.
*/}}
{{- define "keyport.rules" -}}
{{- tpl (.Files.Get "files/keyport.rules.yaml") . }}
{{- end }}

{{/*
The Alertmanager configuration, rendered with this release's values.
*/}}
{{- define "keyport.alertmanager.config" -}}
{{- tpl (.Files.Get "files/alertmanager.yaml") . }}
{{- end }}

{{- define "keyport.alertmanager.secretName" -}}
{{- if .Values.alertmanager.existingSecret }}
{{- .Values.alertmanager.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "keyport.alertmanager.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
In-cluster address of the bundled Alertmanager, for Prometheus' alerting block.
*/}}
{{- define "keyport.alertmanager.address" -}}
{{- printf "%s.%s.svc:%d" (include "keyport.alertmanager.fullname" .) .Release.Namespace (int .Values.alertmanager.service.port) }}
{{- end }}

{{/*
TLS: the Secret keyport serves from, the scheme its clients use, and the name they verify.
*/}}
{{- define "keyport.tls.secretName" -}}
{{- .Values.tls.existingSecret | default (printf "%s-tls" (include "keyport.fullname" .)) }}
{{- end }}

{{- define "keyport.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{- define "keyport.tls.serverName" -}}
{{- .Values.tls.serverName | default (printf "%s.%s.svc" (include "keyport.fullname" .) .Release.Namespace) }}
{{- end }}

{{- define "keyport.tests.caMount" -}}
{{- if and .Values.tls.enabled .Values.tls.caKey -}}
volumeMounts:
  - name: tls-ca
    mountPath: /etc/keyport/tls-ca
    readOnly: true
{{- end }}
{{- end }}

{{/*
The Prometheus configuration (files/prometheus.yaml, shared with compose), rendered for this release.
*/}}
{{- define "keyport.prometheus.config" -}}
{{- tpl (.Files.Get "files/prometheus.yaml") (merge (dict "Environment" (dict "name" "kubernetes" "tls" .Values.tls.enabled)) .) }}
{{- end }}

{{/*
Duration value in milliseconds, in keyport's own grammar (Duration.parse: "0", or whole numbers with ms, s,
m or h, concatenated as in "1m30s"; the schema's server durations use the same pattern); fails naming the key.
*/}}
{{- define "keyport.durationMillis" -}}
{{- $key := index . 0 }}
{{- $value := toString (index . 1) }}
{{- if not (regexMatch "^(0|([0-9]+(ms|s|m|h))+)$" $value) }}
{{- fail (printf "%s: %q is not a duration; use whole numbers with ms, s, m or h, alone or together (e.g. 500ms, 5s, 1m30s, 1h)" $key $value) }}
{{- end }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h)" $value -1 }}
{{- if hasSuffix "ms" . }}{{ $total = add $total (trimSuffix "ms" . | int) }}
{{- else if hasSuffix "s" . }}{{ $total = add $total (mul (trimSuffix "s" . | int) 1000) }}
{{- else if hasSuffix "m" . }}{{ $total = add $total (mul (trimSuffix "m" . | int) 60000) }}
{{- else }}{{ $total = add $total (mul (trimSuffix "h" . | int) 3600000) }}
{{- end }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
A byte size (a whole number, or one with a Kubernetes suffix: k M G T P E, Ki Mi Gi Ti Pi Ei) in bytes;
fails naming the key. Numbers from values files arrive as floats, so they are made integers first.
*/}}
{{- define "keyport.bytes" -}}
{{- $key := index . 0 }}
{{- $raw := index . 1 }}
{{- $value := kindIs "string" $raw | ternary $raw (toString (int64 $raw)) }}
{{- if not (regexMatch "^[0-9]+(k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$" $value) }}
{{- fail (printf "%s: %q is not a size in bytes; use a whole number, alone or with k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei (e.g. 1073741824, 1Gi)" $key $value) }}
{{- end }}
{{- $number := regexFind "^[0-9]+" $value }}
{{- $units := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "E" 1000000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976 }}
{{- mul (int64 $number) (get $units (trimPrefix $number $value)) }}
{{- end }}

{{/*
Cross-field checks the schema cannot express; each failure names the values involved.
*/}}
{{- define "keyport.validate" -}}
{{- $delay := include "keyport.durationMillis" (list "server.shutdownDelay" .Values.server.shutdownDelay) | int }}
{{- $grace := mul (int .Values.terminationGracePeriodSeconds) 1000 }}
{{- if ge $delay $grace }}
{{- fail (printf "server.shutdownDelay (%s) must be shorter than terminationGracePeriodSeconds (%ds), or pods are killed before they drain" .Values.server.shutdownDelay (int .Values.terminationGracePeriodSeconds)) }}
{{- end }}
{{- $drain := include "keyport.durationMillis" (list "server.requestTimeout" .Values.server.requestTimeout) | int }}
{{- if ge (add $delay $drain) $grace }}
{{- fail (printf "terminationGracePeriodSeconds (%ds) must exceed server.shutdownDelay (%s) plus server.requestTimeout (%s), the longest drain, or a slow request is killed" (int .Values.terminationGracePeriodSeconds) .Values.server.shutdownDelay .Values.server.requestTimeout) }}
{{- end }}
{{- $sources := list }}
{{- if .Values.ports.data }}{{ $sources = append $sources "ports.data" }}{{ end }}
{{- if .Values.ports.existingConfigMap }}{{ $sources = append $sources "ports.existingConfigMap" }}{{ end }}
{{- if .Values.ports.volume }}{{ $sources = append $sources "ports.volume" }}{{ end }}
{{- if .Values.ports.fetch.url }}{{ $sources = append $sources "ports.fetch.url" }}{{ end }}
{{- if gt (len $sources) 1 }}
{{- fail (printf "set at most one ports data source, got %s" (join ", " $sources)) }}
{{- end }}
{{- with .Values.ports.fetch }}
{{- if and .url (not .sha256) }}
{{- fail "ports.fetch.url is set but ports.fetch.sha256 is empty; give the file's SHA-256 (sha256sum FILE: 64 lowercase hex digits), keyport ports fetch puts only a verified file in place" }}
{{- end }}
{{- if and .sha256 (not .url) }}
{{- fail "ports.fetch.sha256 is set but ports.fetch.url is empty; set the URL to download, or clear both" }}
{{- end }}
{{- if and .caSecret .caConfigMap }}
{{- fail (printf "set at most one of ports.fetch.caSecret (%s) and ports.fetch.caConfigMap (%s)" .caSecret .caConfigMap) }}
{{- end }}
{{- if .url }}
{{- $max := include "keyport.bytes" (list "ports.fetch.maxBytes" .maxBytes) | int64 }}
{{- $room := include "keyport.bytes" (list "ports.fetch.sizeLimit" .sizeLimit) | int64 }}
{{- if gt $max $room }}
{{- fail (printf "ports.fetch.maxBytes (%d bytes) must not exceed ports.fetch.sizeLimit (%d bytes): a download that fills the emptyDir gets the pod evicted" $max $room) }}
{{- end }}
{{- $_ := include "keyport.durationMillis" (list "ports.fetch.timeout" .timeout) }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- if .Values.prometheus.enabled }}
{{- $interval := include "keyport.durationMillis" (list "prometheus.scrapeInterval" .Values.prometheus.scrapeInterval) | int }}
{{- $timeout := include "keyport.durationMillis" (list "prometheus.scrapeTimeout" .Values.prometheus.scrapeTimeout) | int }}
{{- if gt $timeout $interval }}
{{- fail (printf "prometheus.scrapeTimeout (%s) must not exceed prometheus.scrapeInterval (%s)" .Values.prometheus.scrapeTimeout .Values.prometheus.scrapeInterval) }}
{{- end }}
{{- end }}
{{- if and .Values.service.nodePort (eq .Values.service.type "ClusterIP") }}
{{- fail "service.nodePort is set but service.type is ClusterIP; use NodePort or LoadBalancer" }}
{{- end }}
{{- if and .Values.service.externalTrafficPolicy (eq .Values.service.type "ClusterIP") }}
{{- fail "service.externalTrafficPolicy is set but service.type is ClusterIP; use NodePort or LoadBalancer" }}
{{- end }}
{{- end }}

{{/*
The `server:` values as keyport's environment: files/server-env.yaml (generated from `keyport flags` by
scripts/generate-flag-table.py) names each value's variable, in values.yaml's order. A server: value it
does not name would be dropped silently, so it fails the render.
*/}}
{{- define "keyport.serverEnv" -}}
{{- $entries := (.Files.Get "files/server-env.yaml" | fromYaml).server }}
{{- $known := list }}
{{- range $entries }}{{ $known = append $known .key }}{{ end }}
{{- range $key, $_ := .Values.server }}
{{- if not (has $key $known) }}
{{- fail (printf "server.%s: files/server-env.yaml names no keyport flag for it; name the value after its flag and run `make docs` (scripts/generate-flag-table.py)" $key) }}
{{- end }}
{{- end }}
{{- range $entries }}
- name: {{ .env }}
  value: {{ index $.Values.server .key | quote }}
{{- end }}
{{- end }}

{{/*
OTEL_RESOURCE_ATTRIBUTES: the pod, namespace and node from the downward API (by $(VAR) reference to the
env entries before it), then tracing.resourceAttributes in name order.
*/}}
{{- define "keyport.resourceAttributes" -}}
{{- $attributes := list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE_NAME)" "k8s.node.name=$(K8S_NODE_NAME)" -}}
{{- range $name, $value := .Values.tracing.resourceAttributes -}}
{{- $attributes = append $attributes (printf "%s=%s" $name $value) -}}
{{- end -}}
{{- join "," $attributes -}}
{{- end -}}

{{/*
The config-reloader sidecar: keyport's own image (already on the node) running
`keyport reload-on-change`, which POSTs the server's /-/reload when a mounted ConfigMap or Secret
changes. Call with (dict "root" $ "reloader" <values> "watch" <list of dirs> "url" <reload URL> "mounts" <volumeMounts>).
*/}}
{{- define "keyport.configReloader" -}}
{{- $root := .root }}
- name: config-reloader
  image: {{ include "keyport.image" $root | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args:
    - reload-on-change
    {{- range .watch }}
    - --watch={{ . }}
    {{- end }}
    - --url={{ .url }}
    - --interval={{ .reloader.interval }}
  resources:
    {{- toYaml .reloader.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- toYaml .mounts | nindent 4 }}
{{- end }}

{{/*
initContainers / extraContainers: each as given, with the chart's container securityContext
(.Values.securityContext) under it: keys the container sets win, the rest (read-only root, non-root,
no privilege escalation, all capabilities dropped, seccomp) come from the chart.
*/}}
{{- define "keyport.extraContainers" -}}
{{- $out := list }}
{{- range .containers }}
{{- $c := deepCopy . }}
{{- $sc := mergeOverwrite (deepCopy $.securityContext) (deepCopy (default dict $c.securityContext)) }}
{{- $_ := set $c "securityContext" $sc }}
{{- $out = append $out $c }}
{{- end }}
{{- toYaml $out }}
{{- end }}
