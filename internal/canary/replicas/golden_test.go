package replicas

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchyard-dev/switchyard/test/tools"
)

// goldenRows is the documented size of the oracle; checking it catches a truncated copy, which
// would otherwise pass with fewer assertions.
const goldenRows = 131560

var goldenHeader = []string{
	"replicas", "setWeight", "maxSurge", "maxUnavailable",
	"canarySpec", "canaryAvailable", "stableSpec", "stableAvailable",
	"wantCanary", "wantStable",
}

// goldenPath finds shared/reference/basic-canary-golden.csv.gz, which lives beside the repository
// (../shared relative to the directory holding go.mod) both here and in CI. It is not copied
// into the repository.
func goldenPath(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("get working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "reference", "basic-canary-golden.csv.gz")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// goldenRow is one reconcile decision of the reference controller: a Rollout at step 0 of
// [setWeight: W, pause: {}] with a stable and a distinct canary ReplicaSet and nothing older.
type goldenRow struct {
	line                 int
	in                   Input
	wantCanary, wantStab int32
}

// TestGoldenOracle replays every row of the reference controller's basic-canary arithmetic.
func TestGoldenOracle(t *testing.T) {
	path := goldenPath(t)
	rows, err := readGolden(path)
	if errors.Is(err, fs.ErrNotExist) {
		tools.Missing(t, "golden oracle %s is absent (it lives in shared/ beside the repository): %v", path, err)
	}
	if err != nil {
		t.Fatalf("read golden oracle: %v", err)
	}
	if len(rows) != goldenRows {
		t.Fatalf("golden oracle has %d rows, want %d", len(rows), goldenRows)
	}

	// One subtest per Rollout shape keeps failures grouped and readable.
	groups := map[string][]goldenRow{}
	var order []string
	for _, r := range rows {
		key := fmt.Sprintf("replicas=%d/weight=%d", r.in.Replicas, r.in.Weight)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}
	for _, key := range order {
		t.Run(key, func(t *testing.T) {
			failures := 0
			for _, r := range groups[key] {
				got, err := Compute(r.in)
				if err != nil {
					t.Errorf("line %d: Compute: %v", r.line, err)
					continue
				}
				if got.Canary == r.wantCanary && got.Stable == r.wantStab {
					continue
				}
				failures++
				if failures <= 10 {
					t.Errorf("line %d: %s: got canary/stable %d/%d, want %d/%d", r.line,
						describe(r.in), got.Canary, got.Stable, r.wantCanary, r.wantStab)
				}
			}
			if failures > 10 {
				t.Errorf("... %d mismatches in total", failures)
			}
		})
	}
}

func describe(in Input) string {
	return fmt.Sprintf("maxSurge %s maxUnavailable %s canary %d(%d avail) stable %d(%d avail)",
		in.MaxSurge.String(), in.MaxUnavailable.String(),
		in.Canary.Replicas, in.Canary.Available, in.Stable.Replicas, in.Stable.Available)
}

func readGolden(path string) ([]goldenRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("open gzip stream: %w", err)
	}
	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = len(goldenHeader)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if strings.Join(header, ",") != strings.Join(goldenHeader, ",") {
		return nil, fmt.Errorf("unexpected header %q", header)
	}
	rows := make([]goldenRow, 0, goldenRows)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		row, err := parseGolden(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		row.line = line
		rows = append(rows, row)
	}
}

func parseGolden(rec []string) (goldenRow, error) {
	var n [8]int32 // every column but the two fenceposts, in header order
	idx := 0
	for i, s := range rec {
		if i == 2 || i == 3 {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return goldenRow{}, fmt.Errorf("column %s: %w", goldenHeader[i], err)
		}
		n[idx] = int32(v)
		idx++
	}
	return goldenRow{
		in: Input{
			Replicas:       n[0],
			Weight:         n[1],
			MaxSurge:       specIntOrString(rec[2]),
			MaxUnavailable: specIntOrString(rec[3]),
			Canary:         &ReplicaSetState{Name: "canary", Replicas: n[2], Available: n[3]},
			Stable:         &ReplicaSetState{Name: "stable", Replicas: n[4], Available: n[5]},
		},
		wantCanary: n[6],
		wantStab:   n[7],
	}, nil
}

// specIntOrString reads a fencepost as a user would have written it in YAML: "25%" is a string,
// "1" an integer.
func specIntOrString(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}
