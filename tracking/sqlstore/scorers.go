package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dawn-ml/dawn/tracking"
)

func scorerNotFound(name, exp string) error {
	return tracking.NotFoundf("Scorer with name '%s' not found for experiment %s.", name, exp)
}

func scorerVersionNotFound(name string, version int64, exp string) error {
	return tracking.NotFoundf("Scorer with name '%s' and version %d not found for experiment %s.", name, version, exp)
}

// scorerID returns the id of the experiment's scorer of that name.
func (s *Store) scorerID(ctx context.Context, db queryer, exp int64, name string) (string, bool, error) {
	var id string
	err := db.QueryRowContext(ctx, s.q(`SELECT scorer_id FROM scorers WHERE experiment_id = ? AND name = ?`), exp, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sqlstore: scorer %q: %w", name, err)
	}
	return id, true, nil
}

// RegisterScorer adds the next version of a scorer.
func (s *Store) RegisterScorer(ctx context.Context, experimentID, name, serialized string) (*tracking.ScorerVersion, error) {
	exp, _, err := s.activeExperiment(ctx, experimentID)
	if err != nil {
		return nil, err
	}
	v := tracking.ScorerVersion{ExperimentID: experimentID, Name: name, Serialized: serialized, CreationTime: nowMillis()}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		id, ok, err := s.scorerID(ctx, tx, exp, name)
		if err != nil {
			return err
		}
		if !ok {
			id = uuidString()
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO scorers (scorer_id, experiment_id, name) VALUES (?, ?, ?)`), id, exp, name); err != nil {
				return fmt.Errorf("sqlstore: create scorer %q: %w", name, err)
			}
		}
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT MAX(version) FROM scorer_versions WHERE scorer_id = ?`), id).Scan(&max); err != nil {
			return fmt.Errorf("sqlstore: scorer %q versions: %w", name, err)
		}
		v.ScorerID, v.Version = id, max.Int64+1
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO scorer_versions (scorer_id, version, serialized, creation_time) VALUES (?, ?, ?, ?)`),
			id, v.Version, serialized, v.CreationTime); err != nil {
			return fmt.Errorf("sqlstore: scorer %q version %d: %w", name, v.Version, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (s *Store) queryScorers(ctx context.Context, experimentID, where string, args ...any) ([]tracking.ScorerVersion, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT s.scorer_id, s.name, v.version, v.serialized, v.creation_time
		FROM scorers s JOIN scorer_versions v ON v.scorer_id = s.scorer_id WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: scorers: %w", err)
	}
	defer rows.Close()
	var out []tracking.ScorerVersion
	for rows.Next() {
		v := tracking.ScorerVersion{ExperimentID: experimentID}
		if err := rows.Scan(&v.ScorerID, &v.Name, &v.Version, &v.Serialized, &v.CreationTime); err != nil {
			return nil, fmt.Errorf("sqlstore: scorers: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: scorers: %w", err)
	}
	return out, nil
}

// ListScorers returns the latest version of each of the experiment's scorers.
func (s *Store) ListScorers(ctx context.Context, experimentID string) ([]tracking.ScorerVersion, error) {
	exp, _, err := s.activeExperiment(ctx, experimentID)
	if err != nil {
		return nil, err
	}
	return s.queryScorers(ctx, experimentID, `s.experiment_id = ? AND v.version = (SELECT MAX(w.version) FROM scorer_versions w WHERE w.scorer_id = s.scorer_id) ORDER BY s.name`, exp)
}

// ListScorerVersions returns every version of a scorer, oldest first.
func (s *Store) ListScorerVersions(ctx context.Context, experimentID, name string) ([]tracking.ScorerVersion, error) {
	exp, _, err := s.activeExperiment(ctx, experimentID)
	if err != nil {
		return nil, err
	}
	vs, err := s.queryScorers(ctx, experimentID, `s.experiment_id = ? AND s.name = ? ORDER BY v.version`, exp, name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, scorerNotFound(name, experimentID)
	}
	return vs, nil
}

// GetScorer returns one version of a scorer, the latest when version is nil.
func (s *Store) GetScorer(ctx context.Context, experimentID, name string, version *int64) (*tracking.ScorerVersion, error) {
	exp, _, err := s.activeExperiment(ctx, experimentID)
	if err != nil {
		return nil, err
	}
	var vs []tracking.ScorerVersion
	if version != nil {
		vs, err = s.queryScorers(ctx, experimentID, `s.experiment_id = ? AND s.name = ? AND v.version = ?`, exp, name, *version)
	} else {
		vs, err = s.queryScorers(ctx, experimentID, `s.experiment_id = ? AND s.name = ? ORDER BY v.version DESC LIMIT 1`, exp, name)
	}
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		if _, ok, err := s.scorerID(ctx, s.r, exp, name); err != nil {
			return nil, err
		} else if ok && version != nil {
			return nil, scorerVersionNotFound(name, *version, experimentID)
		}
		return nil, scorerNotFound(name, experimentID)
	}
	return &vs[0], nil
}

// DeleteScorer deletes one version, or the whole scorer when version is nil.
func (s *Store) DeleteScorer(ctx context.Context, experimentID, name string, version *int64) error {
	exp, _, err := s.activeExperiment(ctx, experimentID)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, ok, err := s.scorerID(ctx, tx, exp, name)
		if err != nil {
			return err
		}
		if !ok {
			return scorerNotFound(name, experimentID)
		}
		if version != nil {
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM scorer_versions WHERE scorer_id = ? AND version = ?`), id, *version)
			if err != nil {
				return fmt.Errorf("sqlstore: delete scorer %q version %d: %w", name, *version, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return scorerVersionNotFound(name, *version, experimentID)
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM scorer_versions WHERE scorer_id = ?`), id)
		if err != nil {
			return fmt.Errorf("sqlstore: delete scorer %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return scorerNotFound(name, experimentID)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM scorers WHERE scorer_id = ?`), id); err != nil {
			return fmt.Errorf("sqlstore: delete scorer %q: %w", name, err)
		}
		return nil
	})
}

// uuidString is a random version 4 UUID with dashes, as MLflow's scorer ids.
func uuidString() string {
	h := newID()
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
