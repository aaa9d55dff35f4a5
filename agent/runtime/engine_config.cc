// buildEngineConfig: the engine's view of a configuration (actors, policies, match keys).

#include <algorithm>
#include <map>

#include "agent/runtime/agent.h"
#include "agent/runtime/names.h"
#include "mappers/mapper.h"

namespace tandem::agent::runtime {

namespace {

// Actor ids of `names`, registering the new ones in the store (ids are never re-bound; an actor
// whose system left the configuration keeps its id).
Result<std::map<std::string, conflict::ActorId>> registerActors(
    const std::vector<std::string>& names, state::Store& store) {
  std::map<std::string, conflict::ActorId> ids;
  std::vector<bool> used(conflict::kMaxActors, false);
  {
    auto snap = store.read();
    if (!snap) {
      return failWith("runtime: register actors", snap.error());
    }
    auto known = snap->actors();
    if (!known) {
      return failWith("runtime: register actors", known.error());
    }
    for (const auto& [name, id] : *known) {
      ids[name] = id;
      if (id < used.size()) {
        used[id] = true;
      }
    }
  }
  state::Batch batch;
  for (const auto& name : names) {
    if (ids.count(name) != 0) {
      continue;
    }
    // The agent takes id 0 on a fresh store; systems the lowest free ids after it.
    conflict::ActorId next = 0;
    while (next < used.size() && used[next]) {
      ++next;
    }
    if (next >= used.size()) {
      return fail("runtime: register actor \"" + name + "\": all " +
                  std::to_string(conflict::kMaxActors) + " actor ids are taken");
    }
    used[next] = true;
    ids[name] = next;
    batch.actors.emplace_back(name, next);
  }
  if (!batch.empty()) {
    auto applied = store.apply(batch);
    if (!applied) {
      return failWith("runtime: register actors", applied.error());
    }
  }
  return ids;
}

Result<std::vector<conflict::ActorId>> idsOf(const std::vector<std::string>& systems,
                                             const std::map<std::string, conflict::ActorId>& ids,
                                             const std::string& where) {
  std::vector<conflict::ActorId> out;
  for (const auto& s : systems) {
    auto it = ids.find(s);
    if (it == ids.end()) {
      return fail(where + ": unknown system \"" + s + "\"");
    }
    out.push_back(it->second);
  }
  return out;
}

conflict::DeletePolicy deletePolicy(mappers::DeletePolicyKind k) {
  switch (k) {
    case mappers::DeletePolicyKind::UpdateWins:
      return conflict::DeletePolicy::UpdateWins;
    case mappers::DeletePolicyKind::DeleteWins:
      return conflict::DeletePolicy::DeleteWins;
    case mappers::DeletePolicyKind::Prefer:
      return conflict::DeletePolicy::Prefer;
    case mappers::DeletePolicyKind::Manual:
      return conflict::DeletePolicy::Manual;
  }
  return conflict::DeletePolicy::UpdateWins;
}

}  // namespace

Result<engine::EngineConfig> buildEngineConfig(const mappers::Config& config, state::Store& store) {
  std::vector<std::string> names = {std::string(kAgentActor)};
  for (const auto& s : config.systems) {
    names.push_back(s.name);
  }
  TANDEM_ASSIGN_OR_RETURN(auto ids, registerActors(names, store));

  engine::EngineConfig out;
  out.agent = ids.at(std::string(kAgentActor));
  for (const auto& ent : config.entities) {
    const std::string where = "runtime: entity " + ent.name;
    engine::EntityConfig e;
    e.name = ent.name;
    e.match_keys = ent.match_keys;
    e.policy.defaults.kind = ent.default_policy.kind;
    TANDEM_ASSIGN_OR_RETURN(e.policy.defaults.prefer,
                            idsOf(ent.default_policy.prefer, ids, where + " policy"));
    for (const auto& f : ent.fields) {
      conflict::PolicySpec spec;
      spec.kind = f.policy.kind;
      TANDEM_ASSIGN_OR_RETURN(spec.prefer, idsOf(f.policy.prefer, ids, where + " field " + f.name));
      e.policy.fields[f.name] = std::move(spec);
    }
    e.policy.on_delete_conflict = deletePolicy(ent.delete_policy.kind);
    TANDEM_ASSIGN_OR_RETURN(e.policy.delete_prefer,
                            idsOf(ent.delete_policy.prefer, ids, where + " delete_policy"));
    TANDEM_ASSIGN_OR_RETURN(e.policy.priority,
                            idsOf(ent.system_priority, ids, where + " system_priority"));
    for (const auto& sys : config.systems) {
      const mappers::SystemEntity* se = sys.findEntity(ent.name);
      if (se == nullptr) {
        continue;
      }
      auto plan = mappers::compilePlan(se->mapping, ent, sys.name);
      if (!plan) {
        return failWith(where, plan.error());
      }
      conflict::SystemSpec spec;
      spec.id = ids.at(sys.name);
      spec.fields = plan->writeFields();
      e.systems.push_back(std::move(spec));
      if (se->connector.del.mode == mappers::DeleteMode::FieldWrite ||
          !se->connector.pointers.archived.empty() || !se->connector.pointers.active.empty()) {
        e.archives.push_back(ids.at(sys.name));
      }
    }
    out.entities.push_back(std::move(e));
  }
  return out;
}

}  // namespace tandem::agent::runtime
