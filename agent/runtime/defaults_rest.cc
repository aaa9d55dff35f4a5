// Default factories: the declarative REST connector (see defaults.h).

#include "agent/runtime/defaults.h"

namespace tandem::agent::runtime::detail {

ConnectorFactory defaultConnectorFactory() {
  return [](connector::SystemChannel& channel, const mappers::SystemConfig& system,
            const mappers::SystemEntity& entity) {
    return connector::Connector::make(channel, system, entity);
  };
}

ChannelFactory defaultChannelFactory() {
  return [](boost::asio::io_context& ioc, const mappers::SystemConfig& system, const Clock& clock,
            connector::ChannelOptions options) {
    return connector::SystemChannel::make(ioc, system, clock, std::move(options));
  };
}

}  // namespace tandem::agent::runtime::detail
