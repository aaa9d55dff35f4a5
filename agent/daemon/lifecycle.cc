#include "agent/daemon/lifecycle.h"

#include <atomic>
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>

namespace tandem::agent::daemon {

namespace asio = boost::asio;

class Lifecycle::Impl : public std::enable_shared_from_this<Lifecycle::Impl> {
 public:
  Impl(asio::io_context& ioc, LifecycleHooks hooks)
      : strand_(asio::make_strand(ioc)), signals_(strand_), hooks_(std::move(hooks)) {}

  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};

  Status start() {
    boost::system::error_code ec;
    for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
      signals_.add(sig, ec);
      if (ec) {
        return fail("lifecycle: signals: " + ec.message());
      }
    }
    wait();
    return {};
  }

  void stop() {
    asio::post(strand_, [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->signals_.cancel(ignored);
      self->alive_ = false;
    });
  }

  void shutdown() {
    asio::post(strand_, [self = shared_from_this()] { self->onTerminate(); });
  }

 private:
  void wait() {
    signals_.async_wait([self = shared_from_this()](boost::system::error_code ec, int sig) {
      if (ec || !self->alive_) {
        return;
      }
      if (sig == SIGHUP) {
        if (self->hooks_.onReload) {
          self->hooks_.onReload();
        }
      } else {
        self->onTerminate();
      }
      self->wait();
    });
  }

  // On strand_.
  void onTerminate() {
    if (exited_) {
      return;
    }
    if (stopping_.exchange(true)) {
      exit(1);  // asked twice: stop waiting for the drain
      return;
    }
    ready_.store(false);
    if (hooks_.stopIntake) {
      hooks_.stopIntake();
    }
    if (!hooks_.drain) {
      exit(0);
      return;
    }
    hooks_.drain(
        [self = shared_from_this()] { asio::post(self->strand_, [self] { self->exit(0); }); });
  }

  void exit(int code) {
    if (exited_) {
      return;
    }
    exited_ = true;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    if (hooks_.onExit) {
      hooks_.onExit(code);
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::signal_set signals_;
  LifecycleHooks hooks_;
  bool alive_ = true;
  bool exited_ = false;
};

Lifecycle::Lifecycle(asio::io_context& ioc, LifecycleHooks hooks)
    : impl_(std::make_shared<Impl>(ioc, std::move(hooks))) {}

Lifecycle::~Lifecycle() {
  impl_->stop();
}

Status Lifecycle::start() {
  impl_->ready_.store(true);
  return impl_->start();
}

bool Lifecycle::ready() const {
  return impl_->ready_.load();
}
void Lifecycle::setReady(bool ready) {
  impl_->ready_.store(ready);
}
bool Lifecycle::stopping() const {
  return impl_->stopping_.load();
}

void Lifecycle::requestShutdown() {
  impl_->shutdown();
}

}  // namespace tandem::agent::daemon
