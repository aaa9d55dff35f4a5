#pragma once

// A fake system (STYLE.md item 13: fakes over mocks; fake_connector.h puts a Connector and a
// SystemChannel in front of it): an in-memory map of flat records {"id","email","name","phone"}
// with a change feed by sequence number, creates that honour the idempotency key (or not, like an
// API without one), update version tokens, and the faults the runtime must survive: down,
// refusing a value, applied-but-500, slow pushes, a feed that holds still, an unreadable record.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agent/connector/connector.h"
#include "agent/runtime/agent.h"

namespace tandem::agent::runtime::testing {

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
  // The next `n` feed reads (writes) throw, as a bug met by one record would.
  void setFeedThrows(int n) {
    set([&] { feed_throws_ = n; });
  }
  void setWriteThrows(int n) {
    set([&] { write_throws_ = n; });
  }
  void setPushDelayMs(int ms) {
    set([&] { push_delay_ms_ = ms; });
  }
  // A get answers with the record as it was when asked, `ms` later (a slow read).
  void setGetDelayMs(int ms) {
    set([&] { get_delay_ms_ = ms; });
  }
  // Called as every feed request starts, on the agent's thread (the system's lock not held).
  void setFeedWatch(std::function<void()> watch) {
    set([&] { feed_watch_ = std::move(watch); });
  }
  // Every change from now on gets the same updated time, as on a whole-second clock.
  void setClockStill(bool v) {
    set([&] { clock_still_ = v; });
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
    if (auto watch = read(feed_watch_)) {
      watch();
    }
    std::lock_guard lock(mu_);
    if (down_) {
      return fail("fetch " + name_ + ": 503 service unavailable");
    }
    if (feed_throws_ > 0) {
      --feed_throws_;
      throw std::runtime_error("fake " + name_ + ": the feed threw");
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
    if (write_throws_ > 0) {
      --write_throws_;
      throw std::runtime_error("fake " + name_ + ": the write threw");
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
  int getDelayMs() const { return read(get_delay_ms_); }
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
    r.updated = (clock_still_ ? clock_ : ++clock_) + 1'700'000'000'000;
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
  int feed_throws_ = 0;
  int write_throws_ = 0;
  int get_delay_ms_ = 0;
  bool clock_still_ = false;
  int push_delay_ms_ = 0;
  std::function<std::optional<std::string>(const std::string&, const std::string&)> reject_;
  std::function<void()> feed_watch_;
};

}  // namespace tandem::agent::runtime::testing
