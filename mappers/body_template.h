#pragma once

// Puts a mapped record into a request body template at `record_at` (a JSON pointer into the
// template; its object receives the record's members, "" = the top level). Placeholders are
// left for the caller. Used by the agent's pushers and by `tandem map --out`.

#include <string>

#include <rapidjson/document.h>

#include "conflict/result.h"

namespace tandem::mappers {

Result<std::string> renderBody(const std::string& body_template, const std::string& record_at,
                               const rapidjson::Value& record);

// The same on a body in hand: `record`'s members are copied into `body` at `record_at` (created
// where missing, made an object where it is not one) with `alloc`, the allocator of `body`'s
// document. The agent builds its request bodies so, without printing and parsing them again.
Status placeRecord(rapidjson::Value& body, rapidjson::MemoryPoolAllocator<>& alloc,
                   const std::string& record_at, const rapidjson::Value& record);

}  // namespace tandem::mappers
