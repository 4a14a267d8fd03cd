// Package replicas is the replica arithmetic of the basic canary: a Rollout with
// strategy.canary and no trafficRouting, where the only way to send a share of the traffic to
// the new version is to run that share of the pods.
//
// Everything here is pure: it takes the observed spec.replicas and availability of the
// ReplicaSets and returns the spec.replicas they should have next. It does not talk to the API
// server and does not know about the Rollout type, so the canary reconciler can call it with
// whatever it read and the tests can drive it with tables, the golden oracle and a fuzzer.
//
// The numbers are the ones Argo Rollouts produces (utils/replicaset/canary.go,
// CalculateReplicaCountsForBasicCanary and rollout/canary.go scaleDownOldReplicaSetsForCanary);
// Switchyard is a drop-in replacement, so a Rollout must move through exactly the same
// intermediate states under either controller. Where Argo's behaviour looks odd it is kept and
// the comment says so, rather than "fixed" into a divergence users would notice.
package replicas
