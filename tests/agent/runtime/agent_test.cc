// The Agent's operator-facing behaviour against fake systems: unreadable records, webhooks,
// drain, reload, status, plan.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/runtime/names.h"
#include "tests/agent/runtime/harness.h"

namespace tandem::agent::runtime::testing {
namespace {

const std::string kBob = "bob@example.com";
const std::string kAlice = "alice@example.com";

TEST(Runtime, MappingErrorIsDeadLetteredWithReasonAndDoesNotBlockTheBatch) {
  RuntimeHarness h;
  std::string bad = h.sys("crm").humanCreate({{"name", "No Email"}});  // email is required
  std::string broken = h.sys("crm").addUnreadable("field /updatedAt: expected a string");
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  ASSERT_TRUE(waitFor([&] { return h.agent().status().dead_letters == 2; }));
  auto snap = h.agent().store().read();
  ASSERT_TRUE(snap);
  auto dead = snap->deadLetters(std::nullopt, 10);
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 2u);
  std::map<std::string, std::string> reasons;
  for (const auto& d : *dead) {
    reasons[d.record] = d.reason;
  }
  EXPECT_EQ(reasons["native:customer:" + bad], "mapping crm.customer record " + bad +
                                                   ": field email (/email): required field is "
                                                   "missing or empty");
  EXPECT_EQ(reasons["native:customer:" + broken],
            "mapping crm.customer record " + broken + ": field /updatedAt: expected a string");
  EXPECT_EQ(h.agent().status().records_total, 1u);
}

TEST(Runtime, InitialLoadOfALargeFeedShowsProgress) {
  RuntimeHarness h;
  for (int i = 0; i < 120; ++i) {  // the fake feed pages by 50: three batches
    h.sys("crm").humanCreate({{"email", "p" + std::to_string(i) + "@example.com"}});
  }
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged("p119@example.com"); }));
  EXPECT_GT(h.agent().status().writer_busy_ms, 0u);  // 120 ingests and 240 creates' answers
  h.shutdown();
  const std::string out = h.progressText();
  EXPECT_NE(out.find("initial load crm.customer: 50 records"), std::string::npos) << out;
  EXPECT_NE(out.find("initial load crm.customer: done, 120 records"), std::string::npos) << out;
  EXPECT_NE(h.logText().find("initial load done"), std::string::npos);
}

// A bulk load reads thousands of pages: each page's request goes out while the page before it is
// taken in (the writer's ingest), not after, so the round trips overlap the store's work.
TEST(Runtime, TheFeedsNextPageIsAskedForWhileThisOneIsTakenIn) {
  RuntimeHarness h;
  for (int i = 0; i < 200; ++i) {  // four pages of 50
    h.sys("crm").humanCreate({{"email", "p" + std::to_string(i) + "@example.com"}});
  }
  std::mutex mu;
  std::vector<uint64_t> taken_in;  // pages the detector had taken in as each request started
  h.sys("crm").setFeedWatch([&] {
    const uint64_t batches = h.detectorOf("crm").batches;
    std::lock_guard lock(mu);
    taken_in.push_back(batches);
  });
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged("p199@example.com"); }));
  EXPECT_EQ(h.detectorOf("crm").records, 200u);
  h.shutdown();
  std::lock_guard lock(mu);
  ASSERT_GE(taken_in.size(), 4u);
  // One after the other, the requests would find 0, 1, 2, 3 pages taken in.
  EXPECT_EQ(std::vector<uint64_t>(taken_in.begin(), taken_in.begin() + 4),
            (std::vector<uint64_t>{0, 0, 1, 2}));
}

