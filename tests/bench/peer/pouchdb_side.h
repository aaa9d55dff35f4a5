#pragma once

// PouchDB's side of the peer comparison: runs pouchdb_peer.js with node and reads its one JSON
// line. The script's npm dependencies come from the source folder's node_modules when a
// developer installed them there, else from `npm ci` into a cache folder in the build tree
// (re-run when package-lock.json changes).

#include <cstdint>
#include <string>

#include "conflict/result.h"

namespace tandem::bench {

struct PeerOptions {
  int64_t records = 10000;
  int64_t edits = 1000;
  std::string source_dir;  // holds pouchdb_peer.js, package.json, package-lock.json
  std::string cache_dir;   // the build tree's node_modules cache
};

struct PeerSide {
  int64_t both = 0;        // winning revision holds both edits
  int64_t city_only = 0;   // ... only A's
  int64_t phone_only = 0;  // ... only B's
  int64_t with_conflicts = 0;
};

struct PeerFigures {
  std::string version;  // pouchdb-core's
  std::string server;
  std::string mode;
  double sync_seconds = 0;
  double docs_per_s = 0;
  double edit_seconds = 0;
  int64_t kept_both = 0;  // both edits in the winning revision on both sides
  PeerSide a;
  PeerSide b;
};

// Errors say which step failed: "node is not on PATH", "npm ci in DIR failed (exit 1)", the
// script's exit status, or a malformed result line.
Result<PeerFigures> measurePouchDb(const PeerOptions& options);

}  // namespace tandem::bench
