// The running agent with the declarative REST connector against the fixture servers over
// loopback (see fixture_agent.h).

#include <set>

#include "tests/agent/runtime/fixture_agent.h"

namespace tandem::agent::runtime::testing {
namespace {

TEST(FixturesConvergence, C01_CreatedInCrmIsCreatedOnceInErpAndFin) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnSynced()) << f.debug();
  EXPECT_EQ(f.counter("erp", "api_creates"), 1);
  EXPECT_EQ(f.counter("fin", "api_creates"), 1);
  auto erp = f.find("erp", "ann@example.com");
  EXPECT_STREQ(erp[0]["name"].GetString(), "Ann Lee");
  EXPECT_EQ(phoneOf("fin", f.find("fin", "ann@example.com")[0]), "+1 555 0100");
  auto st = f.agent().status();
  EXPECT_EQ(st.records_total, 1u);
  ASSERT_EQ(st.dead_letters, 0u) << f.debug();
  bool feed_latency = false;
  for (const auto& h : st.http) {
    feed_latency = feed_latency || (h.op == "feed" && h.count > 0 && h.status_classes[2] > 0);
  }
  EXPECT_TRUE(feed_latency);
}

// The ERP writes first and last name as one "name": an edit of the last name alone in the CRM
// is pushed as an update of that field, and its body takes the first name from the record.
TEST(FixturesConvergence, AnEditOfOneHalfOfAJoinedFieldWritesTheWholeField) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnSynced()) << f.debug();
  ASSERT_TRUE(f.client().humanEdit("crm", f.idOf("crm", "ann@example.com"),
                                   R"({"properties":{"lastname":"Park"}})"));
  ASSERT_TRUE(waitFor(
      [&] {
        auto erp = f.find("erp", "ann@example.com");
        return erp.size() == 1 && std::string(erp[0]["name"].GetString()) == "Ann Park" &&
               f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.counter("erp", "api_creates"), 1);
}

TEST(FixturesConvergence, C05_DifferentFieldsSameRecordBothSurvive) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnSynced()) << f.debug();
  // Both edits happen while no agent runs, so neither system has seen the other's.
  f.stop();
  ASSERT_TRUE(f.client().humanEdit("crm", f.idOf("crm", "ann@example.com"),
                                   R"({"properties":{"city":"Denver"}})"));
  ASSERT_TRUE(f.client().humanEdit("fin", f.idOf("fin", "ann@example.com"),
                                   R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0199"}})"));
  f.restart(f.config());
  ASSERT_TRUE(waitFor(
      [&] {
        for (const char* s : {"crm", "erp", "fin"}) {
          auto r = f.find(s, "ann@example.com");
          if (r.size() != 1 || cityOf(s, r[0]) != "Denver" || phoneOf(s, r[0]) != "+1 555 0199") {
            return false;
          }
        }
        return f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.agent().status().open_conflicts, 0u);
  EXPECT_EQ(f.agent().status().conflicts_total, 0u);
}

TEST(FixturesConvergence, C19_OneSystemDownOthersKeepSyncingBacklogDrains) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().setSettings("fin", R"({"p_503":1.0})"));
  f.start(f.config());
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  ASSERT_TRUE(
      waitFor([&] { return f.count("erp", "ann@example.com") == 1; }, std::chrono::seconds(20)))
      << f.debug();
  ASSERT_TRUE(waitFor([&] { return f.counter("fin", "fault_503") >= 3; }, std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.count("fin", "ann@example.com"), 0u);
  EXPECT_GE(f.agent().status().outbox_depth, 1u);
  ASSERT_TRUE(f.client().setSettings("fin", R"({"p_503":0})"));
  ASSERT_TRUE(waitFor([&] { return f.everywhereOnce("ann@example.com") && f.quiet(); },
                      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.counter("fin", "api_creates"), 1);
}

TEST(FixturesConvergence, C02_EchoAfterLostAnswerWithAppliedButFailedCreate) {
  FixtureAgent f;
  // The ERP (no idempotency key) applies every write and answers 500.
  ASSERT_TRUE(f.client().setSettings("erp", R"({"p_applied_500":1.0})"));
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  f.start(f.config());
  ASSERT_TRUE(
      waitFor([&] { return f.count("erp", "ann@example.com") >= 1; }, std::chrono::seconds(20)))
      << f.debug();
  ASSERT_TRUE(f.client().setSettings("erp", R"({"p_applied_500":0})"));
  ASSERT_TRUE(waitFor([&] { return f.everywhereOnce("ann@example.com") && f.quiet(); },
                      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.count("erp", "ann@example.com"), 1u);
  EXPECT_EQ(f.counter("erp", "api_creates"), 1);
  EXPECT_EQ(f.agent().status().conflicts_total, 0u);
}

// Finance takes creates due together in one batch request (demo.json batch.create); a name
// finance already has (Fault 6240 on that item alone) dead-letters that record only, with
// QuickBooks' text, and the rest of the batch is created.
TEST(FixturesConvergence, FinBatchCreateDeadLettersOnlyTheRecordWhoseNameIsTaken) {
  FixtureAgent f;
  // DisplayName is written as first, last and e-mail: Bea's is taken by a customer of another
  // e-mail.
  ASSERT_TRUE(f.client().humanCreate(
      "fin", R"({"DisplayName":"Bea Kim bea@example.com","GivenName":"Bea","FamilyName":"Kim",)"
             R"("PrimaryEmailAddr":{"Address":"taken@example.com"}})"));
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  for (const char* who : {"bea", "cy", "dan"}) {
    ASSERT_TRUE(
        f.client().humanCreate("crm", std::string(R"({"properties":{"email":")") + who +
                                          R"(@example.com","firstname":"Bea","lastname":"Kim"}})"));
  }
  f.start(f.config());
  ASSERT_TRUE(waitFor(
      [&] {
        return f.everywhereOnce("ann@example.com") && f.everywhereOnce("cy@example.com") &&
               f.everywhereOnce("dan@example.com") && f.everywhereOnce("taken@example.com") &&
               f.agent().status().dead_letters == 1 && f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.count("fin", "bea@example.com"), 0u);
  EXPECT_EQ(f.count("erp", "bea@example.com"), 1u);
  EXPECT_EQ(f.counter("fin", "api_creates"), 3);
  EXPECT_GE(f.counter("fin", "batch_requests"), 1);
  auto snap = f.agent().store().read();
  ASSERT_TRUE(snap);
  auto dead = snap->deadLetters(std::nullopt, 10);
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE((*dead)[0].reason.find("The name supplied already exists. : Id=1"), std::string::npos)
      << (*dead)[0].reason;
}

TEST(FixturesConvergence, C20_RefusedValueDeadLetteredWithSystemMessageRetryAfterFix) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnSynced()) << f.debug();
  // A contact with no name: the ERP (Odoo-like) refuses it with a 422 ValidationError, finance
  // takes it (its DisplayName falls back to the email).
  ASSERT_TRUE(f.client().humanCreate("crm", R"({"properties":{"email":"ann2@example.com"}})"));
  ASSERT_TRUE(
      waitFor([&] { return f.count("fin", "ann2@example.com") == 1; }, std::chrono::seconds(20)))
      << f.debug();
  ASSERT_TRUE(
      waitFor([&] { return f.agent().status().dead_letters == 1; }, std::chrono::seconds(20)))
      << f.debug();
  {
    auto snap = f.agent().store().read();
    ASSERT_TRUE(snap);
    auto dead = snap->deadLetters(std::nullopt, 10);
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_NE((*dead)[0].reason.find("Contacts require a name"), std::string::npos)
        << (*dead)[0].reason;
  }
  EXPECT_EQ(f.count("erp", "ann2@example.com"), 0u);
  EXPECT_TRUE(f.everywhereOnce("ann@example.com"));  // the others still converge
  // The fix at the source: a name in the CRM. The refused create goes out again (under a fresh
  // key) and the dead letter is cleared; the operator's retry then has nothing left to do.
  ASSERT_TRUE(f.client().humanEdit("crm", f.idOf("crm", "ann2@example.com"),
                                   R"({"properties":{"firstname":"Ann","lastname":"Lee"}})"));
  ASSERT_TRUE(waitFor(
      [&] {
        return f.find("erp", "ann2@example.com").size() == 1 &&
               std::string(f.find("erp", "ann2@example.com")[0]["name"].GetString()) == "Ann Lee" &&
               f.everywhereOnce("ann2@example.com") && f.quiet() &&
               f.agent().status().dead_letters == 0;
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.count("erp", "ann2@example.com"), 1u);
}

TEST(FixturesWebhooks, C06_NoTokenSystemConcurrentSameFieldIsReadBeforeWriteOneConflict) {
  FixtureAgent f;
  // The CRM's edits come by webhook, the ERP's are not seen by a poll.
  ASSERT_TRUE(f.startWithAnnEverywhere()) << f.debug();
  // A person sets the phone in the ERP (Odoo-like, no version token), then another in the CRM,
  // whose webhook brings it to the agent long before the ERP's next poll.
  ASSERT_TRUE(
      f.client().humanEdit("erp", f.idOf("erp", "ann@example.com"), R"({"phone":"+1 555 0222"})"));
  ASSERT_TRUE(f.client().humanEdit("crm", f.idOf("crm", "ann@example.com"),
                                   R"({"properties":{"phone":"+1 555 0111"}})"));
  ASSERT_TRUE(waitFor(
      [&] {
        std::string p = phoneOf("crm", f.find("crm", "ann@example.com")[0]);
        return (p == "+1 555 0111" || p == "+1 555 0222") &&
               phoneOf("erp", f.find("erp", "ann@example.com")[0]) == p &&
               phoneOf("fin", f.find("fin", "ann@example.com")[0]) == p && f.quiet() &&
               f.agent().status().conflicts_total == 1;
      },
      std::chrono::seconds(20)))
      << "conflicts " << f.agent().status().conflicts_total << " erp "
      << phoneOf("erp", f.find("erp", "ann@example.com")[0]) << "\n"
      << f.debug();
  auto snap = f.agent().store().read();
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
  EXPECT_EQ(sides, (std::set<std::string>{"+1 555 0111", "+1 555 0222"}));
  EXPECT_EQ(c.outcome.asString(), phoneOf("erp", f.find("erp", "ann@example.com")[0]));
}

// A webhook the configuration gains by a reload (SIGHUP) is served at once: its path is looked up
// in the configuration in force, not fixed when the admin server started.
TEST(FixturesWebhooks, WebhookAddedByAReloadIsServedWithoutARestart) {
  FixtureAgent f;
  mappers::Config without = f.config(600'000);
  for (auto& s : without.systems) {
    for (auto& e : s.entities) {
      e.connector.webhook.reset();
    }
  }
  f.start(std::move(without), /*serve_webhooks=*/true);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(f.agent().reload(f.config(600'000))) << f.debug();
  ASSERT_TRUE(waitFor(
      [&] {
        auto st = f.agent().status();
        return std::all_of(st.detectors.begin(), st.detectors.end(),
                           [](const DetectorStatus& d) { return d.initial_load_done; });
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(f.client().setWebhook(
      "crm", "http://127.0.0.1:" + std::to_string(f.httpPort()) + "/hooks/crm", "crm-secret"));
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  // Polls are ten minutes apart: only the webhook can bring the record this soon.
  ASSERT_TRUE(
      waitFor([&] { return f.everywhereOnce("ann@example.com"); }, std::chrono::seconds(20)))
      << f.debug();
  // The reloaded system's first pass may bring Ann before the delivery is counted: wait for it.
  EXPECT_TRUE(waitFor([&] { return f.agent().status().webhooks.at(0).accepted >= 1u; },
                      std::chrono::seconds(20)))
      << f.debug();
}

TEST(FixturesWebhooks, SignedDeliveryFetchesAtOnce) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithCrmWebhook("crm-secret")) << f.debug();
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  // Polls are ten minutes apart: only the webhook can bring the record this soon.
  ASSERT_TRUE(
      waitFor([&] { return f.everywhereOnce("ann@example.com"); }, std::chrono::seconds(20)))
      << f.debug();
  auto st = f.agent().status();
  ASSERT_EQ(st.webhooks.size(), 2u);  // crm and fin have webhooks in the demo
  EXPECT_EQ(st.webhooks[0].system, "crm");
  EXPECT_GE(st.webhooks[0].accepted, 1u);
  EXPECT_EQ(st.webhooks[0].rejected, 0u);
}

// Case 16: HubSpot's search (the CRM feed) leaves archived contacts out, and get answers 404
// for them, so the archive webhook is the only word of it: a linked record that is no longer
// there is reported deleted, and the others archive it.
TEST(FixturesWebhooks, C16_CrmArchiveKnownOnlyByWebhookArchivesEverywhere) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnEverywhere()) << f.debug();
  ASSERT_TRUE(f.client().humanRemove("crm", f.idOf("crm", "ann@example.com"), false));
  auto archived = [&](const std::string& system) {
    auto r = f.find(system, "ann@example.com");
    if (r.size() != 1) {
      return false;
    }
    const char* flag = system == "erp" ? "active" : "Active";
    return r[0].HasMember(flag) && r[0][flag].IsBool() && !r[0][flag].GetBool();
  };
  ASSERT_TRUE(waitFor([&] { return archived("erp") && archived("fin") && f.quiet(); },
                      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.agent().status().dead_letters, 0u);
}

// Case 15 against a system without a version token: a person archives Ann in the CRM (its
// webhook brings that at once) while another edits her phone in the ERP, which no poll shows
// (polls are ten minutes apart). Archiving the ERP's record blindly would make that edit one
// that followed the archive: Ann stays archived everywhere, the edit lost without a conflict.
// The ERP's record is read before the archive is written, so the edit is seen as concurrent
// with it and the delete policy (update_wins) revives Ann everywhere with the ERP's phone.
TEST(FixturesWebhooks, C15_ArchiveAgainstAnUnseenEditInANoTokenSystemIsReadFirstUpdateWins) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithAnnEverywhere()) << f.debug();
  ASSERT_TRUE(
      f.client().humanEdit("erp", f.idOf("erp", "ann@example.com"), R"({"phone":"+1 555 0222"})"));
  ASSERT_TRUE(f.client().humanRemove("crm", f.idOf("crm", "ann@example.com"), false));
  // Ann once, live, in every system, with the ERP's phone.
  auto liveWithPhone = [&](const std::string& system) {
    size_t live = 0;
    bool phone = false;
    for (const auto& r : f.find(system, "ann@example.com")) {
      const char* flag = system == "crm" ? "archived" : system == "erp" ? "active" : "Active";
      const bool archived =
          r.HasMember(flag) && r[flag].IsBool() && (r[flag].GetBool() == (system == "crm"));
      if (!archived) {
        ++live;
        phone = phoneOf(system, r) == "+1 555 0222";
      }
    }
    return live == 1 && phone;
  };
  ASSERT_TRUE(waitFor(
      [&] {
        return liveWithPhone("crm") && liveWithPhone("erp") && liveWithPhone("fin") && f.quiet();
      },
      std::chrono::seconds(20)))
      << "crm " << liveWithPhone("crm") << " erp " << liveWithPhone("erp") << " fin "
      << liveWithPhone("fin") << "\n"
      << f.debug();
  EXPECT_GE(f.counter("erp", "reads"), 1) << "the ERP's record was not read before the write";
  auto snap = f.agent().store().read();
  ASSERT_TRUE(snap);
  auto conflicts = snap->conflicts(0, 100);
  ASSERT_TRUE(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].field, "$deleted");
}

TEST(FixturesWebhooks, WrongSecretIsRejectedAndNothingIngested) {
  FixtureAgent f;
  ASSERT_TRUE(f.startWithCrmWebhook("not-the-secret")) << f.debug();
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  ASSERT_TRUE(waitFor(
      [&] {
        auto st = f.agent().status();
        return !st.webhooks.empty() && st.webhooks[0].system == "crm" &&
               st.webhooks[0].rejected >= 1;
      },
      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.agent().status().records_total, 0u);
  EXPECT_EQ(f.count("erp", "ann@example.com"), 0u);
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
