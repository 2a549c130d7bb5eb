{{/* The pod affinity of a component: its own if set, else the chart's default (not Fargate). */}}
{{- define "s3files.affinity" -}}
{{- $affinity := .component.affinity | default .root.Values.defaultAffinity -}}
{{- if $affinity }}
affinity:
  {{- toYaml $affinity | nindent 2 }}
{{- end }}
{{- end }}

{{- define "s3files.imagePullSecrets" -}}
{{- if .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml .Values.imagePullSecrets | nindent 2 }}
{{- end }}
{{- end }}

{{- define "s3files.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}

{{/* The port of node.statusListen (HOST:PORT). */}}
{{- define "s3files.statusPort" -}}
{{ splitList ":" .Values.node.statusListen | last }}
{{- end }}
