// The admin API over a real HttpServer on 127.0.0.1:0 with a fake Agent over a seeded LMDB store:
// every endpoint, readiness flipping, resolution (take / value / bad input / unknown / closed),
// the bearer token, dead letters.

#include <gtest/gtest.h>

#include "agent/ops/json_out.h"
#include "tests/agent/ops/admin_fixture.h"

namespace tandem::agent::ops::testing {
namespace {

using AdminApiTest = AdminFixture;
using Convergence = AdminFixture;  // CONVERGENCE.md case 23 through the admin API
using conflict::Value;

std::string id(uint64_t n) {
  return std::to_string(n);
}

TEST_F(AdminApiTest, LivezAlwaysReadyzFlipsWithAgentAndDrain) {
  start();
  agent->ready_flag = false;
  EXPECT_EQ(get("/livez").status, 200);
  auto starting = get("/readyz");
  EXPECT_EQ(starting.status, 503);
  EXPECT_EQ(starting.body, R"({"ready":false,"state":"starting"})");
  agent->ready_flag = true;
  auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"ready":true})");
  api->setDraining();
  auto draining = get("/readyz");
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(draining.body, R"({"ready":false,"state":"draining"})");
  auto status = statusFromJson(get("/v1/status").body);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->state, "draining");
  EXPECT_FALSE(status->ready);
  EXPECT_EQ(get("/livez").status, 200);
}

TEST_F(AdminApiTest, StatusAndMetricsComeFromTheAgent) {
  runtime::AgentStatus s;
  s.state = "running";
  s.records_total = 56;
  s.outbox_depth = 3;
  s.open_conflicts = 2;
  s.dead_letters = 2;
  s.systems.push_back({.name = "crm",
                       .breaker = "closed",
                       .pushes = {},
                       .creates = 4,
                       .outbox_depth = 3,
                       .dead_letters = 1});
  s.detectors.push_back({.system = "crm",
                         .entity = "customer",
                         .lag_ms = 250,
                         .last_error = "",
                         .existence_checks = 2,
                         .existence_checked = 10,
                         .existence_deletes = 1});
  agent->setStatus(s);
  start();
  auto r = get("/v1/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto parsed = statusFromJson(r.body);
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << r.body;
  s.ready = true;  // the admin API reports its own view of readiness
  EXPECT_EQ(parsed->outbox_depth, 3u);
  EXPECT_EQ(parsed->records_total, 56u);
  EXPECT_EQ(parsed->systems.at(0).creates, 4u);
  EXPECT_EQ(parsed->detectors.at(0).lag_ms, 250);
  EXPECT_EQ(parsed->detectors.at(0).existence_deletes, 1u);
  EXPECT_TRUE(parsed->ready);
  EXPECT_EQ(statusToJson(*parsed), statusToJson(s));

  auto m = get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("\ntandem_ready 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\ntandem_outbox_depth{system=\"crm\"} 3\n"), std::string::npos);
}

TEST_F(AdminApiTest, ListConflictsWithFiltersAndPaging) {
  start();
  auto ids = [](const std::string& body) {
    std::string out;
    for (size_t at = body.find("{\"id\":"); at != std::string::npos;
         at = body.find("{\"id\":", at + 1)) {
      out += (out.empty() ? "" : ",") + body.substr(at + 6, body.find(',', at) - at - 6);
    }
    return out;
  };
  const std::string a = id(seeded.open_id), b = id(seeded.closed_id), c = id(seeded.other_id);
  EXPECT_EQ(ids(get("/v1/conflicts").body), a + "," + c);
  EXPECT_EQ(ids(get("/v1/conflicts?state=all").body), a + "," + b + "," + c);
  EXPECT_EQ(ids(get("/v1/conflicts?record=r-1").body), a);
  EXPECT_EQ(ids(get("/v1/conflicts?state=all&record=r-1").body), a + "," + b);
  EXPECT_EQ(ids(get("/v1/conflicts?field=tags").body), c);
  auto page = get("/v1/conflicts?state=all&limit=2");
  EXPECT_EQ(ids(page.body), a + "," + b);
  EXPECT_NE(page.body.find("\"next_after\":" + b), std::string::npos) << page.body;
  EXPECT_EQ(ids(get("/v1/conflicts?state=all&after=" + b).body), c);
  EXPECT_EQ(get("/v1/conflicts?state=all&after=" + c).body, R"({"conflicts":[]})");

  auto bad = get("/v1/conflicts?state=closed");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":"query state=closed: expected open or all"})");
  bad = get("/v1/conflicts?limit=0");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":"query limit=0: expected a number from 1 to 1000"})");
  bad = get("/v1/conflicts?sort=id");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, errorJson("query sort: unknown parameter (expected state, record, field, "
                                "after, limit)"));
}

