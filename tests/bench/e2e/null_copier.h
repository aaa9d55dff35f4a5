#pragma once

// The baseline of the initial-load benchmark: a plain program that reads the CRM feed (the same
// search the agent's demo configuration reads, 100 per page) and creates every record in the ERP
// and in finance, one request per record (the agent batches them: 100 to an ERP create, 30 to a
// finance batch), with no mapping engine, no merge and no state beyond the ids already read. It
// uses the agent's HTTP client (keep-alive pool) with the agent's concurrency: max_in_flight
// requests per system.

#include <cstdint>
#include <string>

#include "fixtures/fixture_server.h"

namespace tandem::bench {

struct CopyResult {
  int64_t read = 0;
  int64_t erp_created = 0;
  int64_t fin_created = 0;
  int64_t failed = 0;
  std::string first_error;  // "" when every request succeeded
  double seconds = 0;
};

CopyResult runNullCopier(const fixtures::FixturePorts& ports, int max_in_flight);

}  // namespace tandem::bench
