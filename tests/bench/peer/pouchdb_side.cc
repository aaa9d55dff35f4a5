#include "tests/bench/peer/pouchdb_side.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>

namespace tandem::bench {
namespace {

namespace fs = std::filesystem;

// The full path of `name` on PATH, or "".
std::string onPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return {};
}

std::string shellQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Ran {
  int exit_code = -1;
  std::string out;
};

// Runs `command` with /bin/sh; stdout captured, stderr passed through to ours.
Result<Ran> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return fail("bench_peer: cannot start: " + command);
  }
  Ran r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    r.out.append(buf, n);
  }
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// NODE_PATH for the script: "" when the source folder has its own node_modules, else the
// cache's, installed with `npm ci` when missing or made from another package-lock.json.
Result<std::string> nodeModules(const PeerOptions& o) {
  const fs::path src(o.source_dir);
  if (fs::is_directory(src / "node_modules")) {
    return std::string();
  }
  const fs::path cache(o.cache_dir);
  const std::string lock = readFile(src / "package-lock.json");
  if (lock.empty()) {
    return fail("bench_peer: " + (src / "package-lock.json").string() + " is missing or empty");
  }
  if (fs::is_directory(cache / "node_modules") && readFile(cache / "package-lock.json") == lock) {
    return (cache / "node_modules").string();
  }
  const std::string npm = onPath("npm");
  if (npm.empty()) {
    return fail("bench_peer: npm is not on PATH, cannot install the peer's packages into " +
                cache.string());
  }
  std::error_code ec;
  fs::create_directories(cache, ec);
  fs::copy_file(src / "package.json", cache / "package.json", fs::copy_options::overwrite_existing,
                ec);
  if (!ec) {
    fs::copy_file(src / "package-lock.json", cache / "package-lock.json",
                  fs::copy_options::overwrite_existing, ec);
  }
  if (ec) {
    return fail("bench_peer: copy package files to " + cache.string() + ": " + ec.message());
  }
  std::fprintf(stderr, "bench_peer: npm ci into %s (first run only)\n", cache.c_str());
  TANDEM_ASSIGN_OR_RETURN(auto ran,
                          run("cd " + shellQuoted(cache.string()) + " && " + shellQuoted(npm) +
                              " ci --no-audit --no-fund --loglevel=error 1>&2"));
  if (ran.exit_code != 0) {
    fs::remove(cache / "package-lock.json", ec);  // so the next run tries again
    return fail("bench_peer: npm ci in " + cache.string() + " failed (exit " +
                std::to_string(ran.exit_code) + ")");
  }
  return (cache / "node_modules").string();
}

int64_t intOf(const rapidjson::Value& obj, const char* name) {
  return obj.HasMember(name) && obj[name].IsInt64() ? obj[name].GetInt64() : -1;
}

double numberOf(const rapidjson::Value& obj, const char* name) {
  return obj.HasMember(name) && obj[name].IsNumber() ? obj[name].GetDouble() : 0;
}

std::string stringOf(const rapidjson::Value& obj, const char* name) {
  return obj.HasMember(name) && obj[name].IsString() ? obj[name].GetString() : "";
}

PeerSide sideOf(const rapidjson::Value& obj, const char* name) {
  PeerSide s;
  if (obj.HasMember(name) && obj[name].IsObject()) {
    const auto& v = obj[name];
    s = {intOf(v, "both"), intOf(v, "city_only"), intOf(v, "phone_only"),
         intOf(v, "with_conflicts")};
  }
  return s;
}

}  // namespace

Result<PeerFigures> measurePouchDb(const PeerOptions& o) {
  const std::string node = onPath("node");
  if (node.empty()) {
    return fail("bench_peer: node is not on PATH");
  }
  TANDEM_ASSIGN_OR_RETURN(auto node_path, nodeModules(o));
  std::error_code ec;
  fs::create_directories(o.cache_dir, ec);  // the script's working directory
  std::string command = "cd " + shellQuoted(o.cache_dir) + " && ";
  if (!node_path.empty()) {
    command += "NODE_PATH=" + shellQuoted(node_path) + " ";
  }
  // A hung sync must not hang `make bench`: coreutils' timeout when there is one.
  const std::string timeout = onPath("timeout");
  if (!timeout.empty()) {
    command += shellQuoted(timeout) + " " + std::to_string(120 + o.records / 50) + " ";
  }
  command += shellQuoted(node) + " " + shellQuoted(o.source_dir + "/pouchdb_peer.js") +
             " --records " + std::to_string(o.records) + " --edits " + std::to_string(o.edits);
  TANDEM_ASSIGN_OR_RETURN(auto ran, run(command));
  if (ran.exit_code != 0) {
    return fail("bench_peer: pouchdb_peer.js exited " + std::to_string(ran.exit_code) +
                (ran.exit_code == 124 ? " (timed out)" : "") + ", output: " + ran.out);
  }
  rapidjson::Document doc;
  doc.Parse(ran.out.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("docs_per_s")) {
    return fail("bench_peer: pouchdb_peer.js printed no result line: " + ran.out);
  }
  PeerFigures f;
  f.version = stringOf(doc, "version");
  f.server = stringOf(doc, "server");
  f.mode = stringOf(doc, "mode");
  f.sync_seconds = numberOf(doc, "sync_seconds");
  f.docs_per_s = numberOf(doc, "docs_per_s");
  f.edit_seconds = numberOf(doc, "edit_sync_seconds");
  f.kept_both = intOf(doc, "kept_both");
  f.a = sideOf(doc, "side_a");
  f.b = sideOf(doc, "side_b");
  return f;
}

}  // namespace tandem::bench
