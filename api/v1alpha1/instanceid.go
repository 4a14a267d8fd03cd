package v1alpha1

// InstanceIDLabelKey assigns an object to one controller instance. A
// controller started with --instance-id X reads only Rollouts (and the
// analysis and experiment objects) carrying this label with value X; one
// started without the flag reads only those without the label. Two
// controllers, or Argo Rollouts and Switchyard during a migration, can so
// share a cluster. Objects a controller creates for a labelled Rollout
// (AnalysisRuns, Experiments) carry the same label.
const InstanceIDLabelKey = "argo-rollouts.argoproj.io/controller-instance-id"
