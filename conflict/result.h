#pragma once

// Errors are values across module boundaries (STYLE.md item 8). An Error's message says what,
// where and why: "state: put record cust/42: MDB_MAP_FULL".

#include <expected>
#include <string>
#include <utility>

namespace tandem {

struct Error {
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected<Error>(Error{std::move(message)});
}

// Prefixes context to an error travelling outward: "state: get record r1: " + inner.
inline std::unexpected<Error> failWith(const std::string& context, const Error& inner) {
  return std::unexpected<Error>(Error{context + ": " + inner.message});
}

}  // namespace tandem

// Early return of an error, in the style of Abseil's ASSIGN_OR_RETURN. `lhs` may declare:
//   TANDEM_ASSIGN_OR_RETURN(auto n, reader.varint("count"));
#define TANDEM_CAT_INNER_(a, b) a##b
#define TANDEM_CAT_(a, b) TANDEM_CAT_INNER_(a, b)
#define TANDEM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) {                                         \
    return std::unexpected(std::move(tmp).error());   \
  }                                                   \
  lhs = std::move(*tmp)
#define TANDEM_ASSIGN_OR_RETURN(lhs, expr) \
  TANDEM_ASSIGN_OR_RETURN_IMPL_(TANDEM_CAT_(tandem_result_, __LINE__), lhs, expr)
#define TANDEM_RETURN_IF_ERROR(expr)                             \
  do {                                                           \
    auto tandem_status_ = (expr);                                \
    if (!tandem_status_) {                                       \
      return std::unexpected(std::move(tandem_status_).error()); \
    }                                                            \
  } while (0)
