package store

import (
	"strings"
	"testing"
)

// conformance is the suite both stores pass: every test here runs on
// SQLite as itself, and on PostgreSQL under TestPostgres. A test is left
// out only for what one store alone has (SQLite's pragmas, files and
// migrations from its older schemas; a restart's meaning, which differs
// with replicas: see TestPostgresLeases).
var conformance = []struct {
	name string
	fn   func(*testing.T)
}{
	{"AddDeliveryDedupes", TestAddDeliveryDedupes},
	{"AddDeliveryConcurrentDuplicates", TestAddDeliveryConcurrentDuplicates},
	{"ClaimDeliveryOrderAndFinish", TestClaimDeliveryOrderAndFinish},
	{"FinishDeliveryGivesUpAfterMaxAttempts", TestFinishDeliveryGivesUpAfterMaxAttempts},
	{"ConcurrentClaimsNeverShareARow", TestConcurrentClaimsNeverShareARow},
	{"PruneDeliveries", TestPruneDeliveries},
	{"FlakyTests", TestFlakyTests},
	{"HeadsFirstSeenAndApproved", TestHeadsFirstSeenAndApproved},
	{"LandingsAreDurableUntilEnded", TestLandingsAreDurableUntilEnded},
	{"RunFiltersAndPages", TestRunFiltersAndPages},
	{"RunStep", TestRunStep},
	{"WaitingChangesets", TestWaitingChangesets},
	{"ReportsReplaceAndAreSentOnce", TestReportsReplaceAndAreSentOnce},
	{"FinishRunRecordsItsReportsOrNothing", TestFinishRunRecordsItsReportsOrNothing},
	{"CheckRunRecords", TestCheckRunRecords},
	{"EnqueueRunCoalescesWithinWindow", TestEnqueueRunCoalescesWithinWindow},
	{"ClaimRunOrderAndSameKeyExclusion", TestClaimRunOrderAndSameKeyExclusion},
	{"FinishAndCancelRun", TestFinishAndCancelRun},
	{"RunQueries", TestRunQueries},
	{"RunLogs", TestRunLogs},
	{"EnqueueRunCoalescingIsBounded", TestEnqueueRunCoalescingIsBounded},
	{"PruneRunsKeepsTheNewestOfEachChangeset", TestPruneRunsKeepsTheNewestOfEachChangeset},
	{"AllTestsSticksToACoalescedRun", TestAllTestsSticksToACoalescedRun},
	{"ClosedStore", TestClosedStore},
	{"MetaAndComments", TestMetaAndComments},
	{"TriggerQueuesHeldAndSupersedesOtherHeads", TestTriggerQueuesHeldAndSupersedesOtherHeads},
	{"TriggerNeverCancelsTheHeadsItWouldBuild", TestTriggerNeverCancelsTheHeadsItWouldBuild},
	{"CancelStopsTheRunsDecided", TestCancelStopsTheRunsDecided},
	{"ClaimNameExcludesOtherOwners", TestClaimNameExcludesOtherOwners},
	{"LeasesReturnADeadReplicasWork", TestLeasesReturnADeadReplicasWork},
	{"LeasesAreRenewed", TestLeasesAreRenewed},
	{"PruneIsOneReplicaAtATime", TestPruneIsOneReplicaAtATime},
	{"StoresOpenTogether", TestStoresOpenTogether},
	{"DispatchResultOnce", TestDispatchResultOnce},
	{"RetryDispatch", TestRetryDispatch},
}

// TestPostgres runs the conformance suite on PostgreSQL.
func TestPostgres(t *testing.T) {
	for _, c := range conformance {
		t.Run(c.name, c.fn)
	}
}

func onPostgres(t *testing.T) bool { return strings.HasPrefix(t.Name(), "TestPostgres/") }
