package store

import (
	"context"
	"database/sql"
	"errors"
)

// MaxMonitorState bounds the state document of one monitored plan.
const MaxMonitorState = 64 << 10

// MonitorState returns the state document `stampede monitor` keeps for
// plan, or nil when it has none yet.
func (s *Store) MonitorState(ctx context.Context, plan string) ([]byte, error) {
	var doc string
	err := queryRow(ctx, s.db, `SELECT doc FROM monitor_state WHERE plan = $1`, []any{plan}, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapf(err, "cannot read the monitor state of plan %q from %s", plan, s.location)
	}
	return []byte(doc), nil
}

// SetMonitorState replaces plan's monitor state document.
func (s *Store) SetMonitorState(ctx context.Context, plan string, doc []byte) error {
	if len(doc) > MaxMonitorState {
		return errors.New("monitor state larger than 64 KiB")
	}
	_, err := s.db.exec(ctx, `INSERT INTO monitor_state (plan, doc, updated_us) VALUES ($1, $2, $3)
ON CONFLICT (plan) DO UPDATE SET doc = excluded.doc, updated_us = excluded.updated_us`, plan, string(doc), s.now().UnixMicro())
	return wrapf(err, "cannot save the monitor state of plan %q in %s", plan, s.location)
}
