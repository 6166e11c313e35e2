package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// The metrics settings come from a flag, the environment or the file,
// are off by default, and a listen address that is no host:port is
// refused at start-up.
func TestMetricsConfig(t *testing.T) {
	if d := defaults(); d.MetricsListen != "" || d.MetricsKey != "" {
		t.Fatalf("metrics on by default: %q %q", d.MetricsListen, d.MetricsKey)
	}
	file := filepath.Join(t.TempDir(), "tessera.yaml")
	if err := os.WriteFile(file, []byte("metrics_listen: \"127.0.0.1:9100\"\nmetrics_key: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig([]string{"-config", file}, env(map[string]string{"TESSERA_METRICS_KEY": "from-env"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsListen != "127.0.0.1:9100" || cfg.MetricsKey != "from-env" {
		t.Errorf("file and environment: %q %q", cfg.MetricsListen, cfg.MetricsKey)
	}
	cfg, err = loadConfig([]string{"-config", file, "-metrics-listen", ":9200"}, env(nil), io.Discard)
	if err != nil || cfg.MetricsListen != ":9200" || cfg.MetricsKey != "from-file" {
		t.Errorf("flag over file: %v %q %q", err, cfg.MetricsListen, cfg.MetricsKey)
	}
	for _, bad := range []string{"9100", "localhost"} {
		if _, err := loadConfig([]string{"-metrics-listen", bad}, env(nil), io.Discard); !errors.Is(err, errConfig) {
			t.Errorf("metrics listen %q: err = %v, want a configuration error", bad, err)
		}
	}
}

// -pprof mounts the profiler on the metrics listener, behind its key;
// without the flag it is not there, and without a metrics listener the
// flag is refused.
func TestProfilerOnMetricsListener(t *testing.T) {
	if _, err := loadConfig([]string{"-pprof"}, env(nil), io.Discard); !errors.Is(err, errConfig) {
		t.Errorf("-pprof without -metrics-listen: err = %v, want a configuration error", err)
	}
	get := func(addr, key string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/debug/pprof/cmdline", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	on, off := freeAddr(t), freeAddr(t)
	startServer(t, "-metrics-listen", on, "-metrics-key", "k", "-pprof")
	startServer(t, "-metrics-listen", off)
	if got := get(on, "k"); got != http.StatusOK {
		t.Errorf("with the key: %d, want 200", got)
	}
	if got := get(on, ""); got != http.StatusUnauthorized {
		t.Errorf("without the key: %d, want 401", got)
	}
	if got := get(off, ""); got != http.StatusNotFound {
		t.Errorf("without -pprof: %d, want 404", got)
	}
}