TEST_F(AdminApiTest, ShowConflictByIdAndItsErrors) {
  start();
  auto r = get("/v1/conflicts/" + id(seeded.open_id));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":)" + id(seeded.open_id) +
                        R"(,"state":"open","record":"r-1","entity":"customer","field":"company",)"
                        R"("policy":"manual","sides":[{"system":"crm","value":"Acme Europe",)"
                        R"("ts_ms":1764410401000},{"system":"fin","value":"Acme GmbH",)"
                        R"("ts_ms":1764410402000}],"outcome":"Acme","created_ms":1764410403000,)"
                        R"("created":"2025-11-29T10:00:03.000Z","note":""})");
  auto closed = get("/v1/conflicts/" + id(seeded.closed_id));
  EXPECT_NE(closed.body.find(R"("state":"resolved")"), std::string::npos) << closed.body;
  EXPECT_NE(closed.body.find(R"("resolved":"2025-11-29T10:00:04.000Z","note":"prefer fin")"),
            std::string::npos)
      << closed.body;

  auto missing = get("/v1/conflicts/999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"conflict 999: no such conflict"})");
  auto nan = get("/v1/conflicts/abc");
  EXPECT_EQ(nan.status, 400);
  EXPECT_EQ(nan.body, R"({"error":"conflict id \"abc\" is not a number"})");
  auto other = get("/v1/conflicts/1/sides");
  EXPECT_EQ(other.status, 404);
  auto wrong_method = get("/v1/conflicts/1/resolve");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("Allow"), "POST");
}

TEST_F(Convergence, C23_ManualResolveViaAdminApiTakingASideClosesAndQueuesPushes) {
  start();
  const std::string path = "/v1/conflicts/" + id(seeded.open_id) + "/resolve";
  auto r = post(path, R"({"take":"fin"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("state":"resolved")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("outcome":"Acme GmbH")"), std::string::npos) << r.body;

  auto entry = storedConflict(seeded.open_id);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->open);
  EXPECT_EQ(entry->outcome, Value::string("Acme GmbH"));
  EXPECT_EQ(entry->note, "resolved through the admin API: took fin");
  auto snap = agent->store().read();
  ASSERT_TRUE(snap);
  auto record = snap->record("r-1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->fields.find("company")->value, Value::string("Acme GmbH"));
  EXPECT_EQ((*record)->fields.find("company")->open_conflict, 0u);
  // The chosen value goes to every system: both have an outbox entry now.
  EXPECT_TRUE(snap->outboxEntry(kCrm, "r-1")->has_value());
  EXPECT_TRUE(snap->outboxEntry(kFin, "r-1")->has_value());
  EXPECT_EQ(get("/v1/conflicts").body.find("\"id\":" + id(seeded.open_id) + ","),
            std::string::npos);

  auto again = post(path, R"({"take":"crm"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, errorJson("conflict " + id(seeded.open_id) +
                                  ": already closed (resolved 2025-11-29T10:01:00.000Z)"));
}

TEST_F(Convergence, C23_ManualResolveViaAdminApiWithANewValueAndNote) {
  start();
  auto r = post("/v1/conflicts/" + id(seeded.other_id) + "/resolve",
                R"({"value":["vip","churn","vip"],"note":"asked alice"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto entry = storedConflict(seeded.other_id);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->open);
  EXPECT_EQ(entry->outcome, Value::stringSet({"churn", "vip"}));
  EXPECT_EQ(entry->note, "asked alice");
}

TEST_F(AdminApiTest, ResolveRefusesBadBodiesWithTheReason) {
  start();
  const std::string path = "/v1/conflicts/" + id(seeded.open_id) + "/resolve";
  auto expect = [&](const std::string& body, int status, const std::string& error) {
    auto r = post(path, body);
    EXPECT_EQ(r.status, status) << body;
    EXPECT_EQ(r.body, errorJson(error)) << body;
  };
  expect("{\"take\":", 400, "body: not JSON: Invalid value. at offset 8");
  expect("[1]", 400, R"(body: expected a JSON object like {"take":"crm"} or {"value":...})");
  expect("{}", 400, R"(body: missing "take" (a system) or "value" (the value to keep))");
  expect(R"({"take":"crm","value":"x"})", 400, R"(body: give either "take" or "value", not both)");
  expect(R"({"take":7})", 400, "body.take: expected a string (a system name)");
  expect(R"({"pick":"crm"})", 400, "body.pick: unknown member (expected take, value, note)");
  expect(R"({"take":"erp"})", 400,
         "conflict " + id(seeded.open_id) + R"( has no side from system "erp" (sides: crm, fin))");
  expect(R"({"value":42})", 400, "value: field company is a string, got 42");
  EXPECT_TRUE(storedConflict(seeded.open_id)->open);
  EXPECT_TRUE(agent->resolved_notes.empty());

  auto unknown = post("/v1/conflicts/999/resolve", R"({"take":"crm"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"conflict 999: no such conflict"})");
  auto closed = post("/v1/conflicts/" + id(seeded.closed_id) + "/resolve", R"({"take":"crm"})");
  EXPECT_EQ(closed.status, 409);
  EXPECT_EQ(closed.body, errorJson("conflict " + id(seeded.closed_id) +
                                   ": already closed (resolved 2025-11-29T10:00:04.000Z)"));
}

TEST_F(AdminApiTest, TokenRequiredWhenConfigured) {
  start("s3cret-token");
  auto none = get("/v1/status");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, errorJson("missing bearer token (Authorization: Bearer <token>)"));
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer");
  auto wrong = get("/v1/status", "s3cret-tokeN");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, R"({"error":"wrong bearer token"})");
  EXPECT_EQ(get("/v1/status", "s3cret-token").status, 200);
  EXPECT_EQ(get("/metrics").status, 401);
  EXPECT_EQ(get("/v1/conflicts/1").status, 401);
  EXPECT_EQ(post("/v1/conflicts/" + id(seeded.open_id) + "/resolve", R"({"take":"crm"})").status,
            401);
  EXPECT_TRUE(storedConflict(seeded.open_id)->open);
  EXPECT_EQ(get("/v1/conflicts", "s3cret-token").status, 200);
  // Probes and the agent's own webhook routes (signed by their senders) need no token.
  EXPECT_EQ(get("/livez").status, 200);
  EXPECT_EQ(get("/readyz").status, 200);
  EXPECT_EQ(post("/hooks/crm", "{}").status, 200);
}

