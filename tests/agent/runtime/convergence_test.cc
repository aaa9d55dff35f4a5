// The running agent (detectors, pushers, writer strand) against three fake systems: the
// CONVERGENCE.md cases that need the whole loop.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "tests/agent/runtime/harness.h"

namespace tandem::agent::runtime::testing {
namespace {

const std::string kAlice = "alice@example.com";

std::map<std::string, std::string> alice() {
  return {{"email", kAlice}, {"name", "Alice"}, {"phone", "100"}};
}

TEST(Convergence, C01_CreatedInOneSystemIsCreatedInTheOthersExactlyOnce) {
  RuntimeHarness h;
  h.sys("crm").humanCreate(alice());
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.sys("erp").creates(), 1u);
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  EXPECT_EQ(h.sys("crm").writeCalls(), 0u);  // the source is never written back (echo)
  EXPECT_EQ(h.sys("erp").field(kAlice, "name"), "Alice");
  EXPECT_EQ(h.sys("fin").field(kAlice, "phone"), "100");
  // The created records came back through the feeds: no further writes, no second create.
  const size_t writes = h.sys("erp").writeCalls() + h.sys("fin").writeCalls();
  h.sys("crm").humanEdit(*h.sys("crm").idByEmail(kAlice), "name", "Alice");
  ASSERT_TRUE(waitFor([&] { return h.agent().status().detectors.size() == 3; }));
  ASSERT_TRUE(waitFor([&] {
    for (const auto& d : h.agent().status().detectors) {
      if (d.system == "crm" && d.records >= 2) {
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(h.sys("erp").writeCalls() + h.sys("fin").writeCalls(), writes);
  auto st = h.agent().status();
  EXPECT_EQ(st.records_total, 1u);
  EXPECT_EQ(st.open_conflicts, 0u);
}

TEST(Convergence, C05_DifferentFieldsSameRecordBothSurvive) {
  RuntimeHarness h;
  std::string crm = h.sys("crm").humanCreate(alice());
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(true);
  }
  h.sys("crm").humanEdit(crm, "name", "Alice Smith");
  h.sys("fin").humanEdit(*h.sys("fin").idByEmail(kAlice), "phone", "555");
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(false);
  }
  ASSERT_TRUE(waitFor([&] {
    for (const char* s : {"crm", "erp", "fin"}) {
      if (h.sys(s).field(kAlice, "name") != "Alice Smith" ||
          h.sys(s).field(kAlice, "phone") != "555") {
        return false;
      }
    }
    return h.agent().status().outbox_depth == 0;
  })) << h.sys("erp").field(kAlice, "name")
      << " " << h.sys("erp").field(kAlice, "phone");
  EXPECT_EQ(h.agent().status().conflicts_total, 0u);
}

TEST(Convergence, C06_SameFieldTwoSystemsOneConflictPolicyOutcomeEverywhere) {
  RuntimeHarness h;
  std::string crm = h.sys("crm").humanCreate(alice());
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(true);
  }
  h.sys("crm").humanEdit(crm, "phone", "111");
  h.sys("erp").humanEdit(*h.sys("erp").idByEmail(kAlice), "phone", "222");
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(false);
  }
  ASSERT_TRUE(waitFor([&] {
    std::string p = h.sys("crm").field(kAlice, "phone");
    return (p == "111" || p == "222") && h.sys("erp").field(kAlice, "phone") == p &&
           h.sys("fin").field(kAlice, "phone") == p && h.agent().status().outbox_depth == 0 &&
           h.agent().status().conflicts_total == 1;
  }));
  auto snap = h.agent().store().read();
  ASSERT_TRUE(snap);
  auto conflicts = snap->conflicts(0, 100);
  ASSERT_TRUE(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].field, "phone");
  EXPECT_EQ((*conflicts)[0].sides.size(), 2u);
  EXPECT_EQ((*conflicts)[0].outcome.asString(), h.sys("fin").field(kAlice, "phone"));
}

TEST(Convergence, C06_NoTokenSystemConcurrentSameFieldIsReadBeforeWriteOneConflict) {
  RuntimeHarness h;
  std::string crm = h.sys("crm").humanCreate(alice());
  h.start(
      h.config({"crm", "erp", "fin"}, 20, R"(, "policy": {"kind": "prefer", "systems": ["erp"]})"));
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  // A person edits the phone in the ERP, which has no version token, and the agent has not
  // seen it (the ERP's feed holds still); the CRM's edit of the same phone reaches the agent
  // first. A blind write would overwrite the ERP's value unseen: no conflict, the value lost.
  h.sys("erp").setFeedPaused(true);
  h.sys("erp").humanEdit(*h.sys("erp").idByEmail(kAlice), "phone", "222");
  h.sys("crm").humanEdit(crm, "phone", "111");
  // The ERP's value wins by policy: it can only have been seen by reading before the write.
  ASSERT_TRUE(waitFor([&] {
    auto st = h.agent().status();
    for (const char* s : {"crm", "erp", "fin"}) {
      if (h.sys(s).field(kAlice, "phone") != "222") {
        return false;
      }
    }
    return st.outbox_depth == 0 && st.conflicts_total == 1;
  })) << "crm "
      << h.sys("crm").field(kAlice, "phone") << " erp " << h.sys("erp").field(kAlice, "phone")
      << " fin " << h.sys("fin").field(kAlice, "phone") << " conflicts "
      << h.agent().status().conflicts_total;
  auto snap = h.agent().store().read();
  ASSERT_TRUE(snap);
  auto conflicts = snap->conflicts(0, 100);
  ASSERT_TRUE(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  const auto& c = (*conflicts)[0];
  EXPECT_EQ(c.field, "phone");
  ASSERT_EQ(c.sides.size(), 2u);
  std::set<std::string> sides;
  for (const auto& side : c.sides) {
    sides.insert(side.value.asString());
  }
  EXPECT_EQ(sides, (std::set<std::string>{"111", "222"}));
  EXPECT_EQ(c.outcome.asString(), "222");
  EXPECT_GE(h.sys("erp").getCalls(), 1u);
  // The ERP's feed, once it moves, shows nothing new: no second conflict, nothing to push.
  auto erpRecords = [&] {
    for (const auto& d : h.agent().status().detectors) {
      if (d.system == "erp") {
        return d.records;
      }
    }
    return uint64_t{0};
  };
  const uint64_t seen = erpRecords();
  h.sys("erp").setFeedPaused(false);
  ASSERT_TRUE(waitFor([&] { return erpRecords() > seen; }));
  ASSERT_TRUE(waitFor([&] { return h.agent().status().outbox_depth == 0; }));
  EXPECT_EQ(h.agent().status().conflicts_total, 1u);
  for (const char* s : {"crm", "erp", "fin"}) {
    EXPECT_EQ(h.sys(s).field(kAlice, "phone"), "222") << s;
  }
}

TEST(Convergence, C12_LostRaceOnWriteBackIsReReadAndMerged) {
  RuntimeHarness h;
  std::string crm = h.sys("crm").humanCreate(alice());
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  // A person edits finance's copy while the agent does not know yet (its feed holds still);
  // the agent's push of the CRM's edit carries the old version token and is answered stale.
  h.sys("fin").setFeedPaused(true);
  h.sys("fin").humanEdit(*h.sys("fin").idByEmail(kAlice), "name", "Typed in FIN");
  h.sys("crm").humanEdit(crm, "phone", "777");
  ASSERT_TRUE(waitFor([&] {
    for (const char* s : {"crm", "erp", "fin"}) {
      if (h.sys(s).field(kAlice, "name") != "Typed in FIN" ||
          h.sys(s).field(kAlice, "phone") != "777") {
        return false;
      }
    }
    return h.agent().status().outbox_depth == 0;
  }));
  EXPECT_GE(h.sys("fin").staleAnswers(), 1u);
  EXPECT_EQ(h.agent().status().conflicts_total, 0u);
  h.sys("fin").setFeedPaused(false);
}

// Every detector of `system` has read its feed to the end once.
bool feedRead(RuntimeHarness& h, const std::string& system) {
  bool any = false;
  for (const auto& d : h.agent().status().detectors) {
    if (d.system == system) {
      if (!d.initial_load_done) {
        return false;
      }
      any = true;
    }
  }
  return any;
}

TEST(Convergence, C19_OneSystemDownOthersKeepSyncingBacklogDrains) {
  RuntimeHarness h;
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return feedRead(h, "fin"); }));
  h.sys("fin").setDown(true);
  std::string crm = h.sys("crm").humanCreate(alice());
  ASSERT_TRUE(waitFor([&] { return h.sys("erp").countEmail(kAlice) == 1; }));
  h.sys("crm").humanEdit(crm, "phone", "200");
  ASSERT_TRUE(waitFor([&] { return h.sys("erp").field(kAlice, "phone") == "200"; }));
  // It kept retrying: the create went out once; its retries first read fin's feed back (the
  // answer was lost) and, with the feed down too, wait instead of creating blindly.
  ASSERT_TRUE(waitFor([&] {
    for (const auto& s : h.agent().status().systems) {
      if (s.name == "fin" && s.pushes.retryable >= 2) {
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(h.sys("fin").writeCalls(), 1u);
  EXPECT_EQ(h.sys("fin").countEmail(kAlice), 0u);
  // Only the latest value of the record, for fin (the ERP's answer may still be completing).
  ASSERT_TRUE(waitFor([&] { return h.agent().status().outbox_depth == 1; }));
  auto st = h.agent().status();
  for (const auto& s : st.systems) {
    if (s.name == "fin") {
      EXPECT_GE(s.pushes.retryable, 2u);
      EXPECT_EQ(s.outbox_depth, 1u);
    }
  }
  h.sys("fin").setDown(false);
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  EXPECT_EQ(h.sys("fin").field(kAlice, "phone"), "200");
  // Failing every poll while down: one warning, the repeats at debug level.
  h.shutdown();
  const std::string log = h.logText();
  size_t warns = 0;
  for (size_t at = log.find("WARN  detector: fetch failed system=fin"); at != std::string::npos;
       at = log.find("WARN  detector: fetch failed system=fin", at + 1)) {
    ++warns;
  }
  EXPECT_EQ(warns, 1u) << log;
  EXPECT_NE(log.find("DEBUG detector: fetch failed system=fin"), std::string::npos);
}

TEST(Convergence, C14_CreatesWaitUntilTheTargetsFeedWasReadOnce) {
  // Finance is down from the start: it may already hold Alice, and only its feed can say (the
  // ingest would link her by email). So the create waits in the outbox and nothing is written;
  // once finance answers, its feed links its own Alice and no second copy is made.
  RuntimeHarness h;
  h.sys("fin").setDown(true);
  h.sys("fin").humanCreate(alice());
  h.start(h.config());
  h.sys("crm").humanCreate(alice());
  ASSERT_TRUE(waitFor([&] { return h.sys("erp").countEmail(kAlice) == 1; }));
  ASSERT_TRUE(waitFor([&] { return h.agent().status().outbox_depth == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h.sys("fin").writeCalls(), 0u);
  EXPECT_FALSE(feedRead(h, "fin"));
  h.sys("fin").setDown(false);
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.sys("fin").creates(), 0u);
  EXPECT_EQ(h.sys("fin").countEmail(kAlice), 1u);
  EXPECT_EQ(h.sys("erp").creates(), 1u);
}

TEST(Convergence, C20_RefusedValueDeadLetteredWithSystemMessageRetryAfterFixSucceeds) {
  RuntimeHarness h;
  h.sys("erp").setReject(
      [](const std::string& field, const std::string& value) -> std::optional<std::string> {
        if (field == "phone" && value == "bad") {
          return "422 ValidationError: phone \"bad\" is not a phone number";
        }
        return std::nullopt;
      });
  h.start(h.config());
  auto record = alice();
  record["phone"] = "bad";
  h.sys("crm").humanCreate(record);
  ASSERT_TRUE(waitFor([&] { return h.sys("fin").countEmail(kAlice) == 1; }));
  ASSERT_TRUE(waitFor([&] { return h.agent().status().dead_letters == 1; }));
  EXPECT_EQ(h.sys("erp").countEmail(kAlice), 0u);
  std::string rid;
  {
    auto snap = h.agent().store().read();
    ASSERT_TRUE(snap);
    auto dead = snap->deadLetters(std::nullopt, 10);
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ((*dead)[0].reason, "422 ValidationError: phone \"bad\" is not a phone number");
    rid = (*dead)[0].record;
  }
  // The operator fixes the cause and retries.
  h.sys("erp").setReject(nullptr);
  auto retried = h.io().run(h.agent().retryDeadLetter("erp", rid));
  ASSERT_TRUE(retried.has_value());
  ASSERT_TRUE(*retried) << retried->error().message;
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.sys("erp").field(kAlice, "phone"), "bad");
  EXPECT_EQ(h.agent().status().dead_letters, 0u);
  auto unknown = h.io().run(h.agent().retryDeadLetter("erp", "nope"));
  ASSERT_TRUE(unknown.has_value());
  ASSERT_FALSE(*unknown);
  EXPECT_NE(unknown->error().message.find("no such dead letter"), std::string::npos)
      << unknown->error().message;
}

TEST(Convergence, C02_EchoAfterLostAnswerNoSecondCreate) {
  RuntimeHarness h;
  // The ERP applies the create but answers 500, and has no idempotency key to fall back on:
  // only the read-back through the feed keeps the retry from creating a second record.
  h.sys("erp").setIdempotent(false);
  h.sys("erp").setAppliedButFail(1);
  h.sys("crm").humanCreate(alice());
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.sys("erp").countEmail(kAlice), 1u);
  EXPECT_EQ(h.sys("erp").creates(), 1u);
  EXPECT_EQ(h.agent().status().conflicts_total, 0u);
  EXPECT_EQ(h.agent().status().dead_letters, 0u);
}

TEST(Convergence, C23_ManualPolicyHoldsTheFieldUntilResolvedThenPushesTheChoice) {
  RuntimeHarness h;
  std::string crm = h.sys("crm").humanCreate(alice());
  h.start(h.config({"crm", "erp", "fin"}, 20, R"(, "policy": "manual")"));
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(true);
  }
  h.sys("crm").humanEdit(crm, "phone", "111");
  h.sys("erp").humanEdit(*h.sys("erp").idByEmail(kAlice), "phone", "222");
  for (const char* s : {"crm", "erp", "fin"}) {
    h.sys(s).setFeedPaused(false);
  }
  ASSERT_TRUE(waitFor([&] {
    auto st = h.agent().status();
    return st.open_conflicts == 1 && st.outbox_depth == 0;
  }));
  uint64_t id = 0;
  {
    auto snap = h.agent().store().read();
    ASSERT_TRUE(snap);
    auto open = snap->openConflicts(10);
    ASSERT_TRUE(open);
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ((*open)[0].field, "phone");
    id = (*open)[0].id;
  }
  auto resolved =
      h.io().run(h.agent().resolveConflict(id, conflict::Value::string("333"), "chosen by a test"));
  ASSERT_TRUE(resolved.has_value());
  ASSERT_TRUE(*resolved) << resolved->error().message;
  ASSERT_TRUE(waitFor([&] {
    for (const char* s : {"crm", "erp", "fin"}) {
      if (h.sys(s).field(kAlice, "phone") != "333") {
        return false;
      }
    }
    return h.agent().status().open_conflicts == 0 && h.agent().status().outbox_depth == 0;
  }));
  auto again = h.io().run(h.agent().resolveConflict(id, conflict::Value::string("4"), ""));
  ASSERT_TRUE(again.has_value());
  ASSERT_FALSE(*again);
  EXPECT_EQ(again->error().message,
            "engine: resolve conflict " + std::to_string(id) + ": already closed");
}

TEST(Convergence, C22_StateLostRelinksByMatchKeysWithoutDuplicates) {
  RuntimeHarness h;
  h.sys("crm").humanCreate(alice());
  h.sys("erp").humanCreate({{"email", "bob@example.com"}, {"name", "Bob"}});
  auto cfg = h.config();
  const std::string state = cfg.agent.state_dir;
  h.start(std::move(cfg));
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice) && h.converged("bob@example.com"); }));
  h.stopAgent();
  std::filesystem::remove_all(state);  // the LMDB directory is gone
  h.sys("fin").humanEdit(*h.sys("fin").idByEmail(kAlice), "phone", "999");
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] {
    return h.converged(kAlice) && h.converged("bob@example.com") &&
           h.sys("crm").field(kAlice, "phone") == h.sys("fin").field(kAlice, "phone") &&
           h.sys("erp").field(kAlice, "phone") == h.sys("fin").field(kAlice, "phone");
  }));
  for (const char* s : {"crm", "erp", "fin"}) {
    EXPECT_EQ(h.sys(s).countEmail(kAlice), 1u) << s;
    EXPECT_EQ(h.sys(s).countEmail("bob@example.com"), 1u) << s;
  }
  EXPECT_EQ(h.sys("erp").creates() + h.sys("fin").creates() + h.sys("crm").creates(), 4u);
  EXPECT_EQ(h.agent().status().records_total, 2u);
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
