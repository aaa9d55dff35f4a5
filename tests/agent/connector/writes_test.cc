// get, create, update and remove against the three fixture systems, with the outcomes the
// engine acts on: success (id, version token, updated time), stale, not found, permanent with the
// system's message, retryable with Retry-After.
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

class WritesTest : public ConnectorTest {
 protected:
  engine::PushOutcome create(Connector& c, const std::string& fields, std::string key = "") {
    auto doc = parseJson(fields);
    return run(c.create(doc, std::move(key)));
  }
  engine::PushOutcome update(Connector& c, const std::string& id, const std::string& fields,
                             std::string version = "") {
    auto doc = parseJson(fields);
    return run(c.update(id, doc, std::move(version)));
  }
};

TEST_F(WritesTest, CrmCreateGetUpdateArchive) {
  Connector& c = connector("crm");
  const auto created =
      create(c, R"({"properties":{"email":"Ada@X.io ","firstname":"Ada","lastname":"L"}})");
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  EXPECT_FALSE(ok->native_id.empty());
  EXPECT_GT(ok->source_ts_ms, kT0);

  auto rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, ok->native_id);
  EXPECT_EQ(text(*rec, "/properties/email"), "ada@x.io");

  const auto updated = update(c, ok->native_id, R"({"properties":{"firstname":"Augusta"}})");
  const auto* up = as<engine::PushSuccess>(updated);
  ASSERT_TRUE(up) << describe(updated);
  EXPECT_EQ(up->native_id, ok->native_id);
  EXPECT_GE(up->source_ts_ms, ok->source_ts_ms);
  EXPECT_EQ(text(*get(c, ok->native_id), "/properties/firstname"), "Augusta");

  const auto removed = run(c.remove(ok->native_id, ""));
  ASSERT_TRUE(as<engine::PushSuccess>(removed)) << describe(removed);
  EXPECT_FALSE(get(c, ok->native_id)) << "an archived contact reads 404 without archived=true";
  EXPECT_EQ(counter("crm", "api_archives"), 1);
}

// batch.create (the demo's CRM): one request for many records; HubSpot does not promise the
// results in the inputs' order (the fixture answers last first), so each is matched back by the
// objectWriteTraceId it carries, here the record's idempotency key.
TEST_F(WritesTest, CrmBatchCreateMatchesEachResultToItsRecordByTraceId) {
  Connector& c = connector("crm");
  ASSERT_EQ(c.batchCreateLimit(), 100u);
  std::vector<std::string> bodies;
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(R"({"properties":{"email":"p)" + std::to_string(i) +
                     R"(@x.io","firstname":"P)" + std::to_string(i) + R"("}})");
    keys.push_back("key-" + std::to_string(i));
  }
  auto outcomes = createMany(c, bodies, keys);
  ASSERT_TRUE(outcomes) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto* ok = as<engine::PushSuccess>((*outcomes)[i]);
    ASSERT_TRUE(ok) << describe((*outcomes)[i]);
    auto rec = get(c, ok->native_id);
    ASSERT_TRUE(rec);
    EXPECT_EQ(text(*rec, "/properties/email"), "p" + std::to_string(i) + "@x.io");
  }
  EXPECT_EQ(counter("crm", "api_creates"), 5);
  EXPECT_EQ(counter("crm", "requests"), 6);  // one create request, five gets
}

// A batch the system refuses as a whole (HubSpot validates every input first) is an error: the
// pusher then sends its records one at a time, so only the bad one is refused.
TEST_F(WritesTest, CrmBatchRefusedAsAWholeIsAnErrorAndCreatesNothing) {
  Connector& c = connector("crm");
  auto outcomes = createMany(c,
                             {R"({"properties":{"email":"good@x.io"}})",
                              R"({"properties":{"email":"bad@x.io","no_such_property":"x"}})"},
                             {"k1", "k2"});
  ASSERT_FALSE(outcomes);
  EXPECT_NE(outcomes.error().message.find("HTTP 400"), std::string::npos)
      << outcomes.error().message;
  EXPECT_EQ(counter("crm", "api_creates"), 0);
}

// Odoo's create takes a list of values and answers the new ids in the same order.
TEST_F(WritesTest, ErpBatchCreateTakesTheIdsInOrder) {
  Connector& c = connector("erp");
  auto outcomes = createMany(
      c, {R"({"name":"Ann A","email":"ann@x.io"})", R"({"name":"Ben B","email":"ben@x.io"})"},
      {"k1", "k2"});
  ASSERT_TRUE(outcomes) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 2u);
  const char* emails[] = {"ann@x.io", "ben@x.io"};
  for (size_t i = 0; i < 2; ++i) {
    const auto* ok = as<engine::PushSuccess>((*outcomes)[i]);
    ASSERT_TRUE(ok) << describe((*outcomes)[i]);
    auto rec = get(c, ok->native_id);
    ASSERT_TRUE(rec);
    EXPECT_EQ(text(*rec, "/email"), emails[i]);
  }
  EXPECT_EQ(counter("erp", "api_creates"), 2);
}

