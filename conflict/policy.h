#pragma once

// Conflict policies: how the merge settles two concurrent values of one field, and a delete
// concurrent with an update. Pure functions over two candidates; every outcome is a total order
// on (value, system, timestamp), so it never depends on the order reports were delivered in.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "conflict/field_map.h"
#include "conflict/record.h"
#include "conflict/value.h"
#include "conflict/version_vector.h"

namespace tandem::conflict {

struct PolicySpec {
  PolicyKind kind = PolicyKind::Lww;
  std::vector<ActorId> prefer;  // Prefer: systems of record, strongest first
};

enum class DeletePolicy : uint8_t { UpdateWins = 0, DeleteWins = 1, Prefer = 2, Manual = 3 };
const char* deletePolicyName(DeletePolicy p);

struct EntityPolicy {
  PolicySpec defaults;          // for fields without their own spec
  FieldMap<PolicySpec> fields;  // per-field overrides
  DeletePolicy on_delete_conflict = DeletePolicy::UpdateWins;
  std::vector<ActorId> delete_prefer;  // DeletePolicy::Prefer: the first listed side wins
  std::vector<ActorId> priority;       // lww tie-break, strongest first; unlisted after, by id

  const PolicySpec& forField(std::string_view name) const {
    const PolicySpec* p = fields.find(name);
    return p != nullptr ? *p : defaults;
  }
};

// One side of a concurrent edit as a policy sees it.
struct Candidate {
  const Value* value = nullptr;
  ActorId system = 0;
  int64_t ts_ms = 0;  // the source system's timestamp of the edit
};

struct PolicyOutcome {
  enum class Pick : uint8_t { First, Second, Merged, Held };
  Pick pick = Pick::First;
  Value merged;  // the new value when pick == Merged (union)
};

// Settles a against b under `spec`. Symmetric: swapping a and b swaps First/Second only.
PolicyOutcome applyPolicy(const PolicySpec& spec, const EntityPolicy& entity, const Candidate& a,
                          const Candidate& b);

// lww order: later timestamp wins; ties by the priority list, then by lower actor id, then by
// value hash. True when a beats b.
bool lwwBeats(const EntityPolicy& entity, const Candidate& a, const Candidate& b);

enum class DeleteOutcome : uint8_t { UpdateWins, DeleteWins, Held };

// A delete by `deleter` concurrent with updates by `updaters`.
DeleteOutcome applyDeletePolicy(const EntityPolicy& entity, ActorId deleter,
                                std::span<const ActorId> updaters);

}  // namespace tandem::conflict
