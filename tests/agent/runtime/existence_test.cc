// The periodic existence check (agent/runtime/existence.h) against the fixture servers over
// loopback: hard deletes and archives no feed shows are found and settled by the delete policy
// (the demo's update_wins: a delete with no concurrent update deletes, so the others archive);
// records that are there change nothing; off means no request.

#include <thread>

#include "tests/agent/runtime/fixture_agent.h"

namespace tandem::agent::runtime::testing {
namespace {

// Polls every 100 ms; the check every 200 ms at up to 1,000 records a second.
mappers::Config withCheck(FixtureAgent& f, int64_t interval_ms = 200) {
  auto cfg = f.config();
  cfg.agent.existence_check.interval_ms = interval_ms;
  cfg.agent.existence_check.max_per_s = 1000;
  return cfg;
}

const DetectorStatus* detectorOf(const AgentStatus& st, const std::string& system) {
  for (const auto& d : st.detectors) {
    if (d.system == system) {
      return &d;
    }
  }
  return nullptr;
}

// Full existence checks ended in `system` since start.
uint64_t checksOf(FixtureAgent& f, const std::string& system) {
  const AgentStatus st = f.agent().status();
  const DetectorStatus* d = detectorOf(st, system);
  return d == nullptr ? 0 : d->existence_checks;
}

bool archivedIn(FixtureAgent& f, const std::string& system, const std::string& email) {
  auto r = f.find(system, email);
  if (r.size() != 1) {
    return false;
  }
  if (system == "crm") {
    return r[0].HasMember("archived") && r[0]["archived"].IsBool() && r[0]["archived"].GetBool();
  }
  const char* flag = system == "erp" ? "active" : "Active";
  return r[0].HasMember(flag) && r[0][flag].IsBool() && !r[0][flag].GetBool();
}

bool converged(FixtureAgent& f, const std::string& email) {
  return waitFor([&] { return f.everywhereOnce(email) && f.quiet(); }, std::chrono::seconds(20));
}

conflict::ActorId actorOf(state::Store& store, const std::string& system) {
  auto snap = store.read();
  EXPECT_TRUE(snap);
  auto actors = snap->actors();
  EXPECT_TRUE(actors);
  for (const auto& [name, id] : *actors) {
    if (name == system) {
      return id;
    }
  }
  ADD_FAILURE() << "no actor " << system;
  return 0;
}

std::optional<std::string> noteOf(state::Store& store, const std::string& key) {
  auto snap = store.read();
  EXPECT_TRUE(snap);
  auto note = snap->note(key);
  EXPECT_TRUE(note);
  return note ? *note : std::nullopt;
}

// Ann in every system, the check on; then a person removes her from `system` (a hard delete or
// an archive) and the other two (`a`, `b`) are waited for to show her archived.
void removeAndWaitArchivedElsewhere(FixtureAgent& f, const char* system, bool hard, const char* a,
                                    const char* b) {
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  f.start(withCheck(f));
  ASSERT_TRUE(converged(f, "ann@example.com")) << f.debug();
  ASSERT_TRUE(f.client().humanRemove(system, f.idOf(system, "ann@example.com"), hard));
  ASSERT_TRUE(waitFor(
      [&] {
        return archivedIn(f, a, "ann@example.com") && archivedIn(f, b, "ann@example.com") &&
               f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
}

TEST(ExistenceCheck, C16_ErpHardDeleteNoFeedShowsIsFoundAndArchivedEverywhere) {
  FixtureAgent f;
  // Odoo's unlink leaves no trace in the feed: only the check can notice.
  ASSERT_NO_FATAL_FAILURE(removeAndWaitArchivedElsewhere(f, "erp", true, "crm", "fin"));
  EXPECT_EQ(f.count("erp", "ann@example.com"), 0u);  // not created again
  const AgentStatus st = f.agent().status();
  ASSERT_NE(detectorOf(st, "erp"), nullptr);
  EXPECT_EQ(detectorOf(st, "erp")->existence_deletes, 1u);
  EXPECT_EQ(st.conflicts_total, 0u);  // nobody edited it: the delete wins outright
  EXPECT_EQ(st.dead_letters, 0u);
  EXPECT_EQ(f.counter("erp", "api_creates"), 1);
}

// HubSpot's search (the CRM feed) leaves archived contacts out and get answers 404 for them; with
// no webhook pointed at the agent, the check is the only word of the archive.
TEST(ExistenceCheck, C16_CrmArchiveWithNoWebhookIsFoundAndArchivedEverywhere) {
  FixtureAgent f;
  ASSERT_NO_FATAL_FAILURE(removeAndWaitArchivedElsewhere(f, "crm", false, "erp", "fin"));
  EXPECT_TRUE(archivedIn(f, "crm", "ann@example.com"));
  const AgentStatus st = f.agent().status();
  ASSERT_NE(detectorOf(st, "crm"), nullptr);
  EXPECT_EQ(detectorOf(st, "crm")->existence_deletes, 1u);
  EXPECT_EQ(st.webhooks.size(), 2u);
  for (const auto& w : st.webhooks) {
    EXPECT_EQ(w.accepted, 0u) << w.system;
  }
  EXPECT_EQ(st.dead_letters, 0u);
}

TEST(ExistenceCheck, RecordPresentEverywhereIsReadButNothingIsPushedOrConflicted) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  ASSERT_TRUE(f.client().humanCreate(
      "crm", R"({"properties":{"email":"bob@example.com","firstname":"Bob","lastname":"Ray"}})"));
  f.start(withCheck(f));
  ASSERT_TRUE(converged(f, "ann@example.com") && converged(f, "bob@example.com")) << f.debug();
  // Settled: one full check ended everywhere after convergence.
  uint64_t base_checks[3];
  int64_t reads[3], updates[3], creates[3];
  const char* systems[] = {"crm", "erp", "fin"};
  for (int i = 0; i < 3; ++i) {
    base_checks[i] = checksOf(f, systems[i]);
  }
  ASSERT_TRUE(waitFor(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (checksOf(f, systems[i]) < base_checks[i] + 1) {
            return false;
          }
        }
        return f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
  const uint64_t synced = f.agent().status().records_synced;
  for (int i = 0; i < 3; ++i) {
    base_checks[i] = checksOf(f, systems[i]);
    reads[i] = f.counter(systems[i], "reads");
    updates[i] = f.counter(systems[i], "api_updates");
    creates[i] = f.counter(systems[i], "api_creates");
  }
  // Two more full checks everywhere. A check is counted when it ends, after its reads: the one
  // under way when the counters were taken may have read before, so wait for three.
  ASSERT_TRUE(waitFor(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (checksOf(f, systems[i]) < base_checks[i] + 3) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(20)))
      << f.debug();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(systems[i]);
    EXPECT_GE(f.counter(systems[i], "reads"), reads[i] + 4);  // 2 records, twice
    EXPECT_EQ(f.counter(systems[i], "api_updates"), updates[i]);
    EXPECT_EQ(f.counter(systems[i], "api_creates"), creates[i]);
  }
  const AgentStatus st = f.agent().status();
  EXPECT_EQ(st.records_synced, synced);
  EXPECT_EQ(st.conflicts_total, 0u);
  EXPECT_EQ(st.outbox_depth, 0u);
  for (const auto& d : st.detectors) {
    EXPECT_EQ(d.existence_deletes, 0u) << d.system;
    EXPECT_GE(d.existence_checked, 4u) << d.system;
  }
  EXPECT_TRUE(f.everywhereOnce("ann@example.com"));
}

TEST(ExistenceCheck, OffFetchesNothing) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  auto cfg = f.config();
  ASSERT_EQ(cfg.agent.existence_check.interval_ms, 0);  // off unless configured
  f.start(std::move(cfg));
  ASSERT_TRUE(converged(f, "ann@example.com")) << f.debug();
  // A delete only a check could see, so that a request would also have an effect.
  ASSERT_TRUE(f.client().humanRemove("erp", f.idOf("erp", "ann@example.com"), true));
  int64_t reads[3];
  const char* systems[] = {"crm", "erp", "fin"};
  for (int i = 0; i < 3; ++i) {
    reads[i] = f.counter(systems[i], "reads");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f.counter(systems[i], "reads"), reads[i]) << systems[i];
    EXPECT_EQ(checksOf(f, systems[i]), 0u) << systems[i];
  }
  EXPECT_FALSE(archivedIn(f, "crm", "ann@example.com"));
}

TEST(ExistenceCheck, SystemOverrideTurnsItOffForThatSystemOnly) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  auto cfg = withCheck(f);
  for (auto& s : cfg.systems) {
    if (s.name == "erp") {
      s.existence_check.interval_ms = 0;
    }
  }
  f.start(std::move(cfg));
  ASSERT_TRUE(converged(f, "ann@example.com")) << f.debug();
  const int64_t erp_reads = f.counter("erp", "reads");
  const int64_t crm_reads = f.counter("crm", "reads");
  ASSERT_TRUE(waitFor([&] { return checksOf(f, "crm") >= 2 && checksOf(f, "fin") >= 2; },
                      std::chrono::seconds(20)))
      << f.debug();
  EXPECT_GT(f.counter("crm", "reads"), crm_reads);
  EXPECT_EQ(f.counter("erp", "reads"), erp_reads);
  EXPECT_EQ(checksOf(f, "erp"), 0u);
}

// The end of the last full check is stored: a restart counts the interval from it, and a check
// cut short resumes after the last native id it stored.
TEST(ExistenceCheck, RestartWaitsOutIntervalAndResumesAfterStoredId) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  ASSERT_TRUE(f.client().humanCreate(
      "crm", R"({"properties":{"email":"bob@example.com","firstname":"Bob","lastname":"Ray"}})"));
  f.start(withCheck(f));
  ASSERT_TRUE(converged(f, "ann@example.com") && converged(f, "bob@example.com")) << f.debug();
  ASSERT_TRUE(waitFor([&] { return checksOf(f, "erp") >= 1; }, std::chrono::seconds(20)))
      << f.debug();
  f.stop();
  const conflict::ActorId erp = actorOf(f.agent().store(), "erp");
  const std::string done_key = "existence/customer/" + std::to_string(erp) + "/done";
  const std::string after_key = "existence/customer/" + std::to_string(erp) + "/after";
  ASSERT_TRUE(noteOf(f.agent().store(), done_key).has_value());
  EXPECT_FALSE(noteOf(f.agent().store(), after_key).has_value());  // no check under way

