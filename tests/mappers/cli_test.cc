// `tandem validate` and `tandem map` as functions: output, error text and exit codes.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "mappers/cli.h"
#include "tests/mappers/test_env.h"
#include "tests/support/temp_dir.h"

namespace tandem::mappers {
namespace {

const std::string kDemo = std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/demo.json";

// ctest runs every test in its own process, several at once: a fixed name under /tmp would be
// written by one test while another reads it, so each process writes into its own directory.
std::string writeTemp(const std::string& name, const std::string& text) {
  static const tandem::testing::TempDir dir("tandem-cli");
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, ValidatePrintsOk) {
  std::ostringstream out, err;
  EXPECT_EQ(runValidate(kDemo, out, err, testing::demoEnv()), 0);
  EXPECT_EQ(out.str(), "OK\n");
  EXPECT_EQ(err.str(), "");
}

TEST(Cli, ValidatePrintsEveryErrorAndFails) {
  std::string path = writeTemp("bad.json", R"({
  "systems": [{"name": "crm", "base_url": "ftp://x", "auth": {"kind": "bearr"}}],
  "entities": [],
  "agnet": {}
})");
  std::ostringstream out, err;
  EXPECT_EQ(runValidate(path, out, err, testing::demoEnv()), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            path + ":2:43: systems[0].base_url: base_url must start with http:// or https://\n" +
                path +
                ":2:71: systems[0].auth.kind: unknown kind \"bearr\" (did you mean "
                "\"bearer\"?)\n" +
                path + ":2:15: systems[0]: missing required key \"entities\"\n" + path +
                ":4:3: agnet: unknown key \"agnet\" (did you mean \"agent\"?)\n4 errors\n");
}

TEST(Cli, ValidateReportsAnUnreadableFile) {
  std::ostringstream out, err;
  EXPECT_EQ(runValidate("/nonexistent/tandem.json", out, err, testing::demoEnv()), 1);
  EXPECT_EQ(err.str(), "/nonexistent/tandem.json: cannot open /nonexistent/tandem.json\n1 error\n");
}

const char* kContact = R"({"id":"7","properties":{"email":"Ada@Example.com","firstname":"Ada",
  "lastname":"Lovelace","country":"gb","credit_limit":"2500.50","tags":"b;a"}})";

TEST(Cli, MapToCanonical) {
  std::string in = writeTemp("contact.json", kContact);
  std::ostringstream out, err;
  ASSERT_EQ(runMap(kDemo, "crm", "customer", in, std::nullopt, out, err, testing::DiskEnv{}), 0)
      << err.str();
  EXPECT_EQ(out.str(),
            "{\n  \"city\": null,\n  \"company\": null,\n  \"country\": \"GB\",\n"
            "  \"credit_limit\": 2500.5,\n  \"email\": \"ada@example.com\",\n"
            "  \"first_name\": \"Ada\",\n  \"last_name\": \"Lovelace\",\n"
            "  \"lifecycle_stage\": null,\n  \"phone\": null,\n  \"postal_code\": null,\n"
            "  \"street\": null,\n  \"tags\": [\"a\",\"b\"]\n}\n");
}

TEST(Cli, MapOnToAnotherSystemsCreateBody) {
  std::string in = writeTemp("contact.json", kContact);
  std::ostringstream out, err;
  ASSERT_EQ(runMap(kDemo, "crm", "customer", in, "erp", out, err, testing::DiskEnv{}), 0)
      << err.str();
  EXPECT_EQ(out.str(),
            "{\n  \"vals_list\": [\n    {\n      \"country_id\": 4,\n"
            "      \"credit_limit\": 2500.5,\n      \"email\": \"ada@example.com\",\n"
            "      \"name\": \"Ada Lovelace\"\n    }\n  ]\n}\n");
}

TEST(Cli, MapReportsFieldErrorsAndBadArguments) {
  std::string in = writeTemp("bad_contact.json", R"({"properties":{"credit_limit":"lots"}})");
  std::ostringstream out, err;
  EXPECT_EQ(runMap(kDemo, "crm", "customer", in, std::nullopt, out, err, testing::DiskEnv{}), 1);
  EXPECT_EQ(err.str(),
            "field credit_limit (/properties/credit_limit): expected a decimal number, got "
            "\"lots\"\nfield email (/properties/email): required field is missing or empty\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(runMap(kDemo, "cmr", "customer", in, std::nullopt, out2, err2, testing::DiskEnv{}), 2);
  EXPECT_EQ(err2.str(), "tandem map: no system \"cmr\" in " + kDemo + "\n");
  std::string junk = writeTemp("junk.json", "{\"a\":");
  std::ostringstream out3, err3;
  EXPECT_EQ(runMap(kDemo, "crm", "customer", junk, std::nullopt, out3, err3, testing::DiskEnv{}),
            1);
  EXPECT_EQ(err3.str(), junk + ": record: Invalid value. at offset 5\n");
}

}  // namespace
}  // namespace tandem::mappers
