// End to end: the real `tandem run` between the three fixture systems over loopback.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "state/store.h"
#include "tests/e2e/world.h"

namespace tandem::e2e {
namespace {

using std::chrono::seconds;

struct Seeded {
  std::string crm, erp, fin, email;
};

std::vector<Seeded> seed(World& w, int count, const std::vector<std::string>& systems) {
  auto body = w.fixtures().seed(count, systems);
  EXPECT_TRUE(body) << (body ? "" : body.error().message);
  std::vector<Seeded> out;
  if (!body) {
    return out;
  }
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  for (const auto& r : doc["records"].GetArray()) {
    Seeded s;
    auto text = [&r](const char* k) -> std::string {
      if (!r.HasMember(k)) {
        return "";
      }
      return r[k].IsString() ? r[k].GetString() : std::to_string(r[k].GetInt64());
    };
    s.crm = text("crm");
    s.erp = text("erp");
    s.fin = text("fin");
    s.email = text("email");
    out.push_back(std::move(s));
  }
  return out;
}

int64_t creates(World& w, const std::string& system) {
  auto n = w.counter(system, "api_creates");
  EXPECT_TRUE(n) << (n ? "" : n.error().message);
  return n ? *n : -1;
}

// Each system received exactly this many creates through its API (none duplicated).
void expectCreates(World& w, int64_t crm, int64_t erp, int64_t fin) {
  EXPECT_EQ(creates(w, "crm"), crm);
  EXPECT_EQ(creates(w, "erp"), erp);
  EXPECT_EQ(creates(w, "fin"), fin);
}

// SIGTERM: the agent drains and exits 0.
void expectCleanStop(World& w) {
  auto code = w.stopAgent();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 0) << w.agentLogTail();
}

// 120 people: 60 only in the CRM, 20 in CRM+ERP, 20 in CRM+finance, 10 only in the ERP and 10
// only in finance. After the first sync each is in every system exactly once, and each system
// received exactly the creates it lacked (no duplicate create).
TEST(E2e, InitialSyncCreatesEveryCustomerOnceInEverySystem) {
  World w;
  seed(w, 60, {"crm"});
  seed(w, 20, {"crm", "erp"});
  seed(w, 20, {"crm", "fin"});
  seed(w, 10, {"erp"});
  seed(w, 10, {"fin"});
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(120)), "");
  expectCreates(w, 20, 90, 90);
  // The program runs on the heap allocator it was built with (agent/ops/heap.h).
  const std::string running = w.agentLogTail(100000, "tandem running");
#ifdef TANDEM_EXPECT_JEMALLOC
  EXPECT_NE(running.find("allocator=\"jemalloc 5."), std::string::npos) << running;
#else
  EXPECT_NE(running.find("allocator=\"glibc malloc\""), std::string::npos) << running;
#endif
  expectCleanStop(w);
}

// Case 5 end to end: the CRM changes the city while the ERP changes the phone of one customer;
// both survive in all three systems.
TEST(E2e, C05_DifferentFieldsOfOneCustomerInTwoSystemsBothSurvive) {
  World w;
  auto people = seed(w, 5, {"crm", "erp"});
  ASSERT_EQ(people.size(), 5u);
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(60)), "");
  const Seeded& p = people[0];
  ASSERT_TRUE(w.fixtures().humanEdit("crm", p.crm, R"({"properties":{"city":"Lisbon"}})"));
  ASSERT_TRUE(w.fixtures().humanEdit("erp", p.erp, R"({"phone":"+351 21 000 0000"})"));
  ASSERT_EQ(w.waitConverged(seconds(60)), "");
  auto views = w.views();
  ASSERT_TRUE(views);
  for (const auto& system : {"crm", "erp", "fin"}) {
    const auto& recs = (*views)[system].by_email[p.email];
    ASSERT_EQ(recs.size(), 1u) << system;
    const conflict::Value* city = recs[0].find("city");
    ASSERT_NE(city, nullptr) << system;
    EXPECT_EQ(city->toJson(), "\"Lisbon\"") << system;
  }
  const auto& fin = (*views)["fin"].by_email[p.email][0];
  ASSERT_NE(fin.find("phone"), nullptr);
  EXPECT_EQ(fin.find("phone")->toJson(), "\"+351 21 000 0000\"");
}

// The conflict entries the agent's admin API lists for one field (state=all).
std::vector<const rapidjson::Value*> conflictsOn(const rapidjson::Document& doc,
                                                 const std::string& field) {
  std::vector<const rapidjson::Value*> out;
  if (!doc.IsObject() || !doc.HasMember("conflicts")) {
    return out;
  }
  for (const auto& c : doc["conflicts"].GetArray()) {
    if (c["field"].GetString() == field) {
      out.push_back(&c);
    }
  }
  return out;
}