TEST(Webhooks, VerifiedDeliveryFetchesTheNamedRecordAtOnce) {
  RuntimeHarness h;
  h.start(h.config({"crm", "erp", "fin"}, 600'000));  // polls only once, at start
  ASSERT_TRUE(waitFor([&] { return h.initialLoadsDone(); }));
  std::string id = h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  auto r = h.post("/hooks/crm", "[\"" + id + "\",\"" + id + "\"]", "good");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"accepted\":1}");
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  EXPECT_EQ(h.sys("crm").getCalls(), 1u);
  auto st = h.agent().status();
  ASSERT_EQ(st.webhooks.size(), 1u);
  EXPECT_EQ(st.webhooks[0].system, "crm");
  EXPECT_EQ(st.webhooks[0].accepted, 1u);
  EXPECT_EQ(st.webhooks[0].rejected, 0u);
}

TEST(Webhooks, BadSignatureIs401WithTheReasonAndIngestsNothing) {
  RuntimeHarness h;
  h.sys("crm").setFeedPaused(true);
  h.start(h.config({"crm", "erp", "fin"}, 600'000));
  std::string id = h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  auto r = h.post("/hooks/crm", "[\"" + id + "\"]", "forged");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "{\"error\":\"webhook crm: signature mismatch\"}");
  auto garbage = h.post("/hooks/crm", "{not json", "good");
  EXPECT_EQ(garbage.status, 401);
  EXPECT_EQ(h.sys("crm").getCalls(), 0u);
  auto st = h.agent().status();
  EXPECT_EQ(st.records_total, 0u);
  ASSERT_EQ(st.webhooks.size(), 1u);
  EXPECT_EQ(st.webhooks[0].rejected, 2u);
  EXPECT_EQ(st.webhooks[0].accepted, 0u);
  h.agent().stopIntake();
  EXPECT_EQ(h.post("/hooks/crm", "[]", "good").status, 503);
  h.shutdown();
  EXPECT_NE(h.logText().find("webhook rejected"), std::string::npos);
  EXPECT_EQ(h.logText().find("hook-secret"), std::string::npos);  // never a secret in the log
}

// Two reads of one record overlap: a webhook's slow get, and the get of a second webhook after
// the record changed again within the same updated time (a whole-second clock). The slow one is
// answered last. Taken in after the newer version, it looked like a change back (the merge cannot
// tell the two apart by updated time) and its older value went to the other systems for good: a
// feed does not report a version it has reported again. It is read again instead.
TEST(Webhooks, ASlowReadAnsweredAfterANewerOneDoesNotUndoIt) {
  RuntimeHarness h;
  h.start(h.config({"crm", "erp", "fin"}, 600'000));  // polls only once, at start
  ASSERT_TRUE(waitFor([&] { return h.initialLoadsDone(); }));
  FakeSystem& crm = h.sys("crm");
  const std::string id = crm.humanCreate({{"email", kBob}, {"name", "Bob"}, {"phone", "100"}});
  ASSERT_EQ(h.post("/hooks/crm", "[\"" + id + "\"]", "good").status, 200);
  ASSERT_TRUE(waitFor([&] {
    return h.converged(kBob) && h.sys("fin").field(kBob, "phone") == "100" &&
           h.sys("erp").field(kBob, "phone") == "100";
  }));

  crm.setClockStill(true);
  crm.setGetDelayMs(400);
  crm.humanEdit(id, "phone", "111");
  const size_t gets = crm.getCalls();
  ASSERT_EQ(h.post("/hooks/crm", "[\"" + id + "\"]", "good").status, 200);
  ASSERT_TRUE(waitFor([&] { return crm.getCalls() == gets + 1; }));  // read "111", answers late
  crm.setGetDelayMs(0);
  crm.humanEdit(id, "phone", "222");
  ASSERT_EQ(h.post("/hooks/crm", "[\"" + id + "\"]", "good").status, 200);
  ASSERT_TRUE(waitFor([&] {
    return h.sys("fin").field(kBob, "phone") == "222" && h.sys("erp").field(kBob, "phone") == "222";
  }));
  // The slow answer arrives and is taken in; the record is read again, which changes nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  EXPECT_GE(crm.getCalls(), gets + 3);
  for (const char* s : {"crm", "erp", "fin"}) {
    EXPECT_EQ(h.sys(s).field(kBob, "phone"), "222") << s;
  }
  h.shutdown();
  EXPECT_NE(h.logText().find("records read before a newer write or read of them are read again"),
            std::string::npos)
      << h.logText();
}

// A feed that keeps failing is one warning and then debug lines, so the log does not fill up;
// but an operator reading only the warnings must still learn, now and then, that it has not
// been read since, and then that it is read again.
TEST(Agent, AFeedThatKeepsFailingIsWarnedAboutAgainAndItsRecoveryIsLogged) {
  RuntimeHarness h;
  h.tweak_options = [](AgentOptions& o) { o.failure_rewarn_ms = 150; };
  h.start(h.config());
  auto finDetector = [&] { return h.detectorOf("fin"); };
  ASSERT_TRUE(waitFor([&] { return finDetector().initial_load_done; }));
  h.sys("fin").setDown(true);
  ASSERT_TRUE(waitFor([&] { return finDetector().errors >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past two re-warn intervals
  h.sys("fin").setDown(false);
  ASSERT_TRUE(waitFor([&] { return finDetector().last_error.empty(); }));
  const uint64_t failed = finDetector().errors;
  h.shutdown();

  const std::string log = h.logText();
  const std::string warn = "WARN  detector: fetch failed system=fin";
  size_t warns = 0;
  size_t rewarns = 0;
  for (size_t at = log.find(warn); at != std::string::npos; at = log.find(warn, at + 1)) {
    ++warns;
    const std::string line = log.substr(at, log.find('\n', at) - at);
    rewarns += line.find(" failures=") != std::string::npos ? 1 : 0;
  }
  EXPECT_GE(rewarns, 1u) << log;
  EXPECT_EQ(warns, rewarns + 1) << log;  // the first, then only the re-warnings
  EXPECT_LT(warns, failed) << log;       // the other repeats stayed at debug level
  EXPECT_NE(log.find("DEBUG detector: fetch failed system=fin"), std::string::npos) << log;
  EXPECT_NE(log.find("INFO  detector: reading again system=fin"), std::string::npos) << log;
}

// A system that is down fails every push of every record, over and over. One line says so per
// kind of failure, the repeats (whatever the record) are debug lines, and the first push that
// goes through afterwards says so once.
TEST(Agent, PushesFailingTheSameWayAreOneLineEachAndTheirRecoveryIsLogged) {
  RuntimeHarness h;
  h.start(h.config());
  auto fin = [&] { return h.systemOf("fin"); };
  ASSERT_TRUE(waitFor([&] { return h.initialLoadsDone(); }));
  h.sys("fin").setDown(true);
  const std::vector<std::string> emails = {"p1@example.com", "p2@example.com", "p3@example.com"};
  for (const auto& email : emails) {
    h.sys("crm").humanCreate({{"email", email}, {"name", "P"}});
  }
  ASSERT_TRUE(waitFor([&] { return fin().pushes.retryable >= 9; }));
  // The daemon watches counters() often: the same counters, without walking the outbox.
  EXPECT_GE(h.agent().status().outbox_depth, 1u);
  const AgentStatus counted = h.agent().counters();
  EXPECT_EQ(counted.outbox_depth, 0u);
  EXPECT_FALSE(counted.systems.empty());
  h.sys("fin").setDown(false);
  for (const auto& email : emails) {
    ASSERT_TRUE(waitFor([&] { return h.converged(email); })) << email;
  }
  const uint64_t failed = fin().pushes.retryable;
  h.shutdown();

  const std::string log = h.logText();
  const std::string said = "INFO  push failed, will retry system=fin";
  size_t lines = 0;
  for (size_t at = log.find(said); at != std::string::npos; at = log.find(said, at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 3u) << log;  // one per kind of failure, not one per push
  EXPECT_LT(lines, failed) << log;
  EXPECT_NE(log.find("DEBUG push failed, will retry system=fin"), std::string::npos) << log;
  EXPECT_NE(log.find("INFO  pushes go through again system=fin failures="), std::string::npos)
      << log;
}

TEST(Agent, DrainLetsInFlightPushesFinishAndCallsDoneOnce) {
  RuntimeHarness h;
  h.sys("erp").setPushDelayMs(300);
  h.start(h.config());
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  ASSERT_TRUE(waitFor([&] { return h.sys("erp").inFlight() == 1; }));
  EXPECT_EQ(h.drain(), 1) << h.agent().status().state;
  // The create that was in flight finished and its answer was recorded (the link): nothing for
  // the ERP is left in the outbox.
  EXPECT_EQ(h.sys("erp").countEmail(kBob), 1u);
  EXPECT_EQ(h.sys("erp").inFlight(), 0);
  auto st = h.agent().status();
  EXPECT_EQ(st.state, "stopped");
  EXPECT_FALSE(st.ready);
  for (const auto& s : st.systems) {
    if (s.name == "erp") {
      EXPECT_EQ(s.outbox_depth, 0u);
      EXPECT_EQ(s.creates, 1u);
    }
  }
  // Nothing new starts after the drain.
  const size_t calls = h.sys("crm").getCalls() + h.sys("erp").writeCalls();
  h.sys("crm").humanCreate({{"email", "late@example.com"}});
  EXPECT_FALSE(waitFor([&] { return h.sys("erp").countEmail("late@example.com") > 0; },
                       std::chrono::milliseconds(200)));
  EXPECT_EQ(h.sys("crm").getCalls() + h.sys("erp").writeCalls(), calls);
  EXPECT_EQ(h.doneCalls().load(), 1);
}

// A bug met by one record (an exception out of a detector's read) must not stop a system's
// sync for good: the loop is logged as failed, started again, and what it had to read arrives.
TEST(Agent, ADetectorThatThrowsIsRestartedAndItsRecordsStillSync) {
  RuntimeHarness h;
  h.sys("crm").setFeedThrows(2);
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  h.sys("crm").humanCreate({{"email", kAlice}, {"name", "Alice"}});
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice); }));
  EXPECT_EQ(h.drain(), 1);  // the restarted loop ends with the drain like any other
  h.shutdown();
  const std::string log = h.logText();
  EXPECT_NE(log.find("runtime: loop failed, restarting it"), std::string::npos) << log;
  EXPECT_NE(log.find("fake crm: the feed threw"), std::string::npos) << log;
  EXPECT_NE(log.find("loop=\"detector crm.customer\""), std::string::npos) << log;
}

// An exception out of a push is that push's retryable failure: its slot and its record are
// freed, and the create goes out again (once: read back by its key) instead of hanging.
TEST(Agent, APushThatThrowsIsRetriedAndCreatesOnce) {
  RuntimeHarness h;
  h.sys("erp").setWriteThrows(3);
  h.start(h.config());
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  EXPECT_EQ(h.sys("erp").countEmail(kBob), 1u);
  EXPECT_EQ(h.drain(), 1);
  h.shutdown();
  EXPECT_NE(h.logText().find("fake erp: the write threw"), std::string::npos) << h.logText();
}

TEST(Agent, ReloadAddsASystemAndKeepsActorIds) {
  RuntimeHarness h;
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  h.sys("crm").humanCreate({{"email", kAlice}, {"name", "Alice"}});
  // Finance already holds Alice: the placement must link her, not create a second one.
  h.sys("fin").humanCreate({{"email", kAlice}, {"name", "Alice"}, {"phone", "7"}});
  h.start(h.config({"crm", "erp"}));
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob, {"crm", "erp"}); }));
  ASSERT_TRUE(waitFor([&] { return h.converged(kAlice, {"crm", "erp"}); }));
  auto before = h.agent().store().read()->actors();
  ASSERT_TRUE(before);
  auto reloaded = h.agent().reload(h.config({"crm", "erp", "fin"}));
  ASSERT_TRUE(reloaded) << reloaded.error().message;
  // Records that do not change again still reach the added system (placed once it joins), and
  // the person it already held is linked by email.
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob) && h.converged(kAlice); }));
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  EXPECT_EQ(h.sys("fin").countEmail(kAlice), 1u);
  EXPECT_EQ(h.sys("crm").field(kAlice, "phone"), h.sys("fin").field(kAlice, "phone"));
  // Edits keep flowing after the swap, through the new detectors and pushers.
  h.sys("erp").humanEdit(*h.sys("erp").idByEmail(kBob), "phone", "42");
  ASSERT_TRUE(waitFor([&] {
    return h.converged(kBob) && h.sys("crm").field(kBob, "phone") == "42" &&
           h.sys("fin").field(kBob, "phone") == "42";
  }));
  EXPECT_EQ(h.sys("erp").creates(), 2u);
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  auto after = h.agent().store().read()->actors();
  ASSERT_TRUE(after);
  for (const auto& actor : *before) {
    EXPECT_NE(std::find(after->begin(), after->end(), actor), after->end()) << actor.first;
  }
  EXPECT_EQ(after->size(), before->size() + 1);
  EXPECT_EQ(h.agent().config().systems.size(), 3u);
}

