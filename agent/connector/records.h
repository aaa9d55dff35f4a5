#pragma once

// One system record read through the connector's pointers (id, updated, version, deleted,
// archived/active) into a NativeRecord. A record that cannot be read comes back with `error`
// set (exact text, no context prefix) and whatever could be read.

#include <string>

#include <rapidjson/document.h>

#include "agent/connector/connector.h"
#include "mappers/config.h"

namespace tandem::agent::connector {

NativeRecord readRecord(const mappers::RecordPointers& pointers, const rapidjson::Value& value);

// The record's updated time alone, for answers to writes: 0 when absent or unreadable.
int64_t readUpdatedMs(const mappers::RecordPointers& pointers, const rapidjson::Value& value);

}  // namespace tandem::agent::connector
