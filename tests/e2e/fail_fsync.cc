// Preloaded into the agent (LD_PRELOAD) by the fsync-failure end-to-end test: fdatasync() and
// fsync() fail with EIO while the file named by TANDEM_TEST_FAIL_FSYNC exists, as on a disk that
// reports write-back errors, and call through to libc otherwise. Nothing else is changed: the
// writes themselves succeed, so only what the agent does with a failed fsync is under test.

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

bool failing() {
  const char* flag = std::getenv("TANDEM_TEST_FAIL_FSYNC");
  return flag != nullptr && ::access(flag, F_OK) == 0;
}

using SyncFn = int (*)(int);

int callThrough(const char* name, int fd) {
  auto real = reinterpret_cast<SyncFn>(::dlsym(RTLD_NEXT, name));
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(fd);
}

}  // namespace

extern "C" int fdatasync(int fd) {
  if (failing()) {
    errno = EIO;
    return -1;
  }
  return callThrough("fdatasync", fd);
}

extern "C" int fsync(int fd) {
  if (failing()) {
    errno = EIO;
    return -1;
  }
  return callThrough("fsync", fd);
}
