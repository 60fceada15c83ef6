// Package deploy holds tenantctl's deployment files — Kubernetes manifests
// (deploy/kubernetes), systemd units (deploy/systemd), docker compose init scripts
// (deploy/compose) — and the tests that keep them consistent with the binary.
//
// It has no code of its own; nothing imports it.
package deploy
