{{/* Names and labels shared by every object of the release. */}}

{{- define "dezo-adapter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's object name; the release name alone when it already says dezo-adapter. */}}
{{- define "dezo-adapter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dezo-adapter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dezo-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dezo-adapter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dezo-adapter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dezo
{{- end -}}

{{- define "dezo-adapter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dezo-adapter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding DEZO_ONCOR_TOKEN and DEZO_AMQP_URL: the user's, or the chart's. */}}
{{- define "dezo-adapter.secretName" -}}
{{- default (include "dezo-adapter.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
DEZO_AMQP_URL for a RabbitmqCluster of the Cluster Operator: every node's own address, the
credentials from the environment variables RABBITMQ_USERNAME and RABBITMQ_PASSWORD (Kubernetes
expands $(NAME) in a value), TLS on 5671 with the CA file mounted by the Deployment.
*/}}
{{- define "dezo-adapter.clusterAmqpUrl" -}}
{{- $cluster := .Values.rabbitmqCluster -}}
{{- $namespace := default .Release.Namespace $cluster.namespace -}}
{{- $scheme := ternary "amqps" "amqp" $cluster.tls.enabled -}}
{{- $port := ternary 5671 5672 $cluster.tls.enabled -}}
{{- $vhost := ternary "" (urlquery $cluster.vhost) (eq $cluster.vhost "/") -}}
{{- $query := "" -}}
{{- if and $cluster.tls.enabled $cluster.tls.caSecret -}}
{{- $query = printf "?cafile=%s/%s" (include "dezo-adapter.brokerCaDir" .) $cluster.tls.caKey -}}
{{- end -}}
{{- $nodes := list -}}
{{- range $index := until (int $cluster.replicas) -}}
{{- $nodes = append $nodes (printf "%s-server-%d.%s-nodes.%s.svc:%v" $cluster.name $index $cluster.name $namespace $port) -}}
{{- end -}}
{{- printf "%s://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@%s/%s%s" $scheme (first $nodes) $vhost $query -}}
{{- range rest $nodes }},{{ . }}{{ end -}}
{{- end -}}

{{- define "dezo-adapter.brokerCaDir" -}}/etc/dezo/rabbitmq-ca{{- end -}}

{{- define "dezo-adapter.caBundleDir" -}}/etc/dezo/ca-bundle{{- end -}}

{{- define "dezo-adapter.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
A value as the adapter reads it from its environment. Helm decodes every YAML number as a
float, which would print 12582912 as 1.2582912e+07: whole numbers print as integers, lists as
JSON (DEZO_COMMAND_RETRY_DELAYS).
*/}}
{{- define "dezo-adapter.envValue" -}}
{{- if kindIs "slice" . -}}
{{- toJson . -}}
{{- else if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* One NetworkPolicy egress rule from {to, ports}: an empty `to` allows any destination. */}}
{{- define "dezo-adapter.egressRule" -}}
- ports:
    {{- range $port := .target.ports }}
    {{- range $protocol := $.protocols }}
    - port: {{ $port }}
      protocol: {{ $protocol }}
    {{- end }}
    {{- end }}
  {{- with .target.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