// A system without a batch endpoint says so; the pusher sends one by one.
TEST_F(WritesTest, WithoutABatchEndpointCreateManyIsAnError) {
  spec("fin").batch.clear();
  Connector& c = connector("fin");
  EXPECT_EQ(c.batchCreateLimit(), 0u);
  EXPECT_FALSE(createMany(c, {R"({"DisplayName":"A"})"}, {"k"}));
  EXPECT_EQ(counter("fin", "requests"), 0);
}

// A re-read must carry every mapped property, or the mapping would read the missing ones as
// empty and the engine would clear them everywhere.
TEST_F(WritesTest, CrmGetReturnsEveryMappedProperty) {
  Connector& c = connector("crm");
  const auto ids = seed(1, "crm");
  auto rec = get(c, ids[0]);
  ASSERT_TRUE(rec);
  for (const char* p :
       {"/properties/phone", "/properties/company", "/properties/address", "/properties/city",
        "/properties/zip", "/properties/country", "/properties/credit_limit"}) {
    EXPECT_FALSE(text(*rec, p).empty()) << p;
  }
}

TEST_F(WritesTest, ErpCreateGetUpdateDeactivate) {
  Connector& c = connector("erp");
  const auto created = create(c, R"({"name":"Ada Lovelace","email":"ada@x.io"})");
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  auto rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, ok->native_id);
  EXPECT_EQ(text(*rec, "/name"), "Ada Lovelace");
  EXPECT_FALSE(rec->archived);

  const auto updated = update(c, ok->native_id, R"({"phone":"+49 30 1234"})");
  ASSERT_TRUE(as<engine::PushSuccess>(updated)) << describe(updated);
  EXPECT_EQ(text(*get(c, ok->native_id), "/phone"), "+49 30 1234");

  const auto removed = run(c.remove(ok->native_id, ""));
  ASSERT_TRUE(as<engine::PushSuccess>(removed)) << describe(removed);
  rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->archived) << "delete mode field writes active=false";
}

TEST_F(WritesTest, FinCreateGetUpdateWithSyncTokenAndDeactivate) {
  Connector& c = connector("fin");
  const auto created = create(
      c, R"({"DisplayName":"Ada Lovelace","PrimaryEmailAddr":{"Address":"ada@x.io"}})", "rec1@fin");
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  EXPECT_EQ(ok->version_token, "0");
  EXPECT_GT(ok->source_ts_ms, kT0);

  auto rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->version, "0");

  const auto updated = update(c, ok->native_id, R"({"GivenName":"Ada"})", rec->version);
  const auto* up = as<engine::PushSuccess>(updated);
  ASSERT_TRUE(up) << describe(updated);
  EXPECT_EQ(up->version_token, "1");
  EXPECT_EQ(text(*get(c, ok->native_id), "/PrimaryEmailAddr/Address"), "ada@x.io")
      << "the update was not sparse";

  // The version we hold is now behind: the stale signal (400, Fault code 5010).
  const auto stale = update(c, ok->native_id, R"({"GivenName":"A"})", "0");
  EXPECT_TRUE(as<engine::PushStale>(stale)) << describe(stale);
  // Without a token there is nothing to send: re-read first.
  EXPECT_TRUE(as<engine::PushStale>(update(c, ok->native_id, R"({"GivenName":"A"})", "")));

  const auto removed = run(c.remove(ok->native_id, "1"));
  const auto* gone = as<engine::PushSuccess>(removed);
  ASSERT_TRUE(gone) << describe(removed);
  EXPECT_EQ(gone->version_token, "2");
  rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->archived);
}

TEST_F(WritesTest, IdempotentCreateWithTheSameKeyMakesOneRecord) {
  Connector& c = connector("fin");
  const std::string body = R"({"DisplayName":"Grace Hopper"})";
  const auto first = create(c, body, "r42@fin");
  const auto second = create(c, body, "r42@fin");
  const auto* a = as<engine::PushSuccess>(first);
  const auto* b = as<engine::PushSuccess>(second);
  ASSERT_TRUE(a) << describe(first);
  ASSERT_TRUE(b) << describe(second);
  EXPECT_EQ(a->native_id, b->native_id);
  EXPECT_EQ(counter("fin", "api_creates"), 1);
  EXPECT_EQ(counter("fin", "idempotent_replays"), 1);
  // A different key is a different create (and here a duplicate name).
  const auto third = create(c, body, "r43@fin");
  const auto* p = as<engine::PushPermanent>(third);
  ASSERT_TRUE(p) << describe(third);
  EXPECT_EQ(p->error,
            "connector fin.customer create: HTTP 400: The name supplied already exists. : Id=" +
                a->native_id);
}

