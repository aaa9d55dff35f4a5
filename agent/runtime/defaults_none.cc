// Default factories when agent/connector is not part of the build (see defaults.h).

#include "agent/runtime/defaults.h"

namespace tandem::agent::runtime::detail {

ConnectorFactory defaultConnectorFactory() {
  return [](connector::SystemChannel&, const mappers::SystemConfig& system,
            const mappers::SystemEntity& entity) -> Result<std::unique_ptr<connector::Connector>> {
    return fail("runtime: connector for " + system.name + "." + entity.entity +
                ": this build has no REST connector (agent/connector)");
  };
}

ChannelFactory defaultChannelFactory() {
  return [](boost::asio::io_context&, const mappers::SystemConfig& system, const Clock&,
            connector::ChannelOptions) -> Result<std::unique_ptr<connector::SystemChannel>> {
    return fail("runtime: channel for " + system.name +
                ": this build has no REST connector (agent/connector)");
  };
}

}  // namespace tandem::agent::runtime::detail
