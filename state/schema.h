#pragma once

// Schema version and migrations. The version lives in meta["schema_version"] (a varint).
// A fresh store is stamped with kSchemaVersion; an older one runs kMigrations[v] for each
// version v below kSchemaVersion (migrating v -> v+1), all in the opening transaction; a
// newer one is refused, never overwritten.

#include <cstdint>
#include <span>
#include <string>

#include "conflict/result.h"
#include "state/tables.h"

namespace tandem::state {

using Migration = Status (*)(lmdb::WriteTxn& txn, const Tables& tables);

struct MigrationStep {
  uint32_t from;  // migrates a store at version `from` to `from + 1`
  Migration run;
};

// The migrations of this build.
std::span<const MigrationStep> migrations();

// Brings the store in `txn` to kSchemaVersion with `steps`, or explains why it cannot.
Status checkSchema(lmdb::WriteTxn& txn, const Tables& tables, const std::string& dir,
                   std::span<const MigrationStep> steps = migrations());

}  // namespace tandem::state