TEST(Agent, SystemAddedWhileStoppedGetsTheStoredRecordsOnce) {
  RuntimeHarness h;
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  h.start(h.config({"crm", "erp"}));
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob, {"crm", "erp"}); }));
  h.stopAgent();
  h.start(h.config({"crm", "erp", "fin"}));
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  h.stopAgent();
  // Started again with the same systems: nothing is placed twice.
  h.start(h.config({"crm", "erp", "fin"}));
  ASSERT_TRUE(waitFor([&] { return h.agent().status().outbox_depth == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(h.sys("fin").creates(), 1u);
  EXPECT_EQ(h.sys("erp").creates(), 1u);
}

TEST(Agent, ReloadWithABrokenSystemKeepsTheOldConfiguration) {
  RuntimeHarness h;
  h.start(h.config({"crm", "erp"}));
  auto cfg = h.config({"crm", "erp", "fin"});
  cfg.systems[2].entities[0].entity = "invoice";  // no such entity
  auto reloaded = h.agent().reload(std::move(cfg));
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().message, "runtime: system fin: unknown entity \"invoice\"");
  EXPECT_EQ(h.agent().config().systems.size(), 2u);
  h.sys("crm").humanCreate({{"email", kBob}});
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob, {"crm", "erp"}); }));
}

