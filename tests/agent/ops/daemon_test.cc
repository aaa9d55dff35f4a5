// `tandem run` as a function: the demo configuration, a fake agent, the real admin server on
// 127.0.0.1:0, the lifecycle driven through DaemonHandle (what SIGTERM and SIGHUP do).

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "agent/net/http_client.h"
#include "agent/ops/daemon.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/ops/config_fixture.h"
#include "tests/agent/ops/fake_agent.h"

namespace tandem::agent::ops::testing {
namespace {

using namespace std::chrono_literals;
using agent::testing::waitFor;

// A stream the daemon's threads write log lines to while the test reads what is there so far.
class LockedBuf : public std::stringbuf {
 public:
  std::string text() {
    std::lock_guard lock(mu_);
    return str();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(mu_);
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    std::lock_guard lock(mu_);
    return std::stringbuf::overflow(c);
  }

 private:
  std::recursive_mutex mu_;  // xsputn may call overflow
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = writeConfig(dir_.path(), "state", 0);
    options_.env = &env_;
    options_.log_out = &log_;
    options_.make_agent =
        [this](boost::asio::io_context& ioc, mappers::Config cfg,
               runtime::AgentOptions opts) -> Result<std::unique_ptr<runtime::Agent>> {
      EXPECT_NE(opts.log, nullptr);
      auto store = openStore(cfg.agent.state_dir);
      auto made = std::make_unique<FakeAgent>(std::move(store), std::move(cfg));
      made->hold_drain = true;
      made->drain_ioc = &ioc;
      agent_ = made.get();
      return made;
    };
    options_.on_started = [this](const DaemonHandle& h) { started_.set_value(h); };
  }

  // Runs the daemon on its own thread; returns its handle once it serves.
  std::optional<DaemonHandle> start() {
    exit_code_ =
        std::async(std::launch::async, [this] { return runDaemon(config_, options_, err_); });
    auto started = started_.get_future();
    if (started.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "the daemon did not start: " << err_.str();
      return std::nullopt;
    }
    handle_ = started.get();
    return handle_;
  }

  // A failed assertion must not leave the daemon running (its future would wait forever).
  void TearDown() override {
    if (exit_code_.valid() && exit_code_.wait_for(0s) != std::future_status::ready && handle_) {
      handle_->shutdown();
      if (waitFor([&] { return agent_->drainPending(); })) {
        agent_->releaseDrain();
      }
    }
  }

  net::HttpResponse get(uint16_t port, const std::string& path) {
    net::HttpClientOptions o;
    o.useSystemCaStore = false;
    auto client = net::makeHttpClient(io_.ioc(), o);
    EXPECT_TRUE(client);
    net::HttpRequest request;
    request.target = "http://127.0.0.1:" + std::to_string(port) + path;
    auto r = io_.run((*client)->send(std::move(request)));
    if (!r || !*r) {
      ADD_FAILURE() << "GET " << path << ": " << (r ? r->error().message : "deadline");
      return {};
    }
    return **r;
  }

