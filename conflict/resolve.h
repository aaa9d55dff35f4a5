#pragma once

// Manual resolution of a conflict (CONVERGENCE.md case 23): someone picks a value (one side's
// or a new one) from the CLI or the admin API. The field takes it with a version vector that
// dominates every side and every system's knowledge, plus a tick of the agent, so it wins
// everywhere; the conflict is closed and the field is no longer held.

#include <string>
#include <vector>

#include "conflict/merge.h"

namespace tandem::conflict {

struct ResolveResult {
  std::vector<ActorId> push_to;  // systems whose shadow now differs from the canonical record
};

// Resolves `entry` (the stored, open entry about state.record) with `chosen`. For a delete
// conflict (field kDeleteField) chosen is a bool: true keeps the record deleted. Updates the
// record and the entry in place; the caller writes both, the clock and the outbox entries.
Result<ResolveResult> resolveConflict(RecordState& state, ConflictEntry& entry, const Value& chosen,
                                      std::string note, const MergeContext& ctx);

}  // namespace tandem::conflict
