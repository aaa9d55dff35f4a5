#pragma once

// Writes one Batch into an open write transaction. Internal to state/: Store::apply owns the
// transaction, the retry on a full map and the commit.

#include "conflict/codec.h"
#include "conflict/result.h"
#include "state/lmdb.h"
#include "state/store.h"
#include "state/tables.h"

namespace tandem::state {

// Records and shadows are written in format 3, their names numbered in `names`.
Result<Applied> applyBatch(lmdb::WriteTxn& txn, const Tables& tables, const Batch& batch,
                           conflict::NameTable& names);

}  // namespace tandem::state
