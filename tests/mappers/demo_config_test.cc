// The demo configuration in fixtures/config/ loads, validates and maps the fixtures' shapes.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "mappers/config_loader.h"
#include "mappers/mapper.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

const std::string kDemo = std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/demo.json";

TEST(DemoConfig, LoadsAndValidates) {
  auto env = testing::demoEnv();
  auto cfg = loadConfig(kDemo, env);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().formatAll();
  ASSERT_EQ(cfg->systems.size(), 3u);
  EXPECT_EQ(cfg->systems[0].name, "crm");
  EXPECT_EQ(cfg->systems[0].auth.secret.reveal(), "crm-token");
  EXPECT_EQ(cfg->systems[0].auth.secret.describe(), "env:CRM_TOKEN");
  const auto& crm = cfg->systems[0].entities.at(0).connector;
  // state_dir is relative to the config file, so the daemon and the CLI agree wherever they run.
  EXPECT_EQ(cfg->agent.state_dir, std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/./demo-state");
  EXPECT_EQ(crm.feed.paging.kind, PagingKind::BodyToken);
  EXPECT_EQ(crm.feed.paging.max_results, 10000);
  EXPECT_EQ(crm.feed.since_format, TimeFormat::EpochMs);
  const auto& fin = cfg->systems[2].entities.at(0).connector;
  EXPECT_EQ(fin.update.concurrency, ConcurrencyKind::BodyVersion);
  ASSERT_EQ(fin.update.stale.size(), 1u);
  EXPECT_EQ(fin.update.stale[0].error_code, "5010");
  EXPECT_EQ(fin.create.idempotency, IdempotencyPlace::Query);
  EXPECT_EQ(fin.create.idempotency_name, "requestid");
  // Creates go 30 to a QuickBooks batch, answered by bId, each with its own Fault.
  ASSERT_EQ(fin.batch.size(), 1u);
  EXPECT_EQ(fin.batch[0].name, "create");
  EXPECT_EQ(fin.batch[0].request.url, "/v3/company/{realm}/batch");
  EXPECT_EQ(fin.batch[0].max_items, 30);
  EXPECT_EQ(fin.batch[0].item, R"({"bId":"{idempotency_key}","operation":"create"})");
  EXPECT_EQ(fin.batch[0].record_at, "/Customer");
  EXPECT_EQ(fin.batch[0].correlate_item, "/bId");
  EXPECT_EQ(fin.batch[0].correlate_result, "/bId");
  EXPECT_EQ(fin.batch[0].error_pointer, "/Fault");
  // More than 1,000 customers in one second: the query endpoint reads it, 1-based pages.
  ASSERT_TRUE(fin.feed.dense_fallback);
  EXPECT_EQ(fin.feed.dense_fallback->paging.kind, PagingKind::OffsetLimit);
  EXPECT_EQ(fin.feed.dense_fallback->paging.offset_base, 1);
  EXPECT_EQ(fin.feed.dense_fallback->paging.limit, 1000);
  EXPECT_EQ(fin.feed.dense_fallback->records_pointer, "/QueryResponse/Customer");
  const auto& erp = cfg->systems[1].entities.at(0).connector;
  EXPECT_EQ(erp.del.mode, DeleteMode::FieldWrite);
  EXPECT_EQ(erp.del.fields, "{\"active\":false}");
  const EntityConfig* customer = cfg->findEntity("customer");
  ASSERT_NE(customer, nullptr);
  EXPECT_EQ(customer->fields.size(), 12u);
  EXPECT_EQ(customer->findField("tags")->policy.kind, conflict::PolicyKind::Union);
  EXPECT_EQ(customer->findField("company")->policy.kind, conflict::PolicyKind::Manual);
  EXPECT_EQ(customer->findField("credit_limit")->policy.prefer,
            (std::vector<std::string>{"fin", "erp"}));
  for (const char* sys : {"crm", "erp", "fin"}) {
    EXPECT_TRUE(compilePlan(*cfg, sys, "customer").has_value()) << sys;
  }
}

TEST(DemoConfig, MissingSecretIsReportedWithItsLocation) {
  auto env = testing::demoEnv();
  env.vars.erase("ERP_KEY");
  auto cfg = loadConfig(kDemo, env);
  ASSERT_FALSE(cfg.has_value());
  ASSERT_EQ(cfg.error().size(), 1u);
  EXPECT_EQ(cfg.error().items()[0].path, "systems[1].auth.token");
  EXPECT_EQ(cfg.error().items()[0].message, "environment variable ERP_KEY is not set");
  // Where the reference stands in the file (found by text, so editing the demo elsewhere does not
  // move the goalposts): the line and column of its opening brace.
  std::ifstream in(kDemo);
  std::string line;
  size_t line_no = 0;
  size_t col = std::string::npos;
  while (col == std::string::npos && std::getline(in, line)) {
    ++line_no;
    col = line.find(R"({"env": "ERP_KEY"})");
  }
  ASSERT_NE(col, std::string::npos);
  EXPECT_EQ(cfg.error().items()[0].line, line_no);
  EXPECT_EQ(cfg.error().items()[0].col, col + 1);
}

}  // namespace
}  // namespace tandem::mappers