TEST(Agent, StatusCountsPushesHttpAndDetectors) {
  RuntimeHarness h;
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  EXPECT_EQ(h.make(h.config()).status().state, "starting");
  ASSERT_TRUE(h.agent().start());
  EXPECT_FALSE(h.agent().start());  // twice is an error
  EXPECT_TRUE(h.agent().ready());
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  // A detector counts its page once the ingest returns, and the pushes that ingest started may
  // have converged the record before that: wait for the counts too.
  ASSERT_TRUE(waitFor([&] {
    const auto now = h.agent().status();
    return now.records_synced >= 1 &&
           std::all_of(now.detectors.begin(), now.detectors.end(),
                       [](const auto& d) { return d.initial_load_done; });
  }));
  auto st = h.agent().status();
  EXPECT_EQ(st.state, "running");
  EXPECT_EQ(st.records_total, 1u);
  EXPECT_GE(st.records_synced, 1u);
  ASSERT_EQ(st.detectors.size(), 3u);
  for (const auto& d : st.detectors) {
    EXPECT_EQ(d.entity, "customer");
    EXPECT_TRUE(d.initial_load_done) << d.system;
    EXPECT_GT(d.last_success_ms, 0) << d.system;
    EXPECT_EQ(d.webhook, d.system == "crm");
  }
  ASSERT_EQ(st.systems.size(), 3u);
  for (const auto& s : st.systems) {
    EXPECT_EQ(s.breaker, "closed");
    EXPECT_EQ(s.pushes.success, s.name == "crm" ? 0u : 1u) << s.name;
    EXPECT_EQ(s.creates, s.name == "crm" ? 0u : 1u) << s.name;
  }
  bool saw_create = false;
  for (const auto& http : st.http) {
    if (http.system == "erp" && http.op == "create") {
      saw_create = true;
      EXPECT_EQ(http.count, 1u);
      EXPECT_EQ(http.buckets[2], 1u);  // 3 ms: the (0.0025, 0.005] bucket
      EXPECT_EQ(http.status_classes[2], 1u);
    }
  }
  EXPECT_TRUE(saw_create);
}

