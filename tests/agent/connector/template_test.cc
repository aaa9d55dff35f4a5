// Request templates alone: URL, query, body and headers filled from placeholder values.
#include <gtest/gtest.h>

#include "agent/connector/request_template.h"
#include "mappers/mapper.h"

namespace tandem::agent::connector {
namespace {

mappers::SystemConfig systemWithRealm() {
  mappers::SystemConfig s;
  s.name = "fin";
  s.base_url = "https://api.example.com/base/";
  s.vars = {{"realm", "9130"}};
  return s;
}

TEST(RequestTemplate, UrlEncodesValuesAndDropsQueryParametersWithoutOne) {
  TemplateValues v(systemWithRealm());
  v.set("since", "2026-11-23T11:04:05+0000");
  auto url =
      renderUrl("https://api.example.com/base/",
                "/v3/company/{realm}/cdc?entities=Customer&changedSince={since}&after={after}", v);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(*url,
            "https://api.example.com/base/v3/company/9130/cdc?entities=Customer&changedSince="
            "2026-11-23T11%3A04%3A05%2B0000");
}

// A query language in the URL (QuickBooks' select) is written as it reads: spaces, < and > in
// the template become percent escapes; quotes, '*', '(' and an existing escape stay.
TEST(RequestTemplate, LiteralUrlTextIsMadeUrlSafe) {
  TemplateValues v(systemWithRealm());
  v.set("from", "2023-11-14T22:13:20Z");
  v.set("to", "2023-11-14T22:13:21Z");
  v.set("offset", "901", true);
  auto url = renderUrl("https://api.example.com/base/",
                       "/v3/company/{realm}/query?query=select * from Customer where "
                       "MetaData.LastUpdatedTime >= '{from}' and MetaData.LastUpdatedTime < "
                       "'{to}' and Active IN (true,false) STARTPOSITION {offset}&x=a%20b",
                       v);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(*url,
            "https://api.example.com/base/v3/company/9130/query?query=select%20*%20from%20"
            "Customer%20where%20MetaData.LastUpdatedTime%20%3E=%20'2023-11-14T22%3A13%3A20Z'%20"
            "and%20MetaData.LastUpdatedTime%20%3C%20'2023-11-14T22%3A13%3A21Z'%20and%20Active%20"
            "IN%20(true,false)%20STARTPOSITION%20901&x=a%20b");
}

TEST(RequestTemplate, PathPlaceholderWithoutValueAndUnknownPlaceholderAreErrors) {
  TemplateValues v(systemWithRealm());
  auto missing = renderUrl("http://x", "/customer/{id}", v);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "url \"/customer/{id}\": {id} has no value");
  auto unknown = renderUrl("http://x", "/customer?q={query}", v);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "url \"/customer?q={query}\": unknown placeholder {query}");
}

TEST(RequestTemplate, BodyGetsTypedValuesAndLosesMembersWithoutOne) {
  TemplateValues v(systemWithRealm());
  v.set("id", "42", true);
  v.set("limit", "100", true);
  v.set("since", "2026-11-23 11:04:05");
  auto doc = renderJsonTemplate(
      R"({"ids":["{id}"],"domain":[["write_date",">=","{since}"]],"limit":"{limit}",)"
      R"("after":"{after}","list":["{after}","x"],"note":"realm {realm} id {id}","keep":{}})",
      v);
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(mappers::toJson(*doc),
            R"({"ids":[42],"domain":[["write_date",">=","2026-11-23 11:04:05"]],"limit":100,)"
            R"("list":["x"],"note":"realm 9130 id 42","keep":{}})");
}

TEST(RequestTemplate, IntegerPlaceholderThatIsNotAnIntegerIsAnError) {
  TemplateValues v(systemWithRealm());
  v.set("id", "abc", true);
  auto doc = renderJsonTemplate(R"({"ids":["{id}"]})", v);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().message, "body: {id} \"abc\" is not an integer");
}

TEST(RequestTemplate, RecordIsMergedAfterPlaceholdersSoItsTextStaysLiteral) {
  const mappers::SystemConfig s = systemWithRealm();
  TemplateValues v(s);
  v.set("id", "7");
  v.set("version", "3");
  mappers::RequestSpec spec{"POST",
                            "/v3/company/{realm}/customer",
                            {{"X-Request-Id", "{idempotency_key}"}, {"X-Trace", "t"}},
                            R"({"Id":"{id}","SyncToken":"{version}","sparse":true})"};
  rapidjson::Document record;
  record.Parse(R"({"DisplayName":"{version} Ltd"})");
  auto request = renderRequest(s, spec, v, "", &record);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->target, "https://api.example.com/base/v3/company/9130/customer");
  ASSERT_EQ(request->headers.size(), 1u);  // no idempotency key: the header is left out
  EXPECT_EQ(request->headers[0].first, "X-Trace");
  rapidjson::Document body;
  body.Parse(request->body.c_str());
  EXPECT_EQ(mappers::toJson(body),
            R"({"Id":"7","SyncToken":"3","sparse":true,"DisplayName":"{version} Ltd"})");
}

TEST(RequestTemplate, AppendQueryEncodes) {
  EXPECT_EQ(appendQuery("http://x/c", "requestid", "r1@fin"), "http://x/c?requestid=r1%40fin");
  EXPECT_EQ(appendQuery("http://x/c?a=1", "k", "v w"), "http://x/c?a=1&k=v%20w");
}

}  // namespace
}  // namespace tandem::agent::connector
