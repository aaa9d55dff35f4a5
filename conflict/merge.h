#pragma once

// The merge step (DESIGN.md "When system s reports a record"): one report from one system,
// merged field by field into the canonical record with per-field version vectors.
//
// Pure and cheap: no I/O, no global state; time, the actor clock and the conflict id sequence
// are injected through MergeContext, and the record and shadows are updated in place. The agent
// calls mergeReport() for each reported record of a batch, then writes the record, the shadows,
// the outbox entries (see push.h) and the conflict entries in one LMDB transaction, together
// with the clock and the conflict sequence it passed in.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conflict/field_map.h"
#include "conflict/policy.h"
#include "conflict/record.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "conflict/version_vector.h"

namespace tandem::conflict {

// What a system reported about one record, already mapped to canonical fields.
struct Report {
  ActorId system = 0;
  FieldMap<Value> fields;       // only the fields the system's mapping reads
  std::optional<bool> deleted;  // deleted/archived flag, when the system reports one
  int64_t source_ts_ms = 0;     // the system's updated time for the record
  std::string version_token;    // ETag / SyncToken / version, "" where the API has none
};

// A configured system and the canonical fields its mapping writes.
struct SystemSpec {
  ActorId id = 0;
  std::vector<std::string> fields;  // sorted; empty means every field
  bool maps(std::string_view field) const;
};

// Everything the merge reads and updates for one record. For a record seen the first time pass
// a Record with only id and entity set. shadows[a] is system a's shadow; none for a system that
// has never held the record.
struct RecordState {
  Record record;
  std::array<std::optional<Shadow>, kMaxActors> shadows;
};

struct MergeContext {
  const EntityPolicy& policy;
  ActorClock& clock;  // ticks for the reporting system and the agent; persist after the batch
  int64_t now_ms = 0;
  ActorId agent = 0;
  std::span<const SystemSpec> systems;  // every configured system of this entity
  uint64_t& conflict_seq;  // last conflict id handed out; a new entry takes ++conflict_seq
};

struct MergeResult {
  bool changed = false;          // the record or a shadow changed: write them back
  std::vector<ActorId> push_to;  // systems whose shadow now differs from the canonical record
  std::vector<ConflictEntry> new_conflicts;  // complete entries with fresh ids: put them
  // Additions to stored entries (same id): fold each into the stored one with amendConflict().
  // Three systems editing one field at once give one entry listing all three sides (case 7).
  std::vector<ConflictEntry> amendments;
};

// Oscillation (CONVERGENCE.md case 3): a field whose value flips back to the previous one more
// than kMaxFlips times within kFlipWindowMs of agent time is frozen with an open conflict.
inline constexpr uint32_t kMaxFlips = 4;
inline constexpr int64_t kFlipWindowMs = 60'000;

// Merges report into state. Errors only for a report the context cannot place (unknown system).
Result<MergeResult> mergeReport(RecordState& state, const Report& report, const MergeContext& ctx);

// Whether merging the report would take a value from it as a change made in the system: a field
// (or the deleted state) that differs from what tandem believes the system holds, is none of the
// writes tandem sent there, and is not the canonical value either. A report read before tandem's
// own write to the record was answered may show what that write replaced: such a report must not
// be merged while this is true (the caller reads the record again instead).
bool reportChangesRecord(const RecordState& state, const Report& report);

// Whether the report shows exactly what `shadow` (its system's) holds: every reported field and
// the deleted state with the hash held, at an updated time not older. Merging it then changes
// nothing but the shadow's updated time and version token (refreshShadow), whatever the record
// and the other systems hold: an echo of tandem's own write, or a re-read of an unchanged record.
bool reportOnlyRefreshes(const Shadow& shadow, const Report& report);
// What mergeReport does with such a report. True when the shadow changed.
bool refreshShadow(Shadow& shadow, const Report& report);

// Folds an amendment from MergeResult::amendments into the stored entry with the same id: adds
// the sides it does not have yet and takes the amendment's outcome and open flag.
void amendConflict(ConflictEntry& stored, const ConflictEntry& amendment);

}  // namespace tandem::conflict
