#pragma once

// The data the merge core reasons about and the store keeps: the canonical record (per field:
// value, version vector, source), each system's shadow of it (what that system holds and
// knows), and conflict-log entries. See DESIGN.md "Merge core".

#include <cstdint>
#include <string>
#include <vector>

#include "conflict/field_map.h"
#include "conflict/value.h"
#include "conflict/version_vector.h"

namespace tandem::conflict {

using RecordId = std::string;

struct FieldState {
  Value value;
  VersionVector vv;            // C(f)
  ActorId source = 0;          // system (or the agent) that made the last change
  int64_t source_ts_ms = 0;    // that system's timestamp for the change
  uint64_t open_conflict = 0;  // id of an open conflict holding this field (manual, frozen), or 0
  // Id of the conflict whose outcome the field holds, until a later change replaces it: a
  // further concurrent edit of the same value joins that entry (one entry for three sides).
  uint64_t last_conflict = 0;
  // Oscillation tracking (CONVERGENCE.md case 3): hash of the value before the current one,
  // how many times the value flipped back to it, and the source time the window started.
  uint64_t prev_hash = 0;
  uint32_t flips = 0;
  int64_t flip_window_start_ms = 0;

  bool operator==(const FieldState&) const = default;
};

struct Tombstone {
  bool deleted = false;
  VersionVector vv;  // its own clock: a delete is an edit of this pseudo-field
  ActorId source = 0;
  int64_t ts_ms = 0;
  uint64_t open_conflict = 0;  // id of an open delete conflict holding the record (manual), or 0

  bool operator==(const Tombstone&) const = default;
};

struct Record {
  RecordId id;
  std::string entity;
  FieldMap<FieldState> fields;
  Tombstone tombstone;

  bool operator==(const Record&) const = default;
};

// A value tandem has queued for a system but not yet seen that system report back.
struct PendingWrite {
  uint64_t hash = 0;
  VersionVector vv;

  bool operator==(const PendingWrite&) const = default;
};

struct ShadowField {
  uint64_t hash = 0;  // xxHash3-64 of the value the system holds (Value::hash)
  VersionVector vv;   // V_s(f): what the system's value has seen
  std::vector<PendingWrite> pending;

  bool operator==(const ShadowField&) const = default;
};

// What one system holds of one record, as far as tandem knows.
struct Shadow {
  FieldMap<ShadowField> fields;
  ShadowField tombstone;      // hash of Value::boolean(deleted/archived) in that system
  std::string version_token;  // last ETag / SyncToken / version seen, "" where the API has none
  int64_t source_ts_ms = 0;   // the system's last updated time seen for this record

  bool operator==(const Shadow&) const = default;
};

enum class PolicyKind : uint8_t { Lww = 0, Prefer = 1, Manual = 2, Max = 3, Min = 4, Union = 5 };
const char* policyName(PolicyKind p);

struct ConflictSide {
  ActorId system = 0;
  Value value;
  VersionVector vv;
  int64_t ts_ms = 0;

  bool operator==(const ConflictSide&) const = default;
};

// The field name of a conflict about deletion rather than a field.
inline constexpr const char* kDeleteField = "$deleted";

struct ConflictEntry {
  uint64_t id = 0;  // assigned by the store, increasing
  RecordId record;
  std::string entity;
  std::string field;
  std::vector<ConflictSide> sides;
  PolicyKind policy = PolicyKind::Lww;
  Value outcome;
  VersionVector outcome_vv;
  bool open = false;
  int64_t created_ms = 0;
  int64_t resolved_ms = 0;
  std::string note;  // e.g. "frozen: value oscillated 5 times in 60 s", "resolved by alice"

  bool operator==(const ConflictEntry&) const = default;
};

}  // namespace tandem::conflict