// Case 6 end to end: the ERP and finance set one customer's credit limit at once; the policy
// (prefer fin, then erp) decides everywhere and one conflict entry holds both sides.
TEST(E2e, C06_SameFieldInTwoSystemsAtOnceIsDecidedByPolicyAndLogged) {
  World w;
  auto people = seed(w, 3, {"crm", "erp", "fin"});
  ASSERT_EQ(people.size(), 3u);
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(60)), "");
  const Seeded& p = people[1];
  ASSERT_TRUE(w.fixtures().humanEdit("erp", p.erp, R"({"credit_limit":5000})"));
  ASSERT_TRUE(w.fixtures().humanEdit("fin", p.fin, R"({"CreditLimit":7500})"));
  ASSERT_EQ(w.waitConverged(seconds(60)), "");
  auto views = w.views();
  ASSERT_TRUE(views);
  for (const auto& system : {"erp", "fin"}) {
    const auto& recs = (*views)[system].by_email[p.email];
    ASSERT_EQ(recs.size(), 1u);
    ASSERT_NE(recs[0].find("credit_limit"), nullptr) << system;
    EXPECT_EQ(recs[0].find("credit_limit")->toJson(), "7500") << system;
  }
  auto body = w.adminGet("/v1/conflicts?state=all");
  ASSERT_TRUE(body) << body.error().message;
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  auto entries = conflictsOn(doc, "credit_limit");
  ASSERT_EQ(entries.size(), 1u) << *body;
  const auto& e = *entries[0];
  EXPECT_STREQ(e["policy"].GetString(), "prefer");
  std::set<std::string> sides;
  for (const auto& s : e["sides"].GetArray()) {
    sides.insert(s["system"].GetString());
  }
  EXPECT_TRUE(sides.count("erp") == 1 && sides.count("fin") == 1) << *body;
}

// Case 22 end to end: the state directory is lost after a sync while a person edited one
// system; a fresh start re-links every customer by email (no create anywhere) and settles the
// differing field by policy with a conflict entry instead of a blind overwrite.
TEST(E2e, C22_StateLostRelinksByMatchKeyWithoutDuplicates) {
  World w;
  auto people = seed(w, 20, {"crm"});
  seed(w, 5, {"erp", "fin"});
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(60)), "");
  const int64_t crm = creates(w, "crm");
  const int64_t erp = creates(w, "erp");
  const int64_t fin = creates(w, "fin");
  auto code = w.stopAgent();
  ASSERT_TRUE(code && *code == 0) << w.agentLogTail();
  ASSERT_TRUE(w.loseState());
  ASSERT_TRUE(w.fixtures().humanEdit("crm", people[0].crm, R"({"properties":{"city":"Porto"}})"));
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(90)), "");
  expectCreates(w, crm, erp, fin);
  auto body = w.adminGet("/v1/conflicts?state=all");
  ASSERT_TRUE(body) << body.error().message;
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  EXPECT_FALSE(conflictsOn(doc, "city").empty()) << *body;
}

// Case 21 end to end: kill -9 the agent at random moments of a first sync, restart it each time;
// the result is converged with exactly the creates each system lacked.
TEST(E2e, C21_KillNineDuringInitialSyncLosesAndDuplicatesNothing) {
  World w;
  seed(w, 150, {"crm"});
  seed(w, 30, {"erp", "fin"});
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> delay_ms(50, 600);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(w.startAgent()) << w.agentLogTail();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    w.killAgent();
  }
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(120)), "");
  expectCreates(w, 30, 150, 150);
}

