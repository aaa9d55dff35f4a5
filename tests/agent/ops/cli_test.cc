// The CLI command functions without a process: a real configuration (the demo's) in a temp dir,
// its LMDB state seeded with conflicts and dead letters, the admin API faked or real.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/ops/cli.h"
#include "agent/ops/json_out.h"
#include "tests/agent/ops/admin_fixture.h"
#include "tests/agent/ops/config_fixture.h"

namespace tandem::agent::ops::testing {
namespace {

namespace fs = std::filesystem;

struct Output {
  int code = -1;
  std::string out;
  std::string err;
};

template <class F>
Output capture(F&& f) {
  std::ostringstream out, err;
  Output o;
  o.code = f(out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = writeConfig(dir_.path(), "state", 7070);
    auto store = openStore(dir_.path() + "/state");
    ASSERT_TRUE(store);
    seeded_ = seedStore(*store);
    // Closed again before any command runs: one process must not open an LMDB env twice.
    ctx_.env = &env_;
    ctx_.store.sync = false;
    ctx_.clock = &clock_;
    ctx_.admin = [this](const mappers::Config&,
                        net::HttpRequest request) -> Result<std::optional<net::HttpResponse>> {
      admin_calls_.push_back(request.method + " " + request.target + " " + request.body);
      return admin_answer_;
    };
    ctx_.engine_config = [](const mappers::Config&, state::Store&) {
      return Result<engine::EngineConfig>(testEngineConfig());
    };
  }

  std::optional<conflict::ConflictEntry> stored(uint64_t id) {
    auto store = openStore(dir_.path() + "/state");
    auto snap = store->read();
    auto e = snap->conflict(id);
    EXPECT_TRUE(e);
    return e ? *e : std::nullopt;
  }

  tandem::testing::TempDir dir_{"tandem-cli"};
  TestEnv env_;
  SimulatedClock clock_{kT0 + 120000};
  std::string config_;
  Seeded seeded_;
  CliContext ctx_;
  std::vector<std::string> admin_calls_;
  std::optional<net::HttpResponse> admin_answer_;  // nullopt: the agent is not running
};

using Convergence = CliTest;

TEST_F(CliTest, ConflictsListShowsOpenOnesThenAll) {
  auto open = capture(
      [&](auto& out, auto& err) { return runConflictsList(config_, false, out, err, ctx_); });
  EXPECT_EQ(open.code, 0) << open.err;
  const std::string a = std::to_string(seeded_.open_id), c = std::to_string(seeded_.other_id);
  EXPECT_EQ(
      open.out,
      "ID  STATE  RECORD        FIELD    POLICY  SIDES                               OUTCOME "
      " CREATED\n" +
          a +
          "   open   customer/r-1  company  manual  crm=\"Acme Europe\"  fin=\"Acme GmbH\"  "
          "\"Acme\"   2025-11-29T10:00:03.000Z\n" +
          c +
          "   open   customer/r-2  tags     manual  crm=[\"vip\"]  fin=[\"churn\",\"vip\"]    "
          "[\"vip\"]  2025-11-29T10:00:03.000Z\n"
          "2 open conflicts\n");
  auto all = capture(
      [&](auto& out, auto& err) { return runConflictsList(config_, true, out, err, ctx_); });
  EXPECT_EQ(all.code, 0) << all.err;
  EXPECT_NE(all.out.find("resolved  customer/r-1  credit_limit  prefer"), std::string::npos)
      << all.out;
  EXPECT_NE(all.out.find("3 conflicts\n"), std::string::npos) << all.out;
  EXPECT_TRUE(admin_calls_.empty());  // listing reads the store, never the agent

  ConflictQuery query;
  query.all = true;
  query.record = "r-1";
  query.field = "credit_limit";
  auto filtered = capture(
      [&](auto& out, auto& err) { return runConflictsList(config_, query, out, err, ctx_); });
  EXPECT_EQ(filtered.code, 0) << filtered.err;
  EXPECT_NE(filtered.out.find("customer/r-1  credit_limit"), std::string::npos) << filtered.out;
  EXPECT_NE(filtered.out.find("\n1 conflict\n"), std::string::npos) << filtered.out;
  query.field = "phone";
  auto none = capture(
      [&](auto& out, auto& err) { return runConflictsList(config_, query, out, err, ctx_); });
  EXPECT_EQ(none.out, "no conflicts\n");
}

TEST_F(CliTest, ConflictsShowPrintsEverySide) {
  auto shown = capture([&](auto& out, auto& err) {
    return runConflictsShow(config_, std::to_string(seeded_.open_id), out, err, ctx_);
  });
  EXPECT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(shown.out, "conflict " + std::to_string(seeded_.open_id) +
                           " (open)\n"
                           "  record   r-1 (customer)\n"
                           "  field    company\n"
                           "  policy   manual\n"
                           "  created  2025-11-29T10:00:03.000Z\n"
                           "  SYSTEM  VALUE          CHANGED\n"
                           "  crm     \"Acme Europe\"  2025-11-29T10:00:01.000Z\n"
                           "  fin     \"Acme GmbH\"    2025-11-29T10:00:02.000Z\n"
                           "  held at  \"Acme\"\n");
  auto missing = capture(
      [&](auto& out, auto& err) { return runConflictsShow(config_, "999", out, err, ctx_); });
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "tandem conflicts show: conflict 999: no such conflict\n");
  auto bad = capture(
      [&](auto& out, auto& err) { return runConflictsShow(config_, "7x", out, err, ctx_); });
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err, "tandem conflicts show: conflict id \"7x\" is not a positive number\n");
}

