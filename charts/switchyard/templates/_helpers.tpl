{{/*
Labels Helm adds to every object it owns; the app.kubernetes.io/name and
component labels are the kustomize bases' own and stay as they set them.
*/}}
{{- define "switchyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The pod and selector labels of a component (controller, image-updater). */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: switchyard
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{/* repository@digest when a digest is set, else repository:tag. */}}
{{- define "switchyard.image" -}}
{{- $repo := required "image.repository is required" .repository -}}
{{- if .digest -}}
{{- if not (hasPrefix "sha256:" .digest) -}}
{{- fail (printf "image digest %q: must start with sha256:" .digest) -}}
{{- end -}}
{{- printf "%s@%s" $repo .digest -}}
{{- else -}}
{{- printf "%s:%s" $repo .tag -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.controllerImage" -}}
{{- include "switchyard.image" (dict "repository" .Values.image.repository "digest" .Values.image.digest "tag" (.Values.image.tag | default .Chart.AppVersion)) -}}
{{- end -}}

{{/*
The image updater's image: its own digest, or the controller's when both
share a repository; its own tag, else the controller's, else appVersion.
*/}}
{{- define "switchyard.imageUpdaterImage" -}}
{{- $img := .Values.imageUpdater.image -}}
{{- $digest := $img.digest -}}
{{- if and (not $digest) (eq $img.repository .Values.image.repository) -}}
{{- $digest = .Values.image.digest -}}
{{- end -}}
{{- include "switchyard.image" (dict "repository" $img.repository "digest" $digest "tag" ($img.tag | default .Values.image.tag | default .Chart.AppVersion)) -}}
{{- end -}}

{{/*
The rules of the object of a kind in a generated RBAC file of files/rbac
(copied from config/rbac by hack/generate.sh). Arguments: (list $ file kind).
*/}}
{{- define "switchyard.rules" -}}
{{- $root := index . 0 -}}
{{- $file := index . 1 -}}
{{- $kind := index . 2 -}}
{{- $found := false -}}
{{- range $doc := splitList "\n---" ($root.Files.Get $file) -}}
{{- $obj := fromYaml $doc -}}
{{- if eq (get $obj "kind") $kind -}}
{{- $found = true -}}
{{- toYaml $obj.rules -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "no %s in %s" $kind $file) -}}
{{- end -}}
{{- end -}}

{{/* Fail when several replicas would reconcile at once. */}}
{{- define "switchyard.checkReplicas" -}}
{{- if and (gt (int .replicas) 1) (not .leaderElection) -}}
{{- fail (printf "%s.replicas is %d: more than one replica needs leaderElection.enabled=true" .name (int .replicas)) -}}
{{- end -}}
{{- end -}}