// A full disk end to end: in the middle of a first sync of 4,000 customers the agent's store
// cannot grow any more (its file-size limit is lowered to what it holds: a write past it fails
// with EFBIG, as a full disk fails it with ENOSPC), while a reader (a backup, say) holds a
// snapshot, so commits can reuse only the pages that were free before it, and 2,000 more
// customers are created in the CRM: feed pages, refills of the outbox and push answers fail. The
// agent keeps running and answering its admin API, says why it is stuck without spinning on it, and
// loses nothing: once there is room again every customer is in the ERP and finance exactly once.
TEST(E2e, FullDiskHoldsTheChangesUntilThereIsRoomAndLosesNoneOfThem) {
  World w;
  seed(w, 4000, {"crm"});
  // Finance answers slowly: its creates are still due when the disk fills.
  ASSERT_TRUE(w.fixtures().setSettings("fin", R"({"latency_min_ms":1000,"latency_max_ms":1000})"));
  ASSERT_TRUE(w.startAgent());
  for (const auto until = std::chrono::steady_clock::now() + seconds(60);
       creates(w, "erp") < 4000 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(creates(w, "erp"), 4000) << w.agentLogTail();
  {
    state::Options o;
    o.sync = false;
    auto reader = state::Store::open(w.dir() + "/state", o);
    ASSERT_TRUE(reader) << reader.error().message;
    auto snapshot = (*reader)->read();
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    // The log shares the limit: emptied, it has the room the store had.
    ASSERT_TRUE(w.setAsideAgentLog());
    ASSERT_TRUE(w.limitAgentFileSize(w.fileSize("state/data.mdb")));
    ASSERT_LT(creates(w, "fin"), 4000) << "the load was over before the disk was full";
    // More than the free pages the store had when the snapshot began can hold (~1.7 KB each).
    seed(w, 2000, {"crm"});
    for (const auto until = std::chrono::steady_clock::now() + seconds(6);
         std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      ASSERT_TRUE(w.agentRunning()) << w.agentLogTail();
      ASSERT_TRUE(w.agentStatus()) << "the admin API stopped answering:\n" << w.agentLogTail();
    }
  }
  const auto log_lines = [&w](std::string_view containing) {
    const std::string tail = w.agentLogTail(100000, containing);
    return std::count(tail.begin(), tail.end(), '\n');
  };
  EXPECT_GT(log_lines("MB free; a file-size limit (ulimit -f) fails writes too)"), 0)
      << "no error naming the failed write in the log:\n"
      << w.agentLogTail();
  EXPECT_LT(creates(w, "erp"), 6000) << "the store did not run out of room";
  // A refill that fails (when one is due: finance's creates may all be queued already) is tried
  // again a poll interval (200 ms) later, not at once: a few dozen attempts in 6 s, not
  // thousands.
  EXPECT_LE(log_lines("due pushes not taken"), 60) << w.agentLogTail();
  ASSERT_TRUE(w.limitAgentFileSize(std::nullopt));
  ASSERT_TRUE(w.fixtures().setSettings("fin", R"({"latency_min_ms":0,"latency_max_ms":0})"));
  ASSERT_EQ(w.waitConverged(seconds(180)), "");
  expectCreates(w, 0, 6000, 6000);
  expectCleanStop(w);
}

// A disk whose fsync fails (write-back errors) while customers are created in the CRM: a create
// is sent only once its mark as sent is on disk (so that after a crash it is read back by its
// key, not created twice), so while no fsync succeeds not one create goes out, and the agent
// keeps running and says why. Creates found not durable are unmarked (they were not sent), so a
// short failure delays them only until fsync works again, not until their lease (30 s) ends.
// After a long one (past the store's deferral bound, when commits wait for their own fsync and
// fail) the same holds. Each customer reaches the ERP and finance exactly once.
TEST(E2e, FsyncFailuresSendNoCreateBeforeItsMarkIsDurableAndLoseNothing) {
  World w;
  const std::string flag = w.dir() + "/fail-fsync";
  const char* asan = std::getenv("ASAN_OPTIONS");
  w.setAgentEnv(
      {std::string("LD_PRELOAD=") + TANDEM_FAIL_FSYNC_LIB, "TANDEM_TEST_FAIL_FSYNC=" + flag,
       // An ASan build's runtime must otherwise come first among preloaded libraries.
       std::string("ASAN_OPTIONS=") + (asan != nullptr ? asan : "") + ":verify_asan_link_order=0"});
  seed(w, 300, {"crm"});
  ASSERT_TRUE(w.startAgent());
  ASSERT_EQ(w.waitConverged(seconds(120)), "");
  int64_t expected = 300;
  // `ms` of failing fsyncs while `customers` are created in the CRM: none of them goes out.
  const auto failFsyncFor = [&](int64_t ms, int customers) {
    { std::ofstream(flag) << "fsync fails while this file exists\n"; }
    seed(w, customers, {"crm"});
    for (const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
         std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ASSERT_TRUE(w.agentRunning()) << w.agentLogTail();
      ASSERT_TRUE(w.agentStatus()) << "the admin API stopped answering:\n" << w.agentLogTail();
    }
    EXPECT_EQ(creates(w, "erp"), expected) << "a create went out before its mark was durable";
    EXPECT_EQ(creates(w, "fin"), expected) << "a create went out before its mark was durable";
    std::filesystem::remove(flag);
    expected += customers;
  };
  // Shorter than the deferral bound (3 x kMaxDeferMs): the marks and unmarks themselves commit.
  failFsyncFor(1500, 500);
  const std::string not_sent = w.agentLogTail(100000, "creates not sent");
  EXPECT_NE(not_sent.find("ERROR"), std::string::npos) << w.agentLogTail();
  // Tried again about every poll interval (200 ms) per system, not at once.
  EXPECT_LE(std::count(not_sent.begin(), not_sent.end(), '\n'), 40) << not_sent;
  ASSERT_EQ(w.waitConverged(seconds(20)), "") << "the creates waited for their lease";
  expectCreates(w, 0, expected, expected);
  failFsyncFor(5000, 500);
  ASSERT_EQ(w.waitConverged(seconds(180)), "");
  expectCreates(w, 0, expected, expected);
  expectCleanStop(w);
}

}  // namespace
}  // namespace tandem::e2e
