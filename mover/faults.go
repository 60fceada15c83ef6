package mover

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points between the statements of a move, an evacuation, an import and an export
// that change a server or the catalog (see package fault).
var (
	// move.<step>.before-record: the step's server work done, the step not recorded;
	// move.<step>.after-record: the step recorded, the next not started. Registered in
	// init for every step of both methods (before-record only where the step changes a
	// server).
	fpMoveStepDone     = map[string]*fault.Point{}
	fpMoveStepRecorded = map[string]*fault.Point{}

	fpMoveResumeLogin  = fault.Register("move.resumed.after-login", "moved tenant's app role may log in on the target, the source copy not yet closed")
	fpMoveSourceDrop   = fault.Register("move.source.after-drop", "source copy of a switched move dropped, move not yet done")
	fpMovePublished    = fault.Register("move.subscribed.after-publication", "logical: target schema restored and source publishing, no subscription yet")
	fpMoveUnsubscribed = fault.Register("move.replication.after-drop-subscription", "logical: subscription dropped on the target, slots and publication remain on the source")
	fpRollbackTarget   = fault.Register("move.rollback.after-target", "rollback: target copy dropped, source login not restored, move still open")
	fpRollbackSource   = fault.Register("move.rollback.after-source", "rollback: source login restored, move still open in the catalog")
	fpMoveSettled      = fault.Register("move.reconcile.after-settle", "reconcile settled one interrupted move (use :N)")

	fpEvacuateDraining = fault.Register("evacuate.after-drain", "server marked draining, no tenant moved")
	fpEvacuateMoved    = fault.Register("evacuate.after-move", "one tenant of an evacuation moved, others not (use :N)")

	fpImportInserted    = fault.Register("import.after-insert", "imported tenant recorded (state importing), nothing on the server")
	fpImportCredentials = fault.Register("import.after-credentials", "imported tenant's app password stored, no role")
	fpImportStep        = map[string]*fault.Point{}
	fpImportDatabase    = fault.Register("import.after-create-database", "empty database made for the restore, nothing restored")
	fpImportMigrated    = fault.Register("import.after-migrate", "restored database migrated, not hardened again")
	fpImportLogin       = fault.Register("import.after-login", "imported tenant's app role may log in, tenant still importing")
	fpImportUndone      = fault.Register("import.undo.after-drop", "failed or interrupted import's database and roles dropped, tenant not yet purged")

	fpExportWritten = fault.Register("export.after-file", "export archive renamed into place, export event not written")

	fpLogicalWritten  = fault.Register("backup.logical.after-file", "logical backup archive of one tenant renamed into place, not yet recorded (use :N)")
	fpLogicalRecorded = fault.Register("backup.logical.after-record", "logical backup of one tenant recorded, older files not yet removed (use :N)")
	fpLogicalRemoved  = fault.Register("backup.logical.after-remove", "an expired logical backup file removed, not yet marked removed")

	// restore.<step>.before-record / after-record: as for moves, for in-place restores.
	fpRestoreStepDone        = map[string]*fault.Point{}
	fpRestoreStepRecorded    = map[string]*fault.Point{}
	fpRestoreKeptDropped     = fault.Register("restore.kept.after-drop", "kept copy of a switched restore dropped, restore not yet done")
	fpRestoreRollbackDropped = fault.Register("restore.rollback.after-drop", "rollback: partial restored copy dropped, current database still under its kept name")
	fpRestoreRollbackRenamed = fault.Register("restore.rollback.after-rename", "rollback: current database has its name back, grants and login not restored")
)

// restoreServerSteps are the in-place restore steps that change a server (or the
// scratch instance) before they are recorded.
var restoreServerSteps = map[string]bool{
	RestoreScratch: true, RestoreSuspended: true, RestoreRenamed: true, RestoreCopied: true, RestoreHardened: true, RestoreResumed: true,
}

// serverSteps are the move steps that change a server before they are recorded.
var serverSteps = map[string]bool{
	StepSuspended: true, StepTargetRoles: true, StepCopied: true, StepHardened: true, StepResumed: true,
	StepSubscribed: true, StepCaughtUp: true, StepDetached: true,
}

func init() {
	for _, steps := range [][]string{moveSteps, logicalSteps} {
		for _, s := range steps {
			if fpMoveStepRecorded[s] != nil {
				continue
			}
			fpMoveStepRecorded[s] = fault.Register("move."+s+".after-record", "move step "+s+" recorded, next step not started (use :N)")
			if serverSteps[s] {
				fpMoveStepDone[s] = fault.Register("move."+s+".before-record", "move step "+s+" done on the servers, not recorded (use :N)")
			}
		}
	}
	for _, s := range restoreSteps {
		fpRestoreStepRecorded[s] = fault.Register("restore."+s+".after-record", "restore step "+s+" recorded, next step not started")
		if restoreServerSteps[s] {
			fpRestoreStepDone[s] = fault.Register("restore."+s+".before-record", "restore step "+s+" done, not recorded")
		}
	}
	for _, s := range []string{StepImportRoles, StepImportRestored, StepImportHardened, StepImportMigrated} {
		fpImportStep[s] = fault.Register("import."+s+".after-record", "import step "+s+" recorded, next step not started")
	}
}

// hit hits p if there is one (steps without a before-record point have none).
func hit(p *fault.Point) {
	if p != nil {
		p.Hit()
	}
}