TEST_F(Convergence, C23_ManualResolveViaCliOfflineThroughAnEngineOnTheStore) {
  const std::string id = std::to_string(seeded_.open_id);
  auto r = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, id, std::string("fin"), std::nullopt, "", out, err, ctx_);
  });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "conflict " + id +
                       " resolved: \"Acme GmbH\" (agent not running: the value is pushed when it "
                       "starts)\n");
  ASSERT_EQ(admin_calls_.size(), 1u);  // asked the agent first
  EXPECT_EQ(admin_calls_[0], "POST /v1/conflicts/" + id + "/resolve {\"take\":\"fin\"}");
  auto entry = stored(seeded_.open_id);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->open);
  EXPECT_EQ(entry->outcome, conflict::Value::string("Acme GmbH"));
  EXPECT_EQ(entry->note, "resolved offline with the CLI: took fin");
  {
    auto store = openStore(dir_.path() + "/state");
    auto snap = store->read();
    EXPECT_TRUE(snap->outboxEntry(kCrm, "r-1")->has_value());
  }
  auto again = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, id, std::nullopt, std::string("\"Acme\""), "", out, err,
                               ctx_);
  });
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err, "tandem conflicts resolve: conflict " + id +
                           ": already closed (resolved 2025-11-29T10:02:00.000Z)\n");
}

TEST_F(Convergence, C23_ManualResolveViaCliOfflineWithAValueAndNote) {
  const std::string id = std::to_string(seeded_.other_id);
  auto r = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, id, std::nullopt, std::string(R"(["vip","churn"])"),
                               "asked bob", out, err, ctx_);
  });
  EXPECT_EQ(r.code, 0) << r.err;
  auto entry = stored(seeded_.other_id);
  EXPECT_EQ(entry->outcome, conflict::Value::stringSet({"churn", "vip"}));
  EXPECT_EQ(entry->note, "asked bob");
}

TEST_F(CliTest, ResolveRefusesBadArgumentsWithExitTwo) {
  auto run = [&](std::string id, std::optional<std::string> take,
                 std::optional<std::string> value) {
    return capture([&](auto& out, auto& err) {
      return runConflictsResolve(config_, id, take, value, "", out, err, ctx_);
    });
  };
  const std::string id = std::to_string(seeded_.open_id);
  auto neither = run(id, std::nullopt, std::nullopt);
  EXPECT_EQ(neither.code, 2);
  EXPECT_EQ(neither.err, "tandem conflicts resolve: give either --take SYSTEM or --value JSON\n");
  EXPECT_EQ(run(id, "crm", "\"x\"").code, 2);
  auto not_json = run(id, std::nullopt, "Acme");
  EXPECT_EQ(not_json.code, 2);
  EXPECT_EQ(not_json.err,
            "tandem conflicts resolve: --value is not JSON (a string needs quotes: --value "
            "'\"Acme\"')\n");
  EXPECT_EQ(run("-1", "crm", std::nullopt).code, 2);
  EXPECT_TRUE(admin_calls_.empty());

  auto wrong_type = run(id, std::nullopt, "42");
  EXPECT_EQ(wrong_type.code, 1);
  EXPECT_EQ(wrong_type.err, "tandem conflicts resolve: value: field company is a string, got 42\n");
  auto no_side = run(id, "erp", std::nullopt);
  EXPECT_EQ(no_side.code, 1);
  EXPECT_EQ(no_side.err, "tandem conflicts resolve: conflict " + id +
                             " has no side from system \"erp\" (sides: crm, fin)\n");
  EXPECT_TRUE(stored(seeded_.open_id)->open);
}

