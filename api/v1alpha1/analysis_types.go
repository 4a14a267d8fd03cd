package v1alpha1

import (
	batchv1 "k8s.io/api/batch/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The analysis API (AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun)
// follows Argo Rollouts' published schema field for field, so existing
// templates apply unchanged. Providers Switchyard measures with (prometheus,
// web, job) are typed; the others are kept as raw JSON so their manifests
// are accepted and round-trip, and a run that uses one ends in Error naming
// the provider. None of these CRDs has a status subresource: as in Argo,
// clients and the controller write status through the main resource.

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=at,path=analysistemplates,scope=Namespaced
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// AnalysisTemplate is a reusable analysis: metrics, their arguments and rules.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=cat,path=clusteranalysistemplates,scope=Cluster
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// ClusterAnalysisTemplate is an AnalysisTemplate usable from every namespace.
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisTemplateSpec is the body of both template kinds.
type AnalysisTemplateSpec struct {
	// Metrics may be empty in a template that only nests other templates.
	// +optional
	// +patchMergeKey=name
	// +patchStrategy=merge
	Metrics []Metric `json:"metrics,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// +optional
	// +patchMergeKey=name
	// +patchStrategy=merge
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// +optional
	// +patchMergeKey=metricName
	// +patchStrategy=merge
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// +optional
	// +patchMergeKey=metricName
	// +patchStrategy=merge
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// Templates nests other templates, whose metrics and args are merged in.
	// +optional
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`
}

// AnalysisTemplateRef names a template nested in another.
type AnalysisTemplateRef struct {
	// +optional
	TemplateName string `json:"templateName,omitempty"`
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// DurationString is a Go duration ("30s", "5m").
type DurationString string

// Metric is one thing to measure repeatedly, and how to judge it.
type Metric struct {
	Name string `json:"name"`
	// Interval is the gap between the end of a measurement and the start of
	// the next.
	// +optional
	Interval DurationString `json:"interval,omitempty"`
	// InitialDelay postpones the first measurement, counted from the run's
	// status.startedAt.
	// +optional
	InitialDelay DurationString `json:"initialDelay,omitempty"`
	// Count is how many measurements to take (see CountOrDefault).
	// +optional
	Count *intstr.IntOrString `json:"count,omitempty"`
	// SuccessCondition and FailureCondition are expr-lang expressions over
	// `result`.
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many Failed measurements are tolerated; -1 disables it.
	// +optional
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`
	// +optional
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit defaults to 4.
	// +optional
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	// ConsecutiveSuccessLimit, when > 0, ends the metric Successful after
	// that many Successful measurements in a row.
	// +optional
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
	Provider                MetricProvider      `json:"provider"`
}

// MetricProvider holds exactly one provider.
type MetricProvider struct {
	// +optional
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Kayenta *apiextensionsv1.JSON `json:"kayenta,omitempty"`
	// +optional
	Web *WebMetric `json:"web,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Datadog *apiextensionsv1.JSON `json:"datadog,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Wavefront *apiextensionsv1.JSON `json:"wavefront,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	NewRelic *apiextensionsv1.JSON `json:"newRelic,omitempty"`
	// +optional
	Job *JobMetric `json:"job,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	CloudWatch *apiextensionsv1.JSON `json:"cloudWatch,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Graphite *apiextensionsv1.JSON `json:"graphite,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Influxdb *apiextensionsv1.JSON `json:"influxdb,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	SkyWalking *apiextensionsv1.JSON `json:"skywalking,omitempty"`
	// Plugin maps one metric-provider plugin name to its configuration.
	// +optional
	Plugin map[string]apiextensionsv1.JSON `json:"plugin,omitempty"`
}

// PrometheusMetric queries a Prometheus-compatible HTTP API.
type PrometheusMetric struct {
	// Address defaults to $ARGO_ROLLOUTS_PROMETHEUS_ADDRESS.
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
	// +optional
	Authentication Authentication `json:"authentication,omitzero"`
	// Timeout is in seconds; default 30.
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`
	// +optional
	Insecure bool `json:"insecure,omitempty"`
	// +optional
	Headers []WebMetricHeader `json:"headers,omitempty"`
	// +optional
	RangeQuery *PrometheusRangeQueryArgs `json:"rangeQuery,omitempty"`
}

// PrometheusRangeQueryArgs turns the query into a range query. Start and End
// are expr expressions returning a time; Step is a duration string.
type PrometheusRangeQueryArgs struct {
	// +optional
	Start string `json:"start,omitempty"`
	// +optional
	End string `json:"end,omitempty"`
	// +optional
	Step string `json:"step,omitempty"`
}

// Authentication is how a provider authenticates to its server.
type Authentication struct {
	// +optional
	Sigv4 Sigv4Config `json:"sigv4,omitzero"`
	// +optional
	OAuth2 OAuth2Config `json:"oauth2,omitzero"`
	// +optional
	BasicAuth BasicAuth `json:"basicAuth,omitzero"`
}

// Sigv4Config signs requests for Amazon Managed Prometheus.
type Sigv4Config struct {
	// +optional
	Region string `json:"region,omitempty"`
	// +optional
	Profile string `json:"profile,omitempty"`
	// +optional
	RoleARN string `json:"roleArn,omitempty"`
}

// OAuth2Config is an OAuth2 client-credentials grant.
type OAuth2Config struct {
	// +optional
	TokenURL string `json:"tokenUrl,omitempty"`
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// +optional
	ClientSecret string `json:"clientSecret,omitempty"`
	// +optional
	Scopes []string `json:"scopes,omitempty"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	Password string `json:"password,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

// Web metric methods.
const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetric calls an HTTP endpoint and reads a JSON value from the answer.
type WebMetric struct {
	// Method defaults to GET.
	// +optional
	Method WebMetricMethod `json:"method,omitempty"`
	URL    string          `json:"url"`
	// +optional
	// +patchMergeKey=key
	// +patchStrategy=merge
	Headers []WebMetricHeader `json:"headers,omitempty" patchStrategy:"merge" patchMergeKey:"key"`
	// +optional
	Body string `json:"body,omitempty"`
	// TimeoutSeconds defaults to 10.
	// +optional
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	// JSONPath (client-go syntax) selects the value; default {$}.
	// +optional
	JSONPath string `json:"jsonPath,omitempty"`
	// Insecure skips TLS certificate verification.
	// +optional
	Insecure bool `json:"insecure,omitempty"`
	// JSONBody is sent as the body with Content-Type application/json.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	JSONBody *apiextensionsv1.JSON `json:"jsonBody,omitempty"`
	// +optional
	Authentication Authentication `json:"authentication,omitzero"`
}

// WebMetricHeader is one HTTP header.
type WebMetricHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JobMetric runs a Kubernetes Job; it succeeds when the Job completes.
type JobMetric struct {
	// +optional
	Metadata metav1.ObjectMeta `json:"metadata,omitzero"`
	Spec     batchv1.JobSpec   `json:"spec"`
}

// Argument is a named value a template's metrics use as {{args.name}}.
type Argument struct {
	Name string `json:"name"`
	// +optional
	Value *string `json:"value,omitempty"`
	// +optional
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom is where an argument's value comes from. SecretKeyRef is read
// by the AnalysisRun controller; FieldRef and PodTemplateHashValue are
// resolved when a Rollout creates the run (a FieldRef left in a run reads
// the AnalysisRun itself).
//
// The field order is Argo's for the Rollout's argument (podTemplateHashValue
// before fieldRef): the canary step hash is computed over this JSON.
type ValueFrom struct {
	// PodTemplateHashValue is Stable or Latest: the pod-template hash of the
	// Rollout's stable or newest ReplicaSet.
	// +optional
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	// +optional
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	// +optional
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// ValueFromPodTemplateHash selects a ReplicaSet of the Rollout.
type ValueFromPodTemplateHash string

// PodTemplateHashValue sources.
const (
	Stable ValueFromPodTemplateHash = "Stable"
	Latest ValueFromPodTemplateHash = "Latest"
)

// SecretKeyRef is one key of a Secret in the run's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// FieldRef is a path into an object: downward-API syntax for metadata
// (metadata.labels['k']) or dotted JSON fields otherwise.
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ar,path=analysisruns,scope=Namespaced
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// AnalysisRun is one execution of an analysis: its metrics are measured
// until each is decided, and the run takes the worst of their phases.
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisRunSpec `json:"spec"`
	// +optional
	Status AnalysisRunStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// AnalysisRunList is a list of AnalysisRuns.
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

// AnalysisRunSpec is what to measure.
type AnalysisRunSpec struct {
	// +patchMergeKey=name
	// +patchStrategy=merge
	Metrics []Metric `json:"metrics" patchStrategy:"merge" patchMergeKey:"name"`
	// +optional
	// +patchMergeKey=name
	// +patchStrategy=merge
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// Terminate stops the run: no new measurements start.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
	// +optional
	// +patchMergeKey=metricName
	// +patchStrategy=merge
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// +optional
	// +patchMergeKey=metricName
	// +patchStrategy=merge
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// +optional
	TTLStrategy *TTLStrategy `json:"ttlStrategy,omitempty"`
}

// TTLStrategy deletes a completed run after a delay.
type TTLStrategy struct {
	// +optional
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	// +optional
	SecondsAfterFailure *int32 `json:"secondsAfterFailure,omitempty"`
	// +optional
	SecondsAfterSuccess *int32 `json:"secondsAfterSuccess,omitempty"`
}

// AnalysisRunStatus is the observed state of a run.
type AnalysisRunStatus struct {
	Phase AnalysisPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	RunSummary RunSummary `json:"runSummary,omitzero"`
	// +optional
	DryRunSummary *RunSummary `json:"dryRunSummary,omitempty"`
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// RunSummary counts metrics (not measurements) by phase.
type RunSummary struct {
	// +optional
	Count int32 `json:"count,omitempty"`
	// +optional
	Successful int32 `json:"successful,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// +optional
	Error int32 `json:"error,omitempty"`
}

// MetricResult is the history and counters of one metric.
type MetricResult struct {
	Name  string        `json:"name"`
	Phase AnalysisPhase `json:"phase"`
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Count is successful + failed + inconclusive measurements.
	// +optional
	Count int32 `json:"count,omitempty"`
	// +optional
	Successful int32 `json:"successful,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// +optional
	Error int32 `json:"error,omitempty"`
	// +optional
	ConsecutiveError int32 `json:"consecutiveError,omitempty"`
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
	// +optional
	ConsecutiveSuccess int32 `json:"consecutiveSuccess,omitempty"`
}

// Measurement is one observation of a metric.
type Measurement struct {
	Phase AnalysisPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
	// ResumeAt is when an in-flight measurement is looked at again.
	// +optional
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}

// Analysis phases, shared by runs, metrics and measurements. The last four
// are terminal.
const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is terminal.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}