// Convergence case 2 at the connector's level: the create is applied but answered 500; the
// retry carries the same key and gets the first answer back instead of a second record.
TEST_F(WritesTest, RetryAfterAnAppliedCreateAnswered500ReturnsTheSameRecord) {
  Connector& c = connector("fin");
  const std::string body = R"({"DisplayName":"Edsger Dijkstra"})";
  settings("fin", R"({"p_applied_500":1})");
  const auto lost = create(c, body, "r7@fin");
  ASSERT_TRUE(as<engine::PushRetryable>(lost)) << describe(lost);
  settings("fin", R"({"p_applied_500":0})");
  const auto retried = create(c, body, "r7@fin");
  const auto* ok = as<engine::PushSuccess>(retried);
  ASSERT_TRUE(ok) << describe(retried);
  EXPECT_EQ(counter("fin", "api_creates"), 1);
  EXPECT_EQ(counter("fin", "idempotent_replays"), 1);
  auto rec = get(c, ok->native_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(text(*rec, "/DisplayName"), "Edsger Dijkstra");
}

TEST_F(WritesTest, ValidationErrorsArePermanentWithTheSystemsMessage) {
  Connector& crm = connector("crm");
  const auto bad = create(crm, R"({"properties":{"email":"x@y.io","credit_limit":"lots"}})");
  const auto* p = as<engine::PushPermanent>(bad);
  ASSERT_TRUE(p) << describe(bad);
  EXPECT_EQ(p->error,
            "connector crm.customer create: HTTP 400: Property values were not valid: "
            R"([{"isValid":false,"message":"lots was not a valid number.","error":"INVALID_FLOAT",)"
            R"("name":"credit_limit"}])");

  Connector& erp = connector("erp");
  const auto noName = create(erp, R"({"email":"x@y.io"})");
  const auto* q = as<engine::PushPermanent>(noName);
  ASSERT_TRUE(q) << describe(noName);
  EXPECT_EQ(q->error, "connector erp.customer create: HTTP 422: Contacts require a name");
}

TEST_F(WritesTest, MissingRecordsAreNotFound) {
  Connector& crm = connector("crm");
  Connector& erp = connector("erp");
  EXPECT_FALSE(get(crm, "999999"));
  EXPECT_FALSE(get(erp, "999999"));
  const auto patched = update(crm, "999999", R"({"properties":{"firstname":"X"}})");
  EXPECT_TRUE(as<engine::PushNotFound>(patched)) << describe(patched);
  const auto written = update(erp, "999999", R"({"phone":"1"})");
  EXPECT_TRUE(as<engine::PushNotFound>(written)) << describe(written);
  const auto removed = run(crm.remove("999999", ""));
  EXPECT_TRUE(as<engine::PushNotFound>(removed)) << describe(removed);
  // Finance answers an unknown id with 400 and Fault code 610, which its configuration names as
  // not found; a 400 with another code stays a refusal.
  Connector& fin = connector("fin");
  EXPECT_FALSE(get(fin, "999999"));
  const auto fin_written = update(fin, "999999", R"({"GivenName":"X"})", "0");
  EXPECT_TRUE(as<engine::PushNotFound>(fin_written)) << describe(fin_written);
  const auto refused = create(fin, R"({"GivenName":"X","NoSuchProperty":1})");
  EXPECT_TRUE(as<engine::PushPermanent>(refused)) << describe(refused);
}

TEST_F(WritesTest, ServerFaultsAreRetryable) {
  system("crm").default_backoff_ms = 2500;
  Connector& crm = connector("crm");
  Connector& erp = connector("erp");
  const std::string fields = R"({"properties":{"email":"z@y.io"}})";

  settings("crm", R"({"p_500":1})");
  auto r = create(crm, fields);
  const auto* retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_EQ(retry->error, "connector crm.customer create: HTTP 500: internal error");

  settings("crm", R"({"p_500":0,"p_429":1})");
  r = create(crm, fields);
  retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_EQ(retry->retry_after_ms, 2500) << "no Retry-After: the system's default backoff";

  settings("erp", R"({"p_429":1})");
  r = create(erp, R"({"name":"Q"})");
  retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_EQ(retry->retry_after_ms, 1000) << "Retry-After: 1";

  settings("crm", R"({"p_429":0,"p_drop":1})");
  r = create(crm, fields);
  retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_TRUE(retry->error.starts_with("connector crm.customer create: http POST "))
      << retry->error;

  // Applied but the answer was cut in half: retry (the pending write absorbs the echo).
  settings("crm", R"({"p_drop":0,"p_truncate":1})");
  r = create(crm, fields);
  retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_TRUE(
      retry->error.starts_with("connector crm.customer create: HTTP 201: answer is not "
                               "JSON"))
      << retry->error;
  EXPECT_EQ(counter("crm", "api_creates"), 1);
}

TEST_F(WritesTest, FinThrottleIsRetryableWithTheDefaultBackoff) {
  Connector& fin = connector("fin");
  settings("fin", R"({"p_429":1})");
  const auto r = create(fin, R"({"DisplayName":"T"})");
  const auto* retry = as<engine::PushRetryable>(r);
  ASSERT_TRUE(retry) << describe(r);
  EXPECT_EQ(retry->retry_after_ms, 1000);
  EXPECT_NE(retry->error.find("throttled: HTTP 429"), std::string::npos) << retry->error;
}

}  // namespace
}  // namespace tandem::agent::connector::testing
