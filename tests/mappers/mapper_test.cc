// The mapping engine on the demo mappings: each system's shape to canonical and back,
// empties, normalisation, partial updates, constants, joins and exact field errors.

#include <gtest/gtest.h>

#include "mappers/body_template.h"
#include "mappers/config_loader.h"
#include "mappers/mapper.h"
#include "mappers/record_json.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

using conflict::Value;

class DemoMapping : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = testing::demoEnv();
    auto cfg = loadConfig(std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/demo.json", env);
    ASSERT_TRUE(cfg.has_value()) << cfg.error().formatAll();
    config_ = new Config(std::move(*cfg));
  }
  static void TearDownTestSuite() { delete config_; }

  static MappingPlan plan(const char* system) {
    auto p = compilePlan(*config_, system, "customer");
    EXPECT_TRUE(p.has_value());
    return std::move(*p);
  }
  static CanonicalValues read(const char* system, const std::string& json) {
    auto doc = parseRecord(json);
    EXPECT_TRUE(doc.has_value()) << doc.error().message;
    auto v = toCanonical(plan(system), *doc);
    EXPECT_TRUE(v.has_value()) << describe(v.error());
    return v.value_or(CanonicalValues{});
  }
  static FieldErrors readErrors(const char* system, const std::string& json) {
    auto doc = parseRecord(json);
    EXPECT_TRUE(doc.has_value());
    auto v = toCanonical(plan(system), *doc);
    EXPECT_FALSE(v.has_value());
    return v.has_value() ? FieldErrors{} : v.error();
  }
  static std::string write(const char* system, const CanonicalValues& v, WriteMode mode) {
    auto out = toSystem(plan(system), v, mode);
    EXPECT_TRUE(out.has_value()) << describe(out.error());
    return out.value_or("");
  }

  static Config* config_;
};
Config* DemoMapping::config_ = nullptr;

const char* kCrmContact = R"({"id":"101","properties":{
  "email":"  Ada.Lovelace@Example.COM ","firstname":"Ada","lastname":"Lovelace",
  "phone":"+44 20 7946 0000","company":"Analytical Engines","address":"12 St James's Square",
  "city":"London","zip":"SW1Y 4JH","country":"gb","credit_limit":"2500.50",
  "tags":"vip;beta; vip;","lifecyclestage":"marketingqualifiedlead","hs_lead_status":"OPEN",
  "lastmodifieddate":"1795000000000"},
  "createdAt":"2026-11-01T10:00:00.000Z","updatedAt":"2026-11-23T03:04:05.123Z","archived":false})";

TEST_F(DemoMapping, CrmToCanonicalNormalises) {
  auto v = read("crm", kCrmContact);
  EXPECT_EQ(*v.find("email"), Value::string("ada.lovelace@example.com"));
  EXPECT_EQ(*v.find("country"), Value::string("GB"));
  EXPECT_EQ(*v.find("credit_limit"), Value::number(2500.5));
  EXPECT_EQ(*v.find("tags"), Value::stringSet({"beta", "vip"}));
  EXPECT_EQ(*v.find("lifecycle_stage"), Value::string("mql"));
  EXPECT_EQ(*v.find("street"), Value::string("12 St James's Square"));
  EXPECT_EQ(v.size(), 12u);
}

TEST_F(DemoMapping, C04_EmptyIsEmptyInEverySystem) {
  auto crm = read("crm", R"({"id":"1","properties":{"email":"a@b.c","phone":"","city":null}})");
  EXPECT_TRUE(crm.find("phone")->isNull());
  EXPECT_TRUE(crm.find("city")->isNull());
  EXPECT_TRUE(crm.find("tags")->isNull());  // absent
  auto erp = read("erp", R"({"id":7,"name":"Ada Lovelace","email":"a@b.c","phone":false,
                            "city":false,"country_id":false,"credit_limit":false})");
  EXPECT_TRUE(erp.find("phone")->isNull());
  EXPECT_TRUE(erp.find("country")->isNull());
  EXPECT_TRUE(erp.find("credit_limit")->isNull());
  auto fin = read("fin", R"({"Id":"5","PrimaryEmailAddr":{"Address":"a@b.c"}})");
  EXPECT_TRUE(fin.find("phone")->isNull());
  EXPECT_TRUE(fin.find("city")->isNull());
  EXPECT_EQ(crm.find("phone")->hash(), erp.find("phone")->hash());
  EXPECT_EQ(erp.find("city")->hash(), fin.find("city")->hash());
}

