package catalog

import (
	"context"

	"github.com/jackc/pgerrcode"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// RotatedOwnerPassword returns the owner password a rotation put in force since used
// was read: the pending one while the rotation has not promoted it yet, else the
// promoted one (read in that order, so a promotion in between is not missed).
func (s *Store) RotatedOwnerPassword(ctx context.Context, tenantID, used string) (string, bool) {
	for _, name := range []string{OwnerCredential + "_pending", OwnerCredential} {
		if pw, err := s.Credential(ctx, tenantID, name); err == nil && pw != used {
			return pw, true
		}
	}
	return "", false
}

// LoginAsOwner calls login with the tenant owner's password pw, read from the catalog
// beforehand. When the server refuses it (28P01) because a concurrent
// rotate-credentials set the owner's new password between that read and the login, it
// calls login once more with the password the rotation put in force (see
// [Store.RotatedOwnerPassword]). An empty pw (a tenant not yet converted to owner
// logins) is passed as is, never retried.
func LoginAsOwner[T any](ctx context.Context, s *Store, tenantID, pw string, login func(pw string) (T, error)) (T, error) {
	v, err := login(pw)
	if err == nil || pw == "" || !dbconn.HasCode(err, pgerrcode.InvalidPassword) {
		return v, err
	}
	if next, ok := s.RotatedOwnerPassword(ctx, tenantID, pw); ok {
		return login(next)
	}
	return v, err
}
