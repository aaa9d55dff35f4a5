#pragma once

// Binary encodings of Record, Shadow and ConflictEntry for the store. Each starts with a format
// byte so a later version can read (and migrate) what an older one wrote. Decoding never
// trusts its input: truncation and corruption come back as errors, never as a crash.

#include <string>
#include <string_view>

#include "conflict/record.h"
#include "conflict/result.h"

namespace tandem::conflict {

std::string encodeRecord(const Record& r);
Result<Record> decodeRecord(std::string_view bytes);

std::string encodeShadow(const Shadow& s);
Result<Shadow> decodeShadow(std::string_view bytes);

std::string encodeConflict(const ConflictEntry& c);
Result<ConflictEntry> decodeConflict(std::string_view bytes);

}  // namespace tandem::conflict