TEST_F(DemoMapping, ErpManyToOneCountryAndNameSplit) {
  auto v = read("erp", R"({"id":7,"name":"Ada  King Lovelace","email":"ADA@x.org",
                          "country_id":[4,"United Kingdom"],"credit_limit":2500.5,
                          "write_date":"2026-11-23 11:04:05","active":true})");
  EXPECT_EQ(*v.find("country"), Value::string("GB"));
  EXPECT_EQ(*v.find("first_name"), Value::string("Ada King"));
  EXPECT_EQ(*v.find("last_name"), Value::string("Lovelace"));
  EXPECT_EQ(*v.find("credit_limit"), Value::number(2500.5));
  EXPECT_EQ(v.find("lifecycle_stage"), nullptr);  // not mapped by the ERP
  std::string body = write("erp", v, WriteMode::Update);
  EXPECT_EQ(body, R"({"city":false,"country_id":4,"credit_limit":2500.5,"email":"ada@x.org",)"
                  R"("phone":false,"zip":false,"street":false,"name":"Ada King Lovelace"})");
}

TEST_F(DemoMapping, FinNestedPathsAndWriteOnlyDisplayName) {
  auto v = read("fin", R"({"Id":"58","SyncToken":"3","DisplayName":"ignored on read",
      "GivenName":"Ada","FamilyName":"Lovelace","CompanyName":"Analytical Engines",
      "PrimaryEmailAddr":{"Address":"ada@example.com"},
      "PrimaryPhone":{"FreeFormNumber":"+44 20 7946 0000"},
      "BillAddr":{"Line1":"12 St James's Square","City":"London","PostalCode":"SW1Y 4JH",
                  "Country":"GB"},
      "Balance":0,"CreditLimit":2500.5,"Active":true,
      "MetaData":{"CreateTime":"2026-11-01T02:00:00-08:00",
                  "LastUpdatedTime":"2026-11-23T03:04:05-08:00"}})");
  EXPECT_EQ(*v.find("city"), Value::string("London"));
  EXPECT_EQ(v.size(), 10u);
  CanonicalValues create = v;
  std::string body = write("fin", create, WriteMode::Create);
  EXPECT_NE(body.find(R"("DisplayName":"Ada Lovelace ada@example.com")"), std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("BillAddr":{"City":"London","Country":"GB","PostalCode":"SW1Y 4JH",)"
                      R"("Line1":"12 St James's Square"})"),
            std::string::npos)
      << body;
}

TEST_F(DemoMapping, CrmCreateAddsConstantsAndDefaults) {
  CanonicalValues v;
  v["email"] = Value::string("new@example.com");
  v["credit_limit"] = Value::number(1000);
  v["tags"] = Value::stringSet({"b", "a"});
  std::string body = write("crm", v, WriteMode::Create);
  EXPECT_EQ(body, R"({"properties":{"credit_limit":"1000","email":"new@example.com",)"
                  R"("lifecyclestage":"lead","tags":"a;b","hs_lead_status":"NEW"}})");
}

TEST_F(DemoMapping, C13_PartialUpdateWritesOnlyChangedFields) {
  auto v = read("crm", kCrmContact);
  std::vector<std::string> changed = {"phone", "country"};
  auto body = toSystem(plan("crm"), v, WriteMode::Update, changed);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, R"({"properties":{"country":"GB","phone":"+44 20 7946 0000"}})");
  // An emptied field is cleared the way the system clears it.
  v["phone"] = Value::null();
  EXPECT_EQ(*toSystem(plan("crm"), v, WriteMode::Update, changed),
            R"({"properties":{"country":"GB","phone":""}})");
  std::vector<std::string> name = {"last_name"};
  EXPECT_EQ(*toSystem(plan("erp"), v, WriteMode::Update, name), R"({"name":"Ada Lovelace"})");
}