TEST_F(CliTest, ResolveWithNoAgentAndNoEngineSaysSo) {
  ctx_.engine_config = nullptr;
  auto r = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, std::to_string(seeded_.open_id), std::string("crm"),
                               std::nullopt, "", out, err, ctx_);
  });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tandem conflicts resolve: the agent is not running and this build cannot resolve "
            "without it\n");
}

TEST_F(CliTest, ResolveGoesThroughTheAgentWhenItAnswers) {
  admin_answer_ = jsonResponse(200, R"({"id":1,"state":"resolved","outcome":"Acme GmbH"})");
  auto r = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, "1", std::string("fin"), std::nullopt, "per alice", out,
                               err, ctx_);
  });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "conflict 1 resolved: \"Acme GmbH\" (the agent pushes it now)\n");
  EXPECT_EQ(admin_calls_.at(0),
            R"(POST /v1/conflicts/1/resolve {"take":"fin","note":"per alice"})");
  EXPECT_TRUE(stored(seeded_.open_id)->open);  // the store was left to the agent

  admin_answer_ = jsonResponse(409, errorJson("conflict 1: already closed"));
  auto closed = capture([&](auto& out, auto& err) {
    return runConflictsResolve(config_, "1", std::string("fin"), std::nullopt, "", out, err, ctx_);
  });
  EXPECT_EQ(closed.code, 1);
  EXPECT_EQ(closed.err, "tandem conflicts resolve: conflict 1: already closed\n");
}

TEST_F(CliTest, StatusFromTheRunningAgent) {
  runtime::AgentStatus s;
  s.state = "running";
  s.ready = true;
  s.records_total = 56;
  s.outbox_depth = 2;
  s.systems.push_back({.name = "erp",
                       .breaker = "closed",
                       .pushes = {.success = 9},
                       .creates = 4,
                       .outbox_depth = 2,
                       .dead_letters = 0});
  s.detectors.push_back({.system = "crm",
                         .entity = "customer",
                         .webhook = true,
                         .initial_load_done = true,
                         .last_success_ms = 5,
                         .lag_ms = 1250,
                         .batches = 3,
                         .records = 56,
                         .errors = 0,
                         .last_error = ""});
  admin_answer_ = jsonResponse(200, statusToJson(s));
  auto r = capture([&](auto& out, auto& err) { return runStatus(config_, out, err, ctx_); });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "agent running, ready (admin API 127.0.0.1:7070)\n"
            "records 56  synced 0  outbox 2  open conflicts 0  dead letters 0\n"
            "\n"
            "SYSTEM  BREAKER  OUTBOX  DEAD  PUSHED  CREATED  RETRIED  STALE  REFUSED  GONE\n"
            "erp     closed   2       0     9       4        0        0      0        0\n"
            "\n"
            "DETECTOR      WEBHOOK  LOADED  LAG   BATCHES  RECORDS  ERRORS  LAST ERROR\n"
            "crm/customer  yes      yes     1.2s  3        56       0       -\n");
  EXPECT_EQ(admin_calls_.at(0), "GET /v1/status ");
}

TEST_F(CliTest, StatusWithTheAgentDownReadsTheStore) {
  auto r = capture([&](auto& out, auto& err) { return runStatus(config_, out, err, ctx_); });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "agent not running (nothing answers on 127.0.0.1:7070)\n"
            "stored state " +
                dir_.path() +
                "/state:\n"
                "records 2  outbox 0  open conflicts 2  dead letters 2\n");
}

// An operator's shell has none of the systems' tokens: the commands that only talk to the agent
// (or read its state) do not ask for them.
TEST_F(CliTest, StatusConflictsAndDeadLettersNeedNoneOfTheSystemsSecrets) {
  mappers::SystemConfigEnv bare;  // the real environment: no CRM_TOKEN, ERP_KEY, ...
  ASSERT_FALSE(bare.env("CRM_TOKEN")) << "the test process must not have CRM_TOKEN set";
  CliContext ctx = ctx_;
  ctx.env = &bare;
  auto status = capture([&](auto& out, auto& err) { return runStatus(config_, out, err, ctx); });
  EXPECT_EQ(status.code, 0) << status.err;
  auto conflicts = capture(
      [&](auto& out, auto& err) { return runConflictsList(config_, false, out, err, ctx); });
  EXPECT_EQ(conflicts.code, 0) << conflicts.err;
  auto dead =
      capture([&](auto& out, auto& err) { return runDeadLettersList(config_, out, err, ctx); });
  EXPECT_EQ(dead.code, 0) << dead.err;
}

