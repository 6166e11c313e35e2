// Command audioload measures the server CPU one audio participant costs,
// with real WebRTC peers over loopback. It runs the room manager in a child
// process (so that its CPU time is the server's alone), joins N peers of
// which a few send a tone and the rest send silence, checks that everyone
// receives audio, and prints a table.
//
//	go run -tags nolibopusfile ./scripts/audioload -n 10,25,50 -talkers 3 -duration 10s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/roomtest"
)

func main() {
	serve := flag.Bool("serve", false, "run as the server child")
	ns := flag.String("n", "10,25,50", "participant counts")
	talkers := flag.Int("talkers", 3, "participants sending a tone")
	dur := flag.Duration("duration", 10*time.Second, "measurement window")
	workers := flag.Int("workers", 1, "server worker threads")
	flag.Parse()
	if *serve {
		if err := runServer(*workers); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("| participants | talkers | server CPU (%% of one core) | per participant (%% of a core) | packets/s per listener (min) |\n")
	fmt.Printf("|---:|---:|---:|---:|---:|\n")
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bad -n:", f)
			os.Exit(2)
		}
		cpu, minRate, err := measure(n, min(*talkers, n), *dur, *workers)
		if err != nil {
			fmt.Fprintln(os.Stderr, "run failed:", err)
			os.Exit(1)
		}
		fmt.Printf("| %d | %d | %.1f | %.2f | %.1f |\n", n, min(*talkers, n), cpu*100, cpu*100/float64(n), minRate)
	}
}

// runServer is the child: a manager with one room and a private HTTP hook
// that turns an offer into an answer.
func runServer(workers int) error {
	m, err := room.NewManager(room.ManagerConfig{
		Engine:  room.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true},
		Workers: workers,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	r, err := m.Create(room.Config{ID: 1})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		offer, _ := io.ReadAll(req.Body)
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		me, _, err := r.Join(ctx, room.JoinRequest{})
		if err == nil {
			var answer string
			if answer, err = r.Offer(ctx, me.ID, string(offer)); err == nil {
				_, _ = io.WriteString(w, answer)
				return
			}
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}))
}

func measure(n, talkers int, dur time.Duration, workers int) (cpu, minRate float64, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	child := exec.Command(self, "-serve", "-workers", strconv.Itoa(workers))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := child.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("server did not start: %w", err)
	}
	url := "http://" + strings.TrimSpace(addr)

	var peers []*roomtest.Peer
	defer func() {
		for _, p := range peers {
			_ = p.Close()
		}
	}()
	for i := range n {
		opts := roomtest.Options{}
		if i < talkers {
			opts.ToneHz = 300 + 110*float64(i)
		}
		p, err := roomtest.New(opts)
		if err != nil {
			return 0, 0, err
		}
		peers = append(peers, p)
		offer, err := p.Offer()
		if err != nil {
			return 0, 0, err
		}
		resp, err := http.Post(url, "application/sdp", strings.NewReader(offer))
		if err != nil {
			return 0, 0, err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("join: %s", answer)
		}
		if err := p.Accept(string(answer)); err != nil {
			return 0, 0, err
		}
	}
	for _, p := range peers {
		if err := p.WaitConnected(20 * time.Second); err != nil {
			return 0, 0, err
		}
	}
	time.Sleep(2 * time.Second) // settle
	c0, err := cpuSeconds(child.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	time.Sleep(dur)
	c1, err := cpuSeconds(child.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(t0)
	minRate = 1e9
	for _, p := range peers {
		minRate = min(minRate, float64(len(p.ArrivalsSince(t0)))/elapsed.Seconds())
	}
	return (c1 - c0) / elapsed.Seconds(), minRate, nil
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	const clkTck = 100 // USER_HZ on Linux
	return (ut + st) / clkTck, nil
}
