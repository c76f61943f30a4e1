package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dawn-ml/dawn/recommend"
	"github.com/dawn-ml/dawn/recommend/live"
)

// serveRecommender serves a recommender directory with package live:
// POST /recommend, /similar, /interactions, /retrain. Interactions go to
// logPath (default DIR/../NAME.interactions.csv) before they are
// acknowledged.
func serveRecommender(ctx context.Context, log *slog.Logger, m *recommend.Model, dir, addr, logPath string, retrain time.Duration) error {
	if logPath == "" {
		clean := filepath.Clean(dir)
		logPath = filepath.Join(filepath.Dir(clean), filepath.Base(clean)+".interactions.csv")
	}
	s, err := live.New(m, live.Options{LogPath: logPath, RetrainEvery: retrain, Version: version, Logger: log})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving recommender", "model", dir, "algorithm", m.Params.Algorithm, "users", len(m.Users), "items", m.NItems(),
		"interaction_log", logPath, "addr", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