TEST_F(CliTest, DeadLettersListAndRetryOffline) {
  auto listed =
      capture([&](auto& out, auto& err) { return runDeadLettersList(config_, out, err, ctx_); });
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_EQ(listed.out,
            "SYSTEM  RECORD  KIND    ATTEMPTS  TIME                      REASON\n"
            "crm     r-2     create  1         2025-11-29T10:00:06.000Z  422 email: invalid\n"
            "fin     r-1     update  3         2025-11-29T10:00:05.000Z  400 CreditLimit: must "
            "not be negative\n"
            "2 dead letters\n");
  auto half = capture([&](auto& out, auto& err) {
    return runDeadLettersRetry(config_, std::string("fin"), std::nullopt, out, err, ctx_);
  });
  EXPECT_EQ(half.code, 2);
  EXPECT_EQ(half.err,
            "tandem deadletters retry: give both --system and --record, or neither to retry every "
            "dead letter\n");
  auto one = capture([&](auto& out, auto& err) {
    return runDeadLettersRetry(config_, std::string("fin"), std::string("r-1"), out, err, ctx_);
  });
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out, "retried 1 dead letter (agent not running: they are pushed when it starts)\n");
  EXPECT_EQ(admin_calls_.at(0), R"(POST /v1/deadletters/retry {"system":"fin","record":"r-1"})");
  auto rest = capture([&](auto& out, auto& err) {
    return runDeadLettersRetry(config_, std::nullopt, std::nullopt, out, err, ctx_);
  });
  EXPECT_EQ(rest.code, 0) << rest.err;
  EXPECT_EQ(rest.out,
            "retried 1 dead letter (agent not running: they are pushed when it starts)\n");
  auto none =
      capture([&](auto& out, auto& err) { return runDeadLettersList(config_, out, err, ctx_); });
  EXPECT_EQ(none.out, "no dead letters\n");
}

TEST_F(CliTest, ConfigErrorsPrintWithFileLineAndColumn) {
  const std::string bad = dir_.path() + "/bad.json";
  std::ofstream(bad) << "{\n  \"agent\": {\"state_dir\": 5}\n}\n";
  auto r =
      capture([&](auto& out, auto& err) { return runConflictsList(bad, false, out, err, ctx_); });
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(bad + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" in " + bad + "\n"), std::string::npos) << r.err;
}

TEST_F(CliTest, ListingWithoutStateSaysTheAgentHasNotRun) {
  tandem::testing::TempDir fresh("tandem-cli-empty");
  const std::string config = writeConfig(fresh.path(), "state", 7070);
  auto r = capture(
      [&](auto& out, auto& err) { return runConflictsList(config, false, out, err, ctx_); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "tandem conflicts list: state: no state at " + fresh.path() +
                       "/state (the agent has not run with this configuration)\n");
  EXPECT_FALSE(fs::exists(fresh.path() + "/state"));  // nothing was created
}

// The CLI and a running agent: the real HTTP admin call to the configured port.
using CliWithAgent = AdminFixture;

TEST_F(CliWithAgent, C23_ResolveThroughTheRunningAgentsAdminApi) {
  start();
  tandem::testing::TempDir cfg_dir("tandem-cli-cfg");
  const std::string config = writeConfig(cfg_dir.path(), "state", server->port());
  TestEnv env;
  CliContext ctx;
  ctx.env = &env;  // default admin call: HTTP to 127.0.0.1:<port>
  const std::string id = std::to_string(seeded.open_id);
  std::ostringstream out, err;
  EXPECT_EQ(runConflictsResolve(config, id, std::nullopt, std::string("\"Acme Holding\""), "", out,
                                err, ctx),
            0)
      << err.str();
  EXPECT_EQ(out.str(),
            "conflict " + id + " resolved: \"Acme Holding\" (the agent pushes it now)\n");
  auto entry = storedConflict(seeded.open_id);
  EXPECT_FALSE(entry->open);
  EXPECT_EQ(entry->outcome, conflict::Value::string("Acme Holding"));
  EXPECT_EQ(entry->note, "resolved through the admin API: value set");
  EXPECT_FALSE(fs::exists(cfg_dir.path() + "/state"));  // the CLI never opened a store

  std::ostringstream s_out, s_err;
  EXPECT_EQ(runStatus(config, s_out, s_err, ctx), 0) << s_err.str();
  EXPECT_EQ(s_out.str().rfind("agent running, ready (admin API 127.0.0.1:", 0), 0u) << s_out.str();
}

}  // namespace
}  // namespace tandem::agent::ops::testing