TEST_F(AdminApiTest, NoTokenConfiguredMeansOpenOnLoopback) {
  start();
  EXPECT_EQ(get("/v1/status").status, 200);
  EXPECT_EQ(get("/v1/status", "anything").status, 200);
}

TEST_F(AdminApiTest, DeadLettersListAndRetry) {
  start();
  auto all = get("/v1/deadletters");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body,
            R"({"dead_letters":[{"system":"crm","record":"r-2","kind":"create",)"
            R"("reason":"422 email: invalid","attempts":1,"time_ms":1764410406000,)"
            R"("time":"2025-11-29T10:00:06.000Z"},{"system":"fin","record":"r-1","kind":"update",)"
            R"("reason":"400 CreditLimit: must not be negative","attempts":3,)"
            R"("time_ms":1764410405000,"time":"2025-11-29T10:00:05.000Z"}]})");
  EXPECT_NE(get("/v1/deadletters?system=fin").body.find("\"record\":\"r-1\""), std::string::npos);
  EXPECT_EQ(get("/v1/deadletters?system=fin").body.find("r-2"), std::string::npos);
  auto unknown = get("/v1/deadletters?system=erp");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"system \"erp\" is unknown to the store"})");

  auto bad = post("/v1/deadletters/retry", R"({"system":"fin"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, errorJson(R"(body: give both "system" and "record", or neither to retry )"
                                R"(every dead letter)"));
  auto one = post("/v1/deadletters/retry", R"({"system":"fin","record":"r-1"})");
  EXPECT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.body, R"({"retried":1,"failed":[]})");
  {
    auto snap = agent->store().read();
    ASSERT_TRUE(snap);
    EXPECT_FALSE(snap->deadLetter(kFin, "r-1")->has_value());
    EXPECT_TRUE(snap->outboxEntry(kFin, "r-1")->has_value());
  }
  auto gone = post("/v1/deadletters/retry", R"({"system":"fin","record":"r-1"})");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, errorJson("engine: retry dead letter r-1 of system 2: no such dead letter"));
  auto rest = post("/v1/deadletters/retry", "");
  EXPECT_EQ(rest.body, R"({"retried":1,"failed":[]})");
  EXPECT_EQ(get("/v1/deadletters").body, R"({"dead_letters":[]})");
}

TEST(AdminExposure, NonLoopbackNeedsAToken) {
  EXPECT_TRUE(isLoopback("127.0.0.1"));
  EXPECT_TRUE(isLoopback("127.1.2.3"));
  EXPECT_TRUE(isLoopback("::1"));
  EXPECT_TRUE(isLoopback("localhost"));
  EXPECT_FALSE(isLoopback("0.0.0.0"));
  EXPECT_FALSE(isLoopback("10.0.0.5"));
  EXPECT_FALSE(isLoopback("admin.example.com"));
  mappers::AdminSettings admin;
  admin.bind = "0.0.0.0";
  auto refused = checkAdminExposure(admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "admin: bound to 0.0.0.0 without a token: anyone who reaches that address could "
            "resolve conflicts; set agent.admin.token or bind to 127.0.0.1");
  admin.token = mappers::Secret("env:ADMIN_TOKEN", "s3cret-token");
  EXPECT_TRUE(checkAdminExposure(admin));
  admin = {};
  EXPECT_TRUE(checkAdminExposure(admin));
}

}  // namespace
}  // namespace tandem::agent::ops::testing
