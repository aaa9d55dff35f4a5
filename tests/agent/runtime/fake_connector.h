#pragma once

// The fake Connector / SystemChannel over a FakeSystem, and the factories that hand them to the
// agent (AgentOptions::connector_factory / channel_factory).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/runtime/agent.h"
#include "tests/agent/runtime/fake_system.h"

namespace tandem::agent::runtime::testing {

namespace asio = boost::asio;

class FakeChannel final : public connector::SystemChannel {
 public:
  FakeChannel(std::string system, connector::ChannelOptions options)
      : system_(std::move(system)), options_(std::move(options)) {}
  const std::string& system() const override { return system_; }
  std::string breakerState() const override { return "closed"; }
  void observe(std::string_view op, int status) const {
    if (options_.observer) {
      options_.observer({system_, op, status, 0.003});
    }
  }

 private:
  std::string system_;
  connector::ChannelOptions options_;
};

class FakeConnector final : public connector::Connector {
 public:
  FakeConnector(FakeSystem& sys, FakeChannel& channel, const mappers::SystemEntity& entity)
      : sys_(sys), channel_(channel), entity_(entity.entity), spec_(entity.connector) {}

  asio::awaitable<Result<connector::FeedBatch>> fetchChanges(
      std::optional<std::string> cursor) override {
    auto out = sys_.feed(cursor, 50);
    channel_.observe("feed", out ? 200 : 503);
    co_return out;
  }
  asio::awaitable<Result<std::optional<connector::NativeRecord>>> get(std::string id) override {
    const int ms = sys_.getDelayMs();
    auto r = sys_.getRecord(id);
    co_await sleepMs(ms);
    channel_.observe("get", r ? 200 : 404);
    co_return Result<std::optional<connector::NativeRecord>>(std::move(r));
  }
  asio::awaitable<engine::PushOutcome> create(const rapidjson::Value& fields,
                                              std::string idempotency_key) override {
    co_await delay();
    auto o = sys_.write("create", "", fields, idempotency_key);
    sys_.leave();
    channel_.observe("create", statusOf(o));
    co_return o;
  }
  asio::awaitable<engine::PushOutcome> update(std::string id, const rapidjson::Value& fields,
                                              std::string version) override {
    co_await delay();
    // A system without optimistic concurrency ignores the token: the write is blind.
    if (spec_.update.concurrency == mappers::ConcurrencyKind::None) {
      version.clear();
    }
    auto o = sys_.write("update", id, fields, "", version);
    sys_.leave();
    channel_.observe("update", statusOf(o));
    co_return o;
  }
  asio::awaitable<engine::PushOutcome> remove(std::string, std::string) override {
    co_return engine::PushPermanent{"fake: delete not supported"};
  }
  const mappers::WebhookSpec* webhook() const override {
    return spec_.webhook ? &*spec_.webhook : nullptr;
  }
  // The signature is the header X-Sig equal to "good"; the body is a JSON array of ids.
  Result<connector::WebhookDelivery> verifyWebhook(const net::HttpRequest& request,
                                                   int64_t) const override {
    if (request.header("X-Sig") != "good") {
      return fail("webhook " + sys_.name() + ": signature mismatch");
    }
    rapidjson::Document d;
    d.Parse(request.body.c_str());
    if (d.HasParseError() || !d.IsArray()) {
      return fail("webhook " + sys_.name() + ": payload is not a JSON array");
    }
    connector::WebhookDelivery out;
    for (const auto& v : d.GetArray()) {
      if (v.IsString()) {
        out.ids.emplace_back(v.GetString());
      }
    }
    return out;
  }
  const std::string& system() const override { return sys_.name(); }
  const std::string& entity() const override { return entity_; }

 private:
  asio::awaitable<void> delay() {
    sys_.enter();
    co_await sleepMs(sys_.pushDelayMs());
  }
  static asio::awaitable<void> sleepMs(int ms) {
    if (ms > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor);
      t.expires_after(std::chrono::milliseconds(ms));
      co_await t.async_wait(asio::use_awaitable);
    }
  }
  static int statusOf(const engine::PushOutcome& o) {
    if (std::holds_alternative<engine::PushSuccess>(o)) {
      return 200;
    }
    if (std::holds_alternative<engine::PushPermanent>(o)) {
      return 422;
    }
    if (std::holds_alternative<engine::PushStale>(o)) {
      return 412;
    }
    return 503;
  }

  FakeSystem& sys_;
  FakeChannel& channel_;
  std::string entity_;
  mappers::ConnectorSpec spec_;
};

// The fakes for every system name, and the factories that hand them to the agent.
class FakeWorld {
 public:
  FakeSystem& system(const std::string& name) {
    std::lock_guard lock(mu_);
    auto& s = systems_[name];
    if (!s) {
      s = std::make_unique<FakeSystem>(name);
    }
    return *s;
  }
  ChannelFactory channelFactory() {
    return [](asio::io_context&, const mappers::SystemConfig& s, const Clock&,
              connector::ChannelOptions o) -> Result<std::unique_ptr<connector::SystemChannel>> {
      return std::make_unique<FakeChannel>(s.name, std::move(o));
    };
  }
  ConnectorFactory connectorFactory() {
    return [this](connector::SystemChannel& ch, const mappers::SystemConfig& s,
                  const mappers::SystemEntity& e) -> Result<std::unique_ptr<connector::Connector>> {
      return std::make_unique<FakeConnector>(system(s.name), static_cast<FakeChannel&>(ch), e);
    };
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FakeSystem>> systems_;
};

}  // namespace tandem::agent::runtime::testing
