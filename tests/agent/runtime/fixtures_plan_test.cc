// The running agent and `tandem plan` against the fixture servers: concurrent edits of one field,
// and a dry run that reports without writing (see fixture_agent.h).

#include <filesystem>

#include "tests/agent/runtime/fixture_agent.h"

namespace tandem::agent::runtime::testing {
namespace {

TEST(FixturesConvergence, C06_SameFieldTwoSystemsOneConflictPolicyOutcomeEverywhere) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnSynced()) << f.debug();
  // Both edits while no agent runs: neither system has seen the other's value.
  f.stop();
  ASSERT_TRUE(f.client().humanEdit("crm", f.idOf("crm", "ann@example.com"),
                                   R"({"properties":{"phone":"+1 555 0111"}})"));
  ASSERT_TRUE(f.client().humanEdit("fin", f.idOf("fin", "ann@example.com"),
                                   R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0222"}})"));
  f.restart(f.config());
  std::string outcome;
  ASSERT_TRUE(waitFor(
      [&] {
        outcome = phoneOf("crm", f.find("crm", "ann@example.com").at(0));
        for (const char* s : {"erp", "fin"}) {
          auto r = f.find(s, "ann@example.com");
          if (r.size() != 1 || phoneOf(s, r[0]) != outcome) {
            return false;
          }
        }
        return f.quiet() && f.agent().status().conflicts_total == 1;
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_TRUE(outcome == "+1 555 0111" || outcome == "+1 555 0222") << outcome;
  auto snap = f.agent().store().read();
  ASSERT_TRUE(snap);
  auto conflicts = snap->conflicts(0, 10);
  ASSERT_TRUE(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].field, "phone");
  EXPECT_EQ((*conflicts)[0].sides.size(), 2u);
  EXPECT_EQ((*conflicts)[0].outcome.asString(), outcome);
}

TEST(FixturesPlan, ReportsTheCreatesAndWritesNothing) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  ASSERT_TRUE(f.client().humanCreate(
      "erp", R"({"name":"Bo Stone","email":"bo@example.com","phone":"+1 555 0300"})"));
  auto cfg = f.config();
  const std::string state = cfg.agent.state_dir;
  AgentOptions o;
  auto report = plan(f.io().ioc(), cfg, std::move(o));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->fetched, 2u);
  EXPECT_EQ(report->new_records, 2u);
  EXPECT_EQ(report->creates, 4u);  // each person in the two systems that lack them
  EXPECT_EQ(report->errors, 0u);
  size_t erp_creates = 0;
  for (const auto& item : report->items) {
    if (item.action == "create in erp") {
      ++erp_creates;
      EXPECT_EQ(item.system, "crm");
      EXPECT_EQ(item.native_id, f.idOf("crm", "ann@example.com"));
    }
  }
  EXPECT_EQ(erp_creates, 1u);
  EXPECT_EQ(f.counter("erp", "api_creates") + f.counter("fin", "api_creates") +
                f.counter("crm", "api_creates"),
            0);
  EXPECT_EQ(f.count("fin", "ann@example.com"), 0u);
  EXPECT_FALSE(std::filesystem::exists(state));
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
