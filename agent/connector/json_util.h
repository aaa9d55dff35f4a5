#pragma once

// Small JSON helpers for reading systems' answers: pointers given as config text, scalar ids and
// tokens as text, and answers parsed with limits (hostile or truncated input is an error value).

#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "conflict/result.h"

namespace tandem::agent::connector {

// The value at a JSON pointer ("" = the root); nullptr when absent or the pointer is invalid.
const rapidjson::Value* valueAt(const rapidjson::Value& root, std::string_view pointer);

// A string as is, an integer in decimal; nullopt for every other type.
std::optional<std::string> scalarText(const rapidjson::Value& value);

// "string", "integer", "number", "object", ... for error texts.
const char* jsonTypeName(const rapidjson::Value& value);

// A system's answer as JSON, refusing truncated text, deep nesting and oversized strings:
//   "answer is not JSON: Missing a comma or ']' after an array element (offset 812 of 1624)"
Result<rapidjson::Document> parseAnswer(std::string_view body);

// `text` quoted for an error message and cut to 80 bytes.
std::string quoteForError(std::string_view text);

}  // namespace tandem::agent::connector
