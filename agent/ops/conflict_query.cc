#include "agent/ops/conflict_query.h"

#include <algorithm>

namespace tandem::agent::ops {

namespace {

// Upper bound of entries one listing scans (the store has no secondary index by field).
constexpr size_t kScanLimit = 100000;

}  // namespace

Result<ConflictPage> queryConflicts(const state::Snapshot& snap, const ConflictQuery& query) {
  std::vector<conflict::ConflictEntry> candidates;
  if (!query.record.empty()) {
    TANDEM_ASSIGN_OR_RETURN(candidates, snap.conflictsOfRecord(query.record));
  } else if (query.all) {
    TANDEM_ASSIGN_OR_RETURN(candidates, snap.conflicts(query.after + 1, kScanLimit));
  } else {
    TANDEM_ASSIGN_OR_RETURN(candidates, snap.openConflicts(kScanLimit));
  }
  std::erase_if(candidates, [&](const conflict::ConflictEntry& e) {
    return e.id <= query.after || (!query.all && !e.open) ||
           (!query.field.empty() && e.field != query.field);
  });
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  ConflictPage page;
  if (candidates.size() > query.limit) {
    candidates.resize(query.limit);
    page.next_after = candidates.empty() ? query.after : candidates.back().id;
  }
  page.entries = std::move(candidates);
  return page;
}

}  // namespace tandem::agent::ops
