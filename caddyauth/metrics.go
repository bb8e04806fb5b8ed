package caddyauth

import (
	"errors"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/funcauth/funcauth"
)

// metrics counts decisions by outcome and reason. The collectors are made
// once and registered in each configuration's registry, so counts carry
// across reloads.
type metrics struct {
	decisions   *prometheus.CounterVec
	bans        *prometheus.CounterVec
	storeErrors prometheus.Counter
}

var (
	metricsOnce sync.Once
	collectors  *metrics
)

func registerMetrics(ctx caddy.Context) *metrics {
	metricsOnce.Do(func() {
		collectors = &metrics{
			decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "funcauth",
				Name:      "decisions_total",
				Help:      "Requests checked by funcauth, by outcome (allowed or refused) and reason code.",
			}, []string{"outcome", "reason"}),
			bans: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "funcauth",
				Name:      "bans_total",
				Help:      "Bans started by funcauth, by what was banned (client or user).",
			}, []string{"kind"}),
			storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
				Namespace: "funcauth",
				Name:      "store_errors_total",
				Help:      "Requests whose call to the shared store (Redis) failed or was skipped during an outage, and followed the store's on_error policy.",
			}),
		}
	})
	registry := ctx.GetMetricsRegistry()
	if registry == nil {
		return collectors
	}
	for _, c := range []prometheus.Collector{collectors.decisions, collectors.bans, collectors.storeErrors} {
		if err := registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				ctx.Logger().Warn("registering funcauth metrics", zap.Error(err))
			}
		}
	}
	return collectors
}

func (m *metrics) observe(d *funcauth.Decision) {
	outcome := "refused"
	if d.Allowed {
		outcome = "allowed"
	}
	m.decisions.WithLabelValues(outcome, string(d.Reason)).Inc()
	if d.BannedClient != "" {
		m.bans.WithLabelValues("client").Inc()
	}
	if d.BannedUser != "" {
		m.bans.WithLabelValues("user").Inc()
	}
	if d.StoreFailed() {
		m.storeErrors.Inc()
	}
}
