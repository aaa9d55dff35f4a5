#pragma once

// Writes one Batch into an open write transaction. Internal to state/: Store::apply owns the
// transaction, the retry on a full map and the commit.

#include "conflict/result.h"
#include "state/lmdb.h"
#include "state/store.h"
#include "state/tables.h"

namespace tandem::state {

Result<Applied> applyBatch(lmdb::WriteTxn& txn, const Tables& tables, const Batch& batch);

}  // namespace tandem::state
