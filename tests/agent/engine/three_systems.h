#pragma once

// The engine configuration of the engine tests and bench_engine_load: one entity, "customer",
// synced between the CRM, the ERP and finance (actors 1 to 3, the agent 0), each mapping
// `fields`, new records matched by email. No gtest here: benchmarks include it too.

#include <string>
#include <utility>
#include <vector>

#include "agent/engine/engine.h"

namespace tandem::engine::testing {

inline constexpr ActorId kAgent = 0;
inline constexpr ActorId kCrm = 1;
inline constexpr ActorId kErp = 2;
inline constexpr ActorId kFin = 3;

inline EngineConfig threeSystems(const std::vector<std::string>& fields,
                                 conflict::EntityPolicy policy = {}) {
  EngineConfig c;
  c.agent = kAgent;
  EntityConfig e;
  e.name = "customer";
  e.policy = std::move(policy);
  for (ActorId s : {kCrm, kErp, kFin}) {
    e.systems.push_back(conflict::SystemSpec{s, fields});
  }
  e.match_keys = {"email"};
  c.entities.push_back(std::move(e));
  c.id_seed = 7;
  return c;
}

}  // namespace tandem::engine::testing
