{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "gridshift.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; a release called "gridshift" gives gridshift-exporter, gridshift-actions, ... */}}
{{- define "gridshift.fullname" -}}
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

{{- define "gridshift.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: include "gridshift.labels" (dict "ctx" $ "component" "exporter") */}}
{{- define "gridshift.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gridshift.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "gridshift.labels" -}}
helm.sh/chart: {{ include "gridshift.chart" .ctx }}
{{ include "gridshift.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: gridshift
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* repository@digest when image.digest is set (the tag is then ignored), else repository:tag. */}}
{{- define "gridshift.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Secrets --------------------------------------------------------------------------------- */}}

{{- define "gridshift.webhookSecretName" -}}
{{- .Values.webhook.existingSecret | default (printf "%s-webhook-token" (include "gridshift.fullname" .)) }}
{{- end }}

{{- define "gridshift.webhookSecretKey" -}}
{{- if .Values.webhook.existingSecret }}{{ .Values.webhook.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "gridshift.entsoeSecretName" -}}
{{- .Values.entsoe.existingSecret | default (printf "%s-entsoe" (include "gridshift.fullname" .)) }}
{{- end }}

{{- define "gridshift.entsoeSecretKey" -}}
{{- if .Values.entsoe.existingSecret }}{{ .Values.entsoe.existingSecretKey }}{{ else }}api-key{{ end }}
{{- end }}

{{- define "gridshift.electricityMapsSecretName" -}}
{{- .Values.electricityMaps.existingSecret | default (printf "%s-electricitymaps" (include "gridshift.fullname" .)) }}
{{- end }}

{{- define "gridshift.electricityMapsSecretKey" -}}
{{- if .Values.electricityMaps.existingSecret }}{{ .Values.electricityMaps.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "gridshift.entsoeEnabled" -}}
{{- $grid := .Values.config.grid | default dict }}
{{- $entsoe := $grid.entsoe | default dict }}
{{- if or $entsoe.zones $entsoe.neighbours }}true{{ end }}
{{- end }}

{{- define "gridshift.electricityMapsEnabled" -}}
{{- $grid := .Values.config.grid | default dict }}
{{- $maps := $grid.electricitymaps | default dict }}
{{- if $maps.zones }}true{{ end }}
{{- end }}

{{/* Where things are ------------------------------------------------------------------------ */}}

{{- define "gridshift.exporterURL" -}}
{{- printf "http://%s-exporter.%s.svc:9500" (include "gridshift.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "gridshift.webhookURL" -}}
{{- printf "http://%s-actions.%s.svc:9600/api/v1/alerts" (include "gridshift.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The Service of the Kepler chart's release (`kepler`): that chart's kepler.fullname rule. */}}
{{- define "gridshift.keplerService" -}}
{{- $kepler := .Values.kepler }}
{{- if $kepler.fullnameOverride }}
{{- $kepler.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "kepler" $kepler.nameOverride }}
{{- if contains $name $kepler.release }}
{{- $kepler.release | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" $kepler.release $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gridshift.keplerNamespace" -}}
{{- .Values.keplerServiceMonitor.namespace | default .Values.kepler.namespace }}
{{- end }}

{{/* kube-prometheus-stack's Alertmanager: its Service is <kps fullname>-alertmanager, the fullname
being the release (or <release>-kube-prometheus-stack) cut to 26 characters (kps _helpers.tpl). */}}
{{- define "gridshift.kpsAlertmanagerURL" -}}
{{- $kps := .Values.kubePrometheusStack }}
{{- if $kps.alertmanagerURL }}
{{- $kps.alertmanagerURL }}
{{- else if $kps.release }}
{{- $fullname := $kps.release }}
{{- if not (contains "kube-prometheus-stack" $kps.release) }}
{{- $fullname = printf "%s-kube-prometheus-stack" $kps.release }}
{{- end }}
{{- printf "http://%s-alertmanager.%s.svc:9093" ($fullname | trunc 26 | trimSuffix "-") $kps.namespace }}
{{- end }}
{{- end }}

{{/* Per-component configuration files --------------------------------------------------------- */}}

{{/* What every component's file starts with: logging, and how it serves (config.serving, as given). */}}
{{- define "gridshift.config.common" -}}
{{- toYaml (dict "log_level" .Values.config.log_level "log_format" (.Values.config.log_format | default "text")
                 "serving" (deepCopy (.Values.config.serving | default dict))) }}
{{- end }}

{{- define "gridshift.config.exporter" -}}
{{- $config := include "gridshift.config.common" . | fromYaml }}
{{- $exporter := deepCopy (.Values.config.exporter | default dict) }}
{{- $_ := set $exporter "listen_address" "0.0.0.0" }}
{{- $_ := set $exporter "port" 9500 }}
{{- $_ := set $config "exporter" $exporter }}
{{- $_ := set $config "grid" (deepCopy (.Values.config.grid | default dict)) }}
{{- toYaml $config }}
{{- end }}

{{- define "gridshift.config.actions" -}}
{{- $actions := deepCopy (.Values.config.actions | default dict) }}
{{- if not $actions.exporter_url }}
{{- $_ := set $actions "exporter_url" (include "gridshift.exporterURL" .) }}
{{- end }}
{{- if not $actions.alertmanager_url }}
{{- $_ := set $actions "alertmanager_url" (include "gridshift.kpsAlertmanagerURL" .) }}
{{- end }}
{{- if .Values.karmada.enabled }}
{{- $_ := set $actions "karmada_clusters" (deepCopy .Values.karmada.clusters) }}
{{- end }}
{{- with .Values.rbac.targetNamespaces }}
{{- /* The service reads and acts on these only, with namespaced requests: its RBAC reaches no further. */}}
{{- $_ := set $actions "target_namespaces" (deepCopy .) }}
{{- end }}
{{- if include "gridshift.actions.leaderElection" . }}
{{- /* One Lease per release: two releases in one namespace do not elect one leader between them. */}}
{{- $election := deepCopy ($actions.leader_election | default dict) }}
{{- $_ := set $election "enabled" true }}
{{- if not $election.lease_name }}{{ $_ := set $election "lease_name" (printf "%s-actions" (include "gridshift.fullname" .)) }}{{ end }}
{{- $_ := set $actions "leader_election" $election }}
{{- end }}
{{- $_ := set $actions "listen_address" "0.0.0.0" }}
{{- $_ := set $actions "port" 9600 }}
{{- $config := include "gridshift.config.common" . | fromYaml }}
{{- $_ := set $config "cluster" (deepCopy (.Values.config.cluster | default dict)) }}
{{- $_ := set $config "actions" $actions }}
{{- toYaml $config }}
{{- end }}

{{- define "gridshift.config.power" -}}
{{- $power := deepCopy (.Values.config.power | default dict) }}
{{- $intensity := $power.intensity | default dict }}
{{- if not $intensity.url }}
{{- $_ := set $intensity "url" (include "gridshift.exporterURL" .) }}
{{- end }}
{{- $_ := set $power "intensity" $intensity }}
{{- if and .Values.kepler.enabled (not .Values.power.estimator.enabled) }}
{{- $kepler := $power.kepler | default dict }}
{{- if not $kepler.namespace }}{{ $_ := set $kepler "namespace" .Values.kepler.namespace }}{{ end }}
{{- if not $kepler.service }}{{ $_ := set $kepler "service" (include "gridshift.keplerService" .) }}{{ end }}
{{- $_ := set $power "kepler" $kepler }}
{{- end }}
{{- $estimator := $power.estimator | default dict }}
{{- $_ := set $estimator "enabled" (.Values.power.estimator.enabled | default false) }}
{{- $_ := set $power "estimator" $estimator }}
{{- $_ := set $power "listen_address" "0.0.0.0" }}
{{- $_ := set $power "port" 9501 }}
{{- $config := include "gridshift.config.common" . | fromYaml }}
{{- $_ := set $config "cluster" (deepCopy (.Values.config.cluster | default dict)) }}
{{- $_ := set $config "power" $power }}
{{- toYaml $config }}
{{- end }}

{{/* Leader election of the action service: on with more than one replica (or when config.actions.leader_election.enabled says so). */}}
{{- define "gridshift.actions.leaderElection" -}}
{{- $election := (.Values.config.actions | default dict).leader_election | default dict }}
{{- if or (gt (int .Values.actions.replicas) 1) $election.enabled }}true{{ end }}
{{- end }}

{{/* The Lease's name and namespace, as the action service's config has them. */}}
{{- define "gridshift.actions.lease" -}}
{{- $election := (include "gridshift.config.actions" . | fromYaml).actions.leader_election }}
{{- toYaml (dict "name" $election.lease_name "namespace" ($election.lease_namespace | default .Release.Namespace)) }}
{{- end }}

{{- define "gridshift.powerEnabled" -}}
{{- if or .Values.power.enabled .Values.power.estimator.enabled }}true{{ end }}
{{- end }}

{{/* The namespace Kepler's EndpointSlices are listed in (the power exporter's Role). */}}
{{- define "gridshift.power.keplerNamespace" -}}
{{- $power := .Values.config.power | default dict }}
{{- $kepler := $power.kepler | default dict }}
{{- $kepler.namespace | default .Values.kepler.namespace }}
{{- end }}

{{- define "gridshift.power.discoversKepler" -}}
{{- $power := .Values.config.power | default dict }}
{{- $kepler := $power.kepler | default dict }}
{{- if and (not .Values.power.estimator.enabled) (not $kepler.static_targets) }}true{{ end }}
{{- end }}

{{/* Checks that need more than one value; values.schema.json checks the rest. ---------------- */}}

{{- define "gridshift.validate" -}}
{{- if and (include "gridshift.entsoeEnabled" .) (not .Values.entsoe.apiKey) (not .Values.entsoe.existingSecret) }}
{{- fail "config.grid.entsoe.zones is set, but there is no ENTSO-E token: set entsoe.apiKey or entsoe.existingSecret (the exporter refuses to start without it)" }}
{{- end }}
{{- if and (include "gridshift.electricityMapsEnabled" .) (not .Values.electricityMaps.token) (not .Values.electricityMaps.existingSecret) }}
{{- fail "config.grid.electricitymaps.zones is set, but there is no token: set electricityMaps.token or electricityMaps.existingSecret" }}
{{- end }}
{{- if and .Values.karmada.enabled (not .Values.karmada.clusters) }}
{{- fail "karmada.enabled is true but karmada.clusters is empty: map each Karmada member cluster to its zone, e.g. {member-de: DE_LU}" }}
{{- end }}
{{- if and (not .Values.karmada.enabled) .Values.karmada.clusters }}
{{- fail "karmada.clusters is set but karmada.enabled is false: the action service would be refused access to PropagationPolicies" }}
{{- end }}
{{- $actions := .Values.config.actions | default dict }}
{{- if hasKey $actions "karmada_clusters" }}
{{- fail "config.actions.karmada_clusters is set by the chart: use karmada.enabled and karmada.clusters (they also grant the RBAC)" }}
{{- end }}
{{- $election := $actions.leader_election | default dict }}
{{- if and (gt (int .Values.actions.replicas) 1) (hasKey $election "enabled") (not $election.enabled) }}
{{- fail (printf "actions.replicas is %d but config.actions.leader_election.enabled is false: without leader election every replica would act (remove the key, or run one replica)" (int .Values.actions.replicas)) }}
{{- end }}
{{- if and (include "gridshift.actions.leaderElection" .) (not $actions.alertmanager_url) (not (include "gridshift.kpsAlertmanagerURL" .)) }}
{{- fail "the action service runs with leader election (actions.replicas > 1) but no Alertmanager is known: followers keep their alert books from Alertmanager's API, so set config.actions.alertmanager_url, or kubePrometheusStack.release for kube-prometheus-stack's" }}
{{- end }}
{{- if and .Values.kepler.enabled .Values.power.estimator.enabled }}
{{- fail "kepler.enabled and power.estimator.enabled are both true: the power exporter reads Kepler or estimates, not both (namespaces would be counted twice)" }}
{{- end }}
{{- end }}

{{/* Pod pieces shared by every component ----------------------------------------------------- */}}

{{/* include "gridshift.container" (dict "ctx" $ "component" "exporter" "args" (list ...) "port" 9500 "values" .Values.exporter)
Optional: "env" and "mounts" (the chart's own), before the component's extraEnv and extraVolumeMounts. */}}
{{- define "gridshift.container" -}}
{{- $metricsPort := include "gridshift.metricsPort" (dict "ctx" .ctx "component" .component) }}
- name: {{ .component }}
  image: {{ include "gridshift.image" .ctx | quote }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  args:
    {{- toYaml .args | nindent 4 }}
  ports:
    - name: http
      containerPort: {{ .port }}
      protocol: TCP
    {{- if $metricsPort }}
    - name: metrics
      containerPort: {{ $metricsPort }}
      protocol: TCP
    {{- end }}
  {{- with concat (.env | default list) (.values.extraEnv | default list) }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  livenessProbe:
    httpGet: {path: /healthz, port: http}
    initialDelaySeconds: 10
    periodSeconds: 20
    timeoutSeconds: 5
    failureThreshold: 3
  readinessProbe:
    httpGet: {path: /readyz, port: http}
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 3
  resources:
    {{- toYaml .values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .ctx.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "gridshift.volumeMounts" . | nindent 4 }}
{{- end }}

{{/* The config file and /tmp, then "mounts" (the chart's own), then the component's extraVolumeMounts. */}}
{{- define "gridshift.volumeMounts" -}}
- name: config
  mountPath: /etc/gridshift
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- with concat (.mounts | default list) (.values.extraVolumeMounts | default list) }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* include "gridshift.volumes" (dict "ctx" $ "file" "actions.yaml" "values" .Values.actions "volumes" (list ...)):
that component's config file, /tmp, "volumes" (the chart's own), then the component's extraVolumes. */}}
{{- define "gridshift.volumes" -}}
- name: config
  configMap:
    name: {{ include "gridshift.fullname" .ctx }}-config
    items: [{key: {{ .file }}, path: {{ .file }}}]
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- with concat (.volumes | default list) (.values.extraVolumes | default list) }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Scheduling of a component's pods: include "gridshift.podScheduling" (dict "ctx" $ "component" "actions" "values" .Values.actions).
A topologySpreadConstraint without a labelSelector spreads the component's own pods. Without
"component" (the uninstall hook's Job), no topology spread: it is one pod, not a set to spread. */}}
{{- define "gridshift.podScheduling" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and .component .values.topologySpreadConstraints }}
{{- $own := dict "matchLabels" (fromYaml (include "gridshift.selectorLabels" (dict "ctx" .ctx "component" .component))) }}
topologySpreadConstraints:
  {{- range .values.topologySpreadConstraints }}
  {{- $constraint := deepCopy . }}
  {{- if not (hasKey $constraint "labelSelector") }}{{ $_ := set $constraint "labelSelector" $own }}{{ end }}
  - {{- toYaml $constraint | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The pod's terminationGracePeriodSeconds: gridshift's own shutdown grace (config.serving.shutdown_grace_seconds,
default 20, as gridshift/serving_settings.py: finish the pass in flight, then exit) and 10 s more, so the
kubelet never kills a clean shutdown. */}}
{{- define "gridshift.terminationGracePeriodSeconds" -}}
{{- $serving := .Values.config.serving | default dict }}
{{- add (hasKey $serving "shutdown_grace_seconds" | ternary $serving.shutdown_grace_seconds 20) 10 }}
{{- end }}

{{/* A component's own /metrics port (config <component>.metrics_port), or nothing: /metrics is then served
beside the app on `http`. include "gridshift.metricsPort" (dict "ctx" $ "component" "exporter") */}}
{{- define "gridshift.metricsPort" -}}
{{- $section := get (.ctx.Values.config | default dict) .component | default dict }}
{{- with $section.metrics_port }}{{ . }}{{ end }}
{{- end }}

{{/* The port name Prometheus scrapes, on the container and the Service: `metrics` with a port of its own, else `http`. */}}
{{- define "gridshift.scrapePort" -}}
{{- if include "gridshift.metricsPort" . }}metrics{{ else }}http{{ end }}
{{- end }}

{{- define "gridshift.podMetadata" -}}
labels:
  {{- include "gridshift.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ .config | sha256sum }}
  {{- with .values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Labels for prometheus-operator objects: ours plus what the user's Prometheus selects on. */}}
{{- define "gridshift.monitoringLabels" -}}
{{ include "gridshift.labels" . }}
{{- with include "gridshift.selectedBy" .ctx | fromYaml }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* What the user's Prometheus selects on: kps's release label, and prometheusOperator.labels over it. */}}
{{- define "gridshift.selectedBy" -}}
{{- $labels := dict }}
{{- with .Values.kubePrometheusStack.release }}{{ $_ := set $labels "release" . }}{{ end }}
{{- toYaml (merge (deepCopy .Values.prometheusOperator.labels) $labels) }}
{{- end }}

{{/* The alerts the AlertmanagerConfig routes (CONTRACT.md). Their expressions aggregate `namespace`
away, so the PrometheusRule gives them the release's: the operator's OnNamespace matcher wants it. */}}
{{- define "gridshift.gridAlerts" -}}
{{- toYaml (list "GridCarbonIntensityHigh" "GridCarbonIntensityCritical" "GridCarbonIntensityLow" "GridCarbonDataStale" "GridCarbonGreenerWindowAhead") }}
{{- end }}

{{/* A component's Service: include "gridshift.service" (dict "ctx" $ "component" "actions" "port" 9600).
Its label gridshift.io/job is the ServiceMonitor's jobLabel: job="gridshift-<component>" whatever the
release is called (alertmanager/rules.yaml's GridshiftTargetDown matches job=~"gridshift.*"). */}}
{{- define "gridshift.service" -}}
{{- $metricsPort := include "gridshift.metricsPort" . }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gridshift.fullname" .ctx }}-{{ .component }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "gridshift.labels" . | nindent 4 }}
    gridshift.io/job: gridshift-{{ .component }}
spec:
  type: ClusterIP
  selector:
    {{- include "gridshift.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
    {{- if $metricsPort }}
    - name: metrics
      port: {{ $metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- end }}

{{/* A component's NetworkPolicy ingress rules: include "gridshift.ingress" (dict "ctx" $ "component" "actions"
"all" (list ...) "app" (list ...) "prometheus" (list ...) "extra" (list ...)). /metrics beside the app: one rule,
`all` peers (in that order) to `http`. /metrics on its own port (config <component>.metrics_port): the `app`
peers reach `http`, Prometheus only `metrics`; the `extra` peers (networkPolicy.extraFrom) reach both. */}}
{{- define "gridshift.ingress" -}}
{{- if eq (include "gridshift.scrapePort" .) "http" }}
- from:
    {{- toYaml .all | nindent 4 }}
  ports:
    - {port: http, protocol: TCP}
{{- else }}
{{- with concat .app .extra }}
- from:
    {{- toYaml . | nindent 4 }}
  ports:
    - {port: http, protocol: TCP}
{{- end }}
- from:
    {{- toYaml (concat .prometheus .extra) | nindent 4 }}
  ports:
    - {port: metrics, protocol: TCP}
{{- end }}
{{- end }}