TEST_F(DemoMapping, OwnedFieldIsNotReadFromOtherSystemsAndReadOnlyNotWritten) {
  MappingPlan crm = plan("crm");
  MappingPlan fin = plan("fin");
  const auto& r = crm.readFields();
  EXPECT_NE(std::find(r.begin(), r.end(), "lifecycle_stage"), r.end());
  const auto& fr = fin.readFields();
  EXPECT_EQ(std::find(fr.begin(), fr.end(), "tags"), fr.end());
  const auto& fw = fin.writeFields();
  EXPECT_NE(std::find(fw.begin(), fw.end(), "first_name"), fw.end());
}

TEST_F(DemoMapping, FieldErrorsAreExact) {
  auto errs = readErrors("crm", R"({"id":"1","properties":{"email":42,"credit_limit":"12,5",
      "lifecyclestage":7,"tags":"a"}})");
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].text(),
            "field credit_limit (/properties/credit_limit): expected a decimal "
            "number, got \"12,5\"");
  EXPECT_EQ(errs[1].text(), "field email (/properties/email): expected string, got integer");
  EXPECT_EQ(errs[2].text(),
            "field lifecycle_stage (/properties/lifecyclestage): expected string, got integer");
  auto missing = readErrors("fin", R"({"Id":"1","GivenName":"A"})");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].text(),
            "field email (/PrimaryEmailAddr/Address): required field is missing or empty");
  auto name = readErrors("erp", R"({"id":1,"email":"a@b.c","name":false})");
  ASSERT_EQ(name.size(), 1u);
  EXPECT_EQ(name[0].text(), "field first_name (/name): required field is missing or empty");
  auto country = readErrors("erp", R"({"id":1,"email":"a@b.c","name":"A B","country_id":"DE"})");
  ASSERT_EQ(country.size(), 1u);
  EXPECT_EQ(country[0].text(),
            "field country (/country_id): expected [id, name] or an integer id, got string");
  EXPECT_EQ(describe(missing),
            "field email (/PrimaryEmailAddr/Address): required field is missing or empty");
}

TEST_F(DemoMapping, UnknownMapValueUsesDefaultOrFails) {
  auto v = read("crm", R"({"properties":{"email":"a@b.c","lifecyclestage":"zombie"}})");
  EXPECT_EQ(*v.find("lifecycle_stage"), Value::string("other"));
  auto erp = read("erp", R"({"email":"a@b.c","name":"A B","country_id":[99,"Atlantis"]})");
  EXPECT_TRUE(erp.find("country")->isNull());  // "default": null
  CanonicalValues out;
  out["country"] = Value::string("ZZ");
  std::vector<std::string> only = {"country"};
  auto body = toSystem(plan("erp"), out, WriteMode::Update, only);
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(describe(body.error()),
            "field country (/country_id): value \"ZZ\" has no entry in the map and no "
            "default_out");
}