TEST(Plan, ReportsWhatWouldHappenAndWritesNothing) {
  RuntimeHarness h;
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  h.sys("crm").humanCreate({{"name", "No Email"}});
  auto cfg = h.config();
  auto report = plan(h.io().ioc(), cfg, h.options());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->fetched, 2u);
  EXPECT_EQ(report->new_records, 1u);
  EXPECT_EQ(report->creates, 2u);  // in erp and in fin
  EXPECT_EQ(report->errors, 1u);
  EXPECT_EQ(report->conflicts, 0u);
  std::vector<std::string> actions;
  for (const auto& item : report->items) {
    actions.push_back(item.system + ":" + item.action);
  }
  std::sort(actions.begin(), actions.end());
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0], "crm:create in erp");
  EXPECT_EQ(actions[1], "crm:create in fin");
  EXPECT_EQ(actions[2].rfind("crm:dead-letter: mapping crm.customer record", 0), 0u) << actions[2];
  EXPECT_EQ(h.sys("erp").writeCalls() + h.sys("fin").writeCalls(), 0u);
  EXPECT_FALSE(std::filesystem::exists(cfg.agent.state_dir));  // no state was created
}

TEST(Plan, AgainstExistingStateOnlyReadsIt) {
  RuntimeHarness h;
  h.sys("crm").humanCreate({{"email", kBob}, {"name", "Bob"}});
  auto cfg = h.config();
  h.start(h.config());
  ASSERT_TRUE(waitFor([&] { return h.converged(kBob); }));
  // ... and the creates came back through the ERP's and finance's feeds (their echo).
  ASSERT_TRUE(waitFor([&] {
    auto st = h.agent().status();
    return std::all_of(st.detectors.begin(), st.detectors.end(),
                       [](const DetectorStatus& d) { return d.records >= 1; });
  }));
  h.shutdown();
  h.sys("crm").humanEdit(*h.sys("crm").idByEmail(kBob), "phone", "77");
  const auto size = std::filesystem::file_size(cfg.agent.state_dir + "/data.mdb");
  const auto mtime = std::filesystem::last_write_time(cfg.agent.state_dir + "/data.mdb");
  IoRunner io(1);
  auto report = plan(io.ioc(), cfg, h.options());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->updated_records, 1u);
  EXPECT_EQ(report->creates, 0u);
  EXPECT_EQ(report->updates, 2u);
  bool saw = false;
  for (const auto& item : report->items) {
    if (item.action == "update erp (phone)") {
      saw = true;
      EXPECT_EQ(item.system, "crm");
      EXPECT_EQ(item.native_id, *h.sys("crm").idByEmail(kBob));
    }
  }
  EXPECT_TRUE(saw);
  EXPECT_EQ(h.sys("erp").field(kBob, "phone"), "");
  EXPECT_EQ(std::filesystem::file_size(cfg.agent.state_dir + "/data.mdb"), size);
  EXPECT_EQ(std::filesystem::last_write_time(cfg.agent.state_dir + "/data.mdb"), mtime);
}

}  // namespace
}  // namespace tandem::agent::runtime::testing
