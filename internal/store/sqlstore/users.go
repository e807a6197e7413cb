package sqlstore

import (
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

const userCols = `id, email, password_hash, disabled, created_at`

func (t *tx) CreateUser(u *keyward.User) error {
	_, err := t.exec(`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.PasswordHash, u.Disabled, ts(u.CreatedAt))
	return conflict(err, "a user with email %s already exists", u.Email)
}

func (t *tx) getUser(where string, arg any) (*keyward.User, error) {
	u := &keyward.User{}
	var created int64
	err := t.queryRow(`SELECT `+userCols+` FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Disabled, &created)
	u.CreatedAt = fromTS(created)
	return u, one(err, "user")
}

func (t *tx) GetUser(id string) (*keyward.User, error) { return t.getUser(`id = ?`, id) }

func (t *tx) GetUserByEmail(email string) (*keyward.User, error) {
	return t.getUser(`email = ?`, email)
}

func (t *tx) UpdateUser(u *keyward.User) error {
	res, err := t.exec(`UPDATE users SET email = ?, password_hash = ?, disabled = ? WHERE id = ?`,
		u.Email, u.PasswordHash, u.Disabled, u.ID)
	return affected(res, conflict(err, "a user with email %s already exists", u.Email), "user")
}

func (t *tx) DeleteUser(id string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE principal_kind = ? AND principal_id = ?`, string(keyward.KindUser), id); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM users WHERE id = ?`, id)
	return affected(res, err, "user")
}

func (t *tx) CreateSession(s *keyward.Session) error {
	_, err := t.exec(`INSERT INTO sessions (id, token_hash, user_id, account_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.ID, s.TokenHash, s.UserID, s.AccountID, ts(s.CreatedAt), ts(s.ExpiresAt))
	return err
}

func (t *tx) GetSessionByTokenHash(hash []byte) (*keyward.Session, error) {
	s := &keyward.Session{}
	var created, expires int64
	err := t.queryRow(`SELECT id, token_hash, user_id, account_id, created_at, expires_at FROM sessions WHERE token_hash = ?`, hash).
		Scan(&s.ID, &s.TokenHash, &s.UserID, &s.AccountID, &created, &expires)
	s.CreatedAt, s.ExpiresAt = fromTS(created), fromTS(expires)
	return s, one(err, "session")
}

func (t *tx) DeleteSession(id string) error {
	res, err := t.exec(`DELETE FROM sessions WHERE id = ?`, id)
	return affected(res, err, "session")
}

func (t *tx) DeleteExpiredSessions(now time.Time) (int, error) {
	res, err := t.exec(`DELETE FROM sessions WHERE expires_at < ?`, ts(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
