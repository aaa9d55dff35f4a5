// buildEngineConfig: actors registered once and never re-bound; policies from the config.

#include <gtest/gtest.h>

#include "agent/runtime/names.h"
#include "tests/agent/runtime/harness.h"

namespace tandem::agent::runtime::testing {
namespace {

std::unique_ptr<state::Store> openStore(const std::string& dir) {
  state::Options o;
  o.sync = false;
  o.initial_map_bytes = 1 << 20;
  auto s = state::Store::open(dir, o);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

std::map<std::string, conflict::ActorId> actorsOf(state::Store& store) {
  std::map<std::string, conflict::ActorId> out;
  auto snap = store.read();
  EXPECT_TRUE(snap);
  auto actors = snap->actors();
  EXPECT_TRUE(actors);
  for (const auto& [name, id] : *actors) {
    out[name] = id;
  }
  return out;
}

TEST(EngineConfig, RegistersActorsOnceAndNeverRebindsThem) {
  RuntimeHarness h;
  auto store = openStore(h.dir() + "/s");
  auto first = buildEngineConfig(h.config({"crm", "erp"}), *store);
  ASSERT_TRUE(first) << first.error().message;
  auto ids = actorsOf(*store);
  EXPECT_EQ(ids, (std::map<std::string, conflict::ActorId>{
                     {std::string(kAgentActor), 0}, {"crm", 1}, {"erp", 2}}));
  EXPECT_EQ(first->agent, 0);
  // erp removed, fin added, order changed: crm keeps 1, erp keeps 2 (never pruned), fin gets 3.
  auto second = buildEngineConfig(h.config({"fin", "crm"}), *store);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(actorsOf(*store),
            (std::map<std::string, conflict::ActorId>{
                {std::string(kAgentActor), 0}, {"crm", 1}, {"erp", 2}, {"fin", 3}}));
  ASSERT_EQ(second->entities.size(), 1u);
  const auto& e = second->entities[0];
  EXPECT_EQ(e.name, "customer");
  EXPECT_EQ(e.match_keys, std::vector<std::string>{"email"});
  ASSERT_EQ(e.systems.size(), 2u);
  EXPECT_EQ(e.systems[0].id, 3);  // fin, in configuration order
  EXPECT_EQ(e.systems[0].fields, (std::vector<std::string>{"email", "name", "phone"}));
  EXPECT_EQ(e.policy.priority, (std::vector<conflict::ActorId>{3, 1}));  // fin, crm (erp absent)
}

TEST(EngineConfig, FieldPoliciesAndPreferListsBecomeActorIds) {
  RuntimeHarness h;
  auto store = openStore(h.dir() + "/s");
  auto ec =
      buildEngineConfig(h.config({"crm", "erp", "fin"}, 20,
                                 R"(, "policy": {"kind": "prefer", "systems": ["fin", "crm"]})"),
                        *store);
  ASSERT_TRUE(ec) << ec.error().message;
  const auto& policy = ec->entities[0].policy;
  const conflict::PolicySpec* phone = policy.fields.find("phone");
  ASSERT_NE(phone, nullptr);
  EXPECT_EQ(phone->kind, conflict::PolicyKind::Prefer);
  EXPECT_EQ(phone->prefer, (std::vector<conflict::ActorId>{3, 1}));
  EXPECT_EQ(policy.forField("name").kind, conflict::PolicyKind::Lww);
  EXPECT_EQ(policy.on_delete_conflict, conflict::DeletePolicy::UpdateWins);
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
