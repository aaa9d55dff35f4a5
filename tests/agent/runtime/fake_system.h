#pragma once

// A fake system behind a fake Connector / SystemChannel (STYLE.md item 13: fakes over mocks): an
// in-memory map of flat records {"id","email","name","phone"} with a change feed by sequence
// number, creates that honour the idempotency key (or not, like an API without one), and the
// faults the runtime must survive: down, refusing a value, applied-but-500, slow pushes, a feed
// that holds still, a record the connector cannot read.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/connector/connector.h"
#include "agent/runtime/agent.h"

namespace tandem::agent::runtime::testing {

namespace asio = boost::asio;

struct FakeRecord {
  std::map<std::string, std::string> fields;
  int64_t updated = 0;
  uint64_t seq = 0;
  std::string key;    // idempotency key of the create that made it
  std::string error;  // non-empty: the connector cannot read it (NativeRecord::error)
};

class FakeSystem {
 public:
  explicit FakeSystem(std::string name) : name_(std::move(name)) {}

  // ---- a person at the system's UI
  std::string humanCreate(std::map<std::string, std::string> fields) {
    std::lock_guard lock(mu_);
    std::string id = name_ + "-" + std::to_string(++next_id_);
    auto& r = recs_[id];
    r.fields = std::move(fields);
    bump(r);
    return id;
  }
  void humanEdit(const std::string& id, const std::string& field, const std::string& value) {
    std::lock_guard lock(mu_);
    auto& r = recs_.at(id);
    if (value.empty()) {
      r.fields.erase(field);
    } else {
      r.fields[field] = value;
    }
    bump(r);
  }
  std::string addUnreadable(std::string error) {
    std::lock_guard lock(mu_);
    std::string id = name_ + "-" + std::to_string(++next_id_);
    auto& r = recs_[id];
    r.error = std::move(error);
    bump(r);
    return id;
  }

  // ---- faults
  void setDown(bool v) {
    set([&] { down_ = v; });
  }
  void setFeedPaused(bool v) {
    set([&] { feed_paused_ = v; });
  }
  void setIdempotent(bool v) {
    set([&] { idempotent_ = v; });
  }
  void setAppliedButFail(int creates) {
    set([&] { applied_but_fail_ = creates; });
  }
  void setPushDelayMs(int ms) {
    set([&] { push_delay_ms_ = ms; });
  }
  void setReject(
      std::function<std::optional<std::string>(const std::string&, const std::string&)> reject) {
    set([&] { reject_ = std::move(reject); });
  }