// System → canonical → system is the identity on mapped fields (values in the system's own
// canonical form: trimmed, lower-case email, sorted tags, shortest numbers).
TEST_F(DemoMapping, RoundTripIsIdentityOnMappedFields) {
  struct Case {
    const char* system;
    const char* record;
  };
  const Case cases[] = {
      {"crm", R"({"properties":{"address":"1 Main St","city":"Paris","company":"ACME",)"
              R"("country":"FR","credit_limit":"2500.5","email":"a@b.c","firstname":"Jean",)"
              R"("lastname":"Dupont","lifecyclestage":"customer","phone":"+33 1",)"
              R"("tags":"a;b;c","zip":"75001"}})"},
      {"crm", R"({"properties":{"address":"","city":"","company":"","country":"",)"
              R"("credit_limit":"","email":"x@y.z","firstname":"","lastname":"",)"
              R"("lifecyclestage":"","phone":"","tags":"","zip":""}})"},
      {"erp", R"({"city":"Berlin","country_id":2,"credit_limit":12.25,"email":"a@b.c",)"
              R"("name":"Max Mustermann","phone":"+49 30","street":"Unter den Linden 1",)"
              R"("zip":"10117"})"},
      {"fin", R"({"BillAddr":{"City":"Tokyo","Country":"JP","Line1":"1-1","PostalCode":"100"},)"
              R"("CompanyName":"KK","CreditLimit":100000,"FamilyName":"Sato","GivenName":"Yui",)"
              R"("PrimaryEmailAddr":{"Address":"yui@example.jp"},)"
              R"("PrimaryPhone":{"FreeFormNumber":"+81 3"}})"},
  };
  for (const auto& c : cases) {
    auto canonical = read(c.system, c.record);
    auto body = toSystemDocument(plan(c.system), canonical, WriteMode::Update);
    ASSERT_TRUE(body.has_value()) << c.system;
    const rapidjson::Document* back = &body->doc();
    auto original = parseRecord(c.record);
    // Compare every mapped (readable and writable) path.
    auto again = toCanonical(plan(c.system), *back);
    ASSERT_TRUE(again.has_value()) << describe(again.error());
    EXPECT_EQ(*again, canonical) << c.system;
    // Every path the mapping wrote holds what the system sent (absent counts as "" / false).
    std::string written = toJson(*back);
    for (auto it = original->MemberBegin(); it != original->MemberEnd(); ++it) {
      std::string key = it->name.GetString();
      if (key == "properties") {
        for (auto p = it->value.MemberBegin(); p != it->value.MemberEnd(); ++p) {
          auto w = (*back)["properties"].FindMember(p->name);
          ASSERT_NE(w, (*back)["properties"].MemberEnd()) << p->name.GetString();
          EXPECT_EQ(w->value, p->value) << p->name.GetString();
        }
      } else {
        auto w = back->FindMember(it->name);
        ASSERT_NE(w, back->MemberEnd()) << key;
        if (it->value.IsObject()) {
          for (auto p = it->value.MemberBegin(); p != it->value.MemberEnd(); ++p) {
            EXPECT_EQ(w->value[p->name], p->value) << key << "." << p->name.GetString();
          }
        } else {
          EXPECT_EQ(w->value, it->value) << key << " in " << written;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tandem::mappers

namespace tandem::mappers {
namespace {

rapidjson::Document parsed(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  return d;
}

// A record merged into a request body in hand (the agent's bodies): at record_at, created where
// missing, over a member already there, and a target that is not an object becomes one.
TEST(PlaceRecord, MergesTheRecordAtItsPointer) {
  const auto record = parsed(R"({"name":"Ada","city":"London"})");
  auto body = parsed(R"({"op":"create","item":{"name":"old","keep":1}})");
  ASSERT_TRUE(placeRecord(body, body.GetAllocator(), "/item", record));
  EXPECT_EQ(toJson(body), R"({"op":"create","item":{"name":"Ada","keep":1,"city":"London"}})");
  auto fresh = parsed(R"({"op":"create","item":7})");
  ASSERT_TRUE(placeRecord(fresh, fresh.GetAllocator(), "/item", record));
  EXPECT_EQ(toJson(fresh), R"({"op":"create","item":{"name":"Ada","city":"London"}})");
  auto top = parsed(R"({"x":true})");
  ASSERT_TRUE(placeRecord(top, top.GetAllocator(), "", record));
  EXPECT_EQ(toJson(top), R"({"x":true,"name":"Ada","city":"London"})");
}

// A record_at that is not a JSON pointer (the config loader refuses one; a body built by hand
// may not have been checked) is named, and the body is left as it was.
TEST(PlaceRecord, RefusesAPointerThatIsNotOneAndLeavesTheBody) {
  const auto record = parsed(R"({"name":"Ada"})");
  auto body = parsed(R"({"op":"create"})");
  auto placed = placeRecord(body, body.GetAllocator(), "item", record);
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().message, R"(record_at "item" is not a JSON pointer)");
  EXPECT_EQ(toJson(body), R"({"op":"create"})");
}

}  // namespace
}  // namespace tandem::mappers
