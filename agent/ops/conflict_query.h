#pragma once

// Conflict listing with filters, shared by GET /v1/conflicts and `tandem conflicts list`: both
// read the store directly (a read snapshot; LMDB lets other processes read while the agent
// writes).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conflict/record.h"
#include "conflict/result.h"
#include "state/store.h"

namespace tandem::agent::ops {

struct ConflictQuery {
  bool all = false;    // false: open ones only
  std::string record;  // "" = any
  std::string field;   // "" = any
  uint64_t after = 0;  // ids greater than this (paging)
  size_t limit = 100;
};

inline constexpr size_t kMaxConflictLimit = 1000;

struct ConflictPage {
  std::vector<conflict::ConflictEntry> entries;  // in id (= creation time) order
  std::optional<uint64_t> next_after;            // set when more may follow
};

Result<ConflictPage> queryConflicts(const state::Snapshot& snap, const ConflictQuery& query);

}  // namespace tandem::agent::ops