  // ---- inspection
  std::optional<FakeRecord> byEmail(const std::string& email) const {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : recs_) {
      auto e = r.fields.find("email");
      if (e != r.fields.end() && e->second == email) {
        return r;
      }
    }
    return std::nullopt;
  }
  std::optional<std::string> idByEmail(const std::string& email) const {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : recs_) {
      auto e = r.fields.find("email");
      if (e != r.fields.end() && e->second == email) {
        return id;
      }
    }
    return std::nullopt;
  }
  size_t countEmail(const std::string& email) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(recs_.begin(), recs_.end(), [&](const auto& kv) {
      auto e = kv.second.fields.find("email");
      return e != kv.second.fields.end() && e->second == email;
    }));
  }
  std::string field(const std::string& email, const std::string& name) const {
    auto r = byEmail(email);
    if (!r) {
      return "<absent>";
    }
    auto f = r->fields.find(name);
    return f == r->fields.end() ? "" : f->second;
  }
  size_t creates() const { return read(creates_); }
  size_t createCalls() const { return read(create_calls_); }
  size_t writeCalls() const { return read(write_calls_); }
  size_t getCalls() const { return read(get_calls_); }
  int inFlight() const { return read(in_flight_); }
  size_t staleAnswers() const { return read(stale_); }
  const std::string& name() const { return name_; }

  // ---- the API the fake connector calls
  Result<connector::FeedBatch> feed(const std::optional<std::string>& cursor, size_t page) {
    std::lock_guard lock(mu_);
    if (down_) {
      return fail("fetch " + name_ + ": 503 service unavailable");
    }
    connector::FeedBatch out;
    uint64_t after = cursor ? std::stoull(*cursor) : 0;
    if (feed_paused_) {
      out.cursor = cursor;
      return out;
    }
    std::vector<std::pair<uint64_t, std::string>> changed;
    for (const auto& [id, r] : recs_) {
      if (r.seq > after) {
        changed.emplace_back(r.seq, id);
      }
    }
    std::sort(changed.begin(), changed.end());
    uint64_t last = after;
    for (size_t i = 0; i < changed.size() && i < page; ++i) {
      out.records.push_back(native(changed[i].second, recs_.at(changed[i].second)));
      last = changed[i].first;
    }
    out.more = changed.size() > page;
    out.cursor = std::to_string(last);
    return out;
  }

  std::optional<connector::NativeRecord> getRecord(const std::string& id) {
    std::lock_guard lock(mu_);
    ++get_calls_;
    auto it = recs_.find(id);
    if (it == recs_.end()) {
      return std::nullopt;
    }
    return native(it->first, it->second);
  }

  // `version`: the token an update carries; a record changed since is stale (like a SyncToken).
  engine::PushOutcome write(const std::string& op, const std::string& id,
                            const rapidjson::Value& fields, const std::string& key,
                            const std::string& version = "") {
    std::lock_guard lock(mu_);
    ++write_calls_;
    if (down_) {
      return engine::PushRetryable{"503 service unavailable", 0};
    }
    if (op == "update" && !version.empty()) {
      auto it = recs_.find(id);
      if (it != recs_.end() && version != "v" + std::to_string(it->second.seq)) {
        ++stale_;
        return engine::PushStale{};
      }
    }
    if (reject_ && fields.IsObject()) {
      for (const auto& m : fields.GetObject()) {
        if (m.value.IsString()) {
          if (auto msg = reject_(m.name.GetString(), m.value.GetString())) {
            return engine::PushPermanent{*msg};
          }
        }
      }
    }
    std::string target = id;
    if (op == "create") {
      ++create_calls_;
      auto known = by_key_.find(key);
      if (idempotent_ && known != by_key_.end()) {
        target = known->second;
      } else {
        target = name_ + "-" + std::to_string(++next_id_);
        recs_[target].key = key;
        by_key_[key] = target;
        ++creates_;
      }
    }
    auto it = recs_.find(target);
    if (it == recs_.end()) {
      return engine::PushNotFound{};
    }
    if (fields.IsObject()) {
      for (const auto& m : fields.GetObject()) {
        std::string v = m.value.IsString() ? m.value.GetString() : "";
        if (v.empty()) {
          it->second.fields.erase(m.name.GetString());
        } else {
          it->second.fields[m.name.GetString()] = v;
        }
      }
    }
    bump(it->second);
    if (op == "create" && applied_but_fail_ > 0) {
      --applied_but_fail_;
      return engine::PushRetryable{"500 internal server error (applied)", 0};
    }
    return engine::PushSuccess{target, "v" + std::to_string(it->second.seq), it->second.updated};
  }

  int pushDelayMs() const { return read(push_delay_ms_); }
  void enter() {
    set([&] { ++in_flight_; });
  }
  void leave() {
    set([&] { --in_flight_; });
  }

 private:
  template <class F>
  void set(F f) {
    std::lock_guard lock(mu_);
    f();
  }
  template <class T>
  T read(const T& member) const {
    std::lock_guard lock(mu_);
    return member;
  }
  void bump(FakeRecord& r) {
    r.updated = ++clock_ + 1'700'000'000'000;
    r.seq = ++seq_;
  }
  static connector::NativeRecord native(const std::string& id, const FakeRecord& r) {
    connector::NativeRecord n;
    n.id = id;
    n.updated_ms = r.updated;
    n.version = "v" + std::to_string(r.seq);
    n.error = r.error;
    n.body.SetObject();
    auto& a = n.body.GetAllocator();
    n.body.AddMember("id", rapidjson::Value(id.c_str(), a), a);
    for (const auto& [k, v] : r.fields) {
      n.body.AddMember(rapidjson::Value(k.c_str(), a), rapidjson::Value(v.c_str(), a), a);
    }
    return n;
  }

  std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, FakeRecord> recs_;
  std::map<std::string, std::string> by_key_;
  uint64_t next_id_ = 0;
  uint64_t seq_ = 0;
  int64_t clock_ = 0;
  size_t creates_ = 0;
  size_t create_calls_ = 0;
  size_t write_calls_ = 0;
  size_t get_calls_ = 0;
  size_t stale_ = 0;
  int in_flight_ = 0;
  bool down_ = false;
  bool feed_paused_ = false;
  bool idempotent_ = true;
  int applied_but_fail_ = 0;
  int push_delay_ms_ = 0;
  std::function<std::optional<std::string>(const std::string&, const std::string&)> reject_;
};

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
    auto r = sys_.getRecord(id);
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
    int ms = sys_.pushDelayMs();
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