  // A minute-long interval whose last check just ended: nothing is fetched after the restart.
  int64_t erp_reads = f.counter("erp", "reads");
  f.restart(withCheck(f, 60'000));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(f.counter("erp", "reads"), erp_reads);
  EXPECT_EQ(checksOf(f, "erp"), 0u);

  // A check under way that had got past the first of the two linked ERP records: the restart
  // resumes it at once and fetches only the second.
  f.stop();
  state::Store& store = f.agent().store();  // the stopped agent's, until the restart
  std::vector<state::Link> links;
  {
    auto snap = store.read();
    ASSERT_TRUE(snap);
    auto l = snap->links(erp, "", 10);
    ASSERT_TRUE(l);
    links = *l;
  }
  ASSERT_EQ(links.size(), 2u);
  state::Batch batch;
  batch.notes.emplace_back(after_key, links[0].native_id);
  ASSERT_TRUE(store.apply(batch));
  erp_reads = f.counter("erp", "reads");
  f.restart(withCheck(f, 60'000));
  ASSERT_TRUE(waitFor([&] { return checksOf(f, "erp") >= 1; }, std::chrono::seconds(20)))
      << f.debug();
  EXPECT_EQ(f.counter("erp", "reads"), erp_reads + 1);
  EXPECT_FALSE(noteOf(f.agent().store(), after_key).has_value());
}

TEST(ExistenceCheck, DrainEndsASleepingCheckAtOnce) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  f.start(withCheck(f, 6 * 3600 * 1000));
  ASSERT_TRUE(converged(f, "ann@example.com")) << f.debug();
  const auto t0 = std::chrono::steady_clock::now();
  f.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

// A reload retires the systems; their new generation starts only once the old loops ended, a
// check sleeping out a six-hour interval included.
TEST(ExistenceCheck, ReloadEndsASleepingCheckAndTheNewConfigurationRuns) {
  FixtureAgent f;
  ASSERT_TRUE(f.client().humanCreate("crm", kAnn));
  f.start(withCheck(f, 6 * 3600 * 1000));
  ASSERT_TRUE(converged(f, "ann@example.com")) << f.debug();
  ASSERT_TRUE(f.agent().reload(withCheck(f)));
  ASSERT_TRUE(waitFor([&] { return checksOf(f, "erp") >= 1 && checksOf(f, "crm") >= 1; },
                      std::chrono::seconds(20)))
      << f.debug();
  ASSERT_TRUE(f.client().humanRemove("erp", f.idOf("erp", "ann@example.com"), true));
  ASSERT_TRUE(waitFor(
      [&] {
        return archivedIn(f, "crm", "ann@example.com") && archivedIn(f, "fin", "ann@example.com") &&
               f.quiet();
      },
      std::chrono::seconds(20)))
      << f.debug();
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