  tandem::testing::TempDir dir_{"tandem-daemon"};
  TestEnv env_;
  std::string config_;
  LockedBuf log_buf_;
  std::ostream log_{&log_buf_};
  RunOptions options_;
  FakeAgent* agent_ = nullptr;
  std::promise<DaemonHandle> started_;
  std::optional<DaemonHandle> handle_;
  std::ostringstream err_;
  std::future<int> exit_code_;
  agent::testing::IoRunner io_;
};

TEST_F(DaemonTest, ServesTheAdminApiThenSigtermDrainsAndExitsZero) {
  auto started = start();
  ASSERT_TRUE(started);
  const DaemonHandle handle = *started;
  auto& exit_code = exit_code_;
  ASSERT_NE(handle.admin_port, 0);
  EXPECT_TRUE(agent_->started);

  EXPECT_EQ(get(handle.admin_port, "/readyz").status, 200);
  EXPECT_EQ(get(handle.admin_port, "/v1/status").status, 200);

  handle.shutdown();  // what SIGTERM does
  ASSERT_TRUE(waitFor([&] { return agent_->drainPending(); }));
  EXPECT_TRUE(agent_->intake_stopped);
  // The agent is still draining: the server answers, but not ready.
  auto draining = get(handle.admin_port, "/readyz");
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(draining.body, R"({"ready":false,"state":"draining"})");
  EXPECT_EQ(exit_code.wait_for(0s), std::future_status::timeout);

  agent_->releaseDrain();
  ASSERT_EQ(exit_code.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(exit_code.get(), 0);
  EXPECT_EQ(err_.str(), "");
  const std::string log = log_buf_.text();
  EXPECT_NE(log.find("INFO  tandem running config="), std::string::npos) << log;
  EXPECT_NE(log.find("stopped exit_code=0"), std::string::npos) << log;
  EXPECT_EQ(log.find("value-of-CRM_TOKEN"), std::string::npos) << "a secret reached the log";
}

// An initial load leaves the heap it freed in malloc's arenas; the daemon gives it back once the
// agent goes quiet, once per stretch of work, and not while the agent is busy or idle polls
// find nothing.
TEST_F(DaemonTest, GivesFreedHeapBackOnceTheAgentGoesQuiet) {
  std::atomic<int> releases{0};
  options_.quiet_check = 20ms;
  options_.release_heap = [&] { releases.fetch_add(1); };
  ASSERT_TRUE(start());
  ASSERT_TRUE(waitFor([&] { return releases.load() == 1; }));  // quiet since start

  auto working = [&](uint64_t records, uint64_t pushed) {
    runtime::AgentStatus st;
    st.detectors.emplace_back().records = records;
    st.systems.emplace_back().pushes.success = pushed;
    agent_->setStatus(st);
  };
  // Busy: something new at (nearly) every look, then quiet: released once more.
  for (uint64_t i = 1; i <= 15; ++i) {
    working(i, i);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(waitFor([&] { return releases.load() >= 2; }));
  const int after_work = releases.load();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(releases.load(), after_work);  // not again while nothing happens
  working(16, 20);                         // a push answered
  ASSERT_TRUE(waitFor([&] { return releases.load() == after_work + 1; }));

  handle_->shutdown();
  ASSERT_TRUE(waitFor([&] { return agent_->drainPending(); }));
  agent_->releaseDrain();
  ASSERT_EQ(exit_code_.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(exit_code_.get(), 0);
}

TEST_F(DaemonTest, ReloadSwapsOnlyAValidConfiguration) {
  auto started = start();
  ASSERT_TRUE(started);
  const DaemonHandle handle = *started;
  auto& exit_code = exit_code_;

  handle.reload();  // what SIGHUP does
  ASSERT_TRUE(waitFor([&] { return agent_->reloadCount() == 1; }));

  std::ofstream(config_) << "{\"agent\": {\"poll_interval_ms\": \"often\"}}";
  handle.reload();
  ASSERT_TRUE(waitFor([&] { return log_buf_.text().find("reload refused") != std::string::npos; }))
      << log_buf_.text();
  EXPECT_EQ(agent_->reloadCount(), 1);  // the running configuration stayed

  handle.shutdown();
  ASSERT_TRUE(waitFor([&] { return agent_->drainPending(); }));
  agent_->releaseDrain();
  ASSERT_EQ(exit_code.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(exit_code.get(), 0);
}

TEST_F(DaemonTest, RefusesToStartOnAnInvalidConfigurationWithItsLocation) {
  std::ofstream(config_) << "{\n  \"agent\": {\"state_dir\": 5}\n}\n";
  std::ostringstream err;
  EXPECT_EQ(runDaemon(config_, options_, err), 1);
  EXPECT_NE(err.str().find(config_ + ":2:"), std::string::npos) << err.str();
  EXPECT_EQ(agent_, nullptr);
}

TEST_F(DaemonTest, RefusesToStartWhenTheAgentCannot) {
  options_.make_agent = [](boost::asio::io_context&, mappers::Config,
                           runtime::AgentOptions) -> Result<std::unique_ptr<runtime::Agent>> {
    return fail("state: open /x: Permission denied");
  };
  std::ostringstream err;
  EXPECT_EQ(runDaemon(config_, options_, err), 1);
  EXPECT_EQ(err.str(), "tandem run: state: open /x: Permission denied\n");
}

}  // namespace
}  // namespace tandem::agent::ops::testing
