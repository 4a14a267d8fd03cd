package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// proc reads a process's CPU time and memory from /proc.
type proc struct{ pid int }

// cpuSeconds is user plus system CPU time of all the process's threads.
func (p proc) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15 of the line, the
	// 12th and 13th after the name.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", p.pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", p.pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat times", p.pid)
	}
	return float64(utime+stime) / clockTicks, nil
}

// memKiB reads a Vm* field (VmRSS, VmHWM) of /proc/PID/status.
func (p proc) memKiB(field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v := strings.Fields(rest)
			if len(v) == 0 {
				break
			}
			return strconv.ParseInt(v[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.pid)
}

// rss reads the process's resident memory and its two parts.
func (p proc) rss() (rssSplit, error) {
	kib, err := p.memKiB("VmRSS")
	if err != nil {
		return rssSplit{}, err
	}
	anon, _ := p.memKiB("RssAnon")
	file, _ := p.memKiB("RssFile")
	return rssSplit{RSSMiB: mib(kib), AnonMiB: mib(anon), FileMiB: mib(file)}, nil
}

// resetPeak resets VmHWM to the current RSS (clear_refs "5"), so the peak
// of one phase is not the peak of the process's life. It needs the rights
// to write the process's clear_refs: false when it could not.
func (p proc) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0) == nil
}

// rssSampler records the highest VmRSS seen, every interval, as a floor
// for the peak when VmHWM could not be reset.
type rssSampler struct {
	p      proc
	cancel context.CancelFunc
	done   chan struct{}
	peak   int64
}

func (p proc) sampleRSS(ctx context.Context, interval time.Duration) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{p: p, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := p.memKiB("VmRSS"); err == nil {
				s.peak = max(s.peak, v)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak in KiB.
func (s *rssSampler) stop() int64 {
	s.cancel()
	<-s.done
	if v, err := s.p.memKiB("VmRSS"); err == nil {
		s.peak = max(s.peak, v)
	}
	return s.peak
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
