package webhook

import (
	"context"
	"errors"
)

// Tracker triggers the objects tracking the image an event names: it finds
// them (through an index of the informer cache) and adds them to its
// Queue. It returns how many objects it triggered.
type Tracker interface {
	Trigger(ctx context.Context, ev Event) (int, error)
}

// Dispatcher hands every event to every Tracker (one per ImageUpdater
// kind).
type Dispatcher []Tracker

// Dispatch triggers the trackers of every event and returns how many
// objects were triggered. It tries every tracker even when one fails.
func (d Dispatcher) Dispatch(ctx context.Context, events []Event) (int, error) {
	n := 0
	var errs []error
	for _, ev := range events {
		for _, t := range d {
			k, err := t.Trigger(ctx, ev)
			n += k
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return n, errors.Join(errs...)
}
