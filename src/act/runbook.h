// Runbook steps and how they are run: one command (argv, never a shell) or one HTTP call.
//
// RunbookExecutor is the seam between the remediation logic and the outside world; tests
// substitute a recording fake, production uses SystemRunbookExecutor.
//
// SystemRunbookExecutor:
// - A command is started with fork + execvp in a process group of its own, stdin from
//   /dev/null, stdout and stderr into one pipe, every other descriptor closed and signal
//   dispositions reset. At the timeout the whole group gets SIGTERM, then SIGKILL after
//   kill_grace_ns if anything is left. Output beyond kMaxRunbookOutput bytes is read and
//   discarded (so the command never blocks on a full pipe) and the excerpt is marked
//   truncated.
// - An HTTP call uses cpp-httplib with connect, read and write timeouts set to the step's
//   timeout; it counts as timed out when any of them fires, so the wall time can reach a
//   small multiple of the timeout (connect + write + read). https URLs verify the server
//   certificate.
//
// Thread-safety: SystemRunbookExecutor::Run is thread-safe (no shared state); it blocks
// the calling thread for up to the timeout (plus the kill grace).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dnsight {

inline constexpr size_t kMaxRunbookOutput = 4096;

struct RunbookStep {
  enum class Kind : uint8_t { kCommand, kHttp };
  Kind kind = Kind::kCommand;
  std::vector<std::string> argv;  // kCommand: argv[0] is looked up in PATH
  std::string method = "POST";    // kHttp: GET | POST | PUT | PATCH | DELETE
  std::string url;                // kHttp: http:// or https://
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // "command: a b c" or "http: POST https://...": for logs and the audit record.
  std::string Describe() const;
};

struct RunbookResult {
  bool started = false;  // false: it could not be run at all (see error)
  int exit_code = -1;    // command: exit status; -1 when killed by a signal or not started
  int term_signal = 0;   // command: the signal that ended it, 0 when it exited
  int http_status = 0;   // http: response status; 0 when there was no response
  bool timed_out = false;
  std::string output;  // the first kMaxRunbookOutput bytes of stdout+stderr or of the body
  bool output_truncated = false;
  int64_t duration_ns = 0;
  std::string error;  // why it did not start or did not complete; "" otherwise

  // Exit status 0, or an HTTP status in [200, 300), without a timeout.
  bool ok() const;
};

class RunbookExecutor {
 public:
  virtual ~RunbookExecutor() = default;
  // REQUIRES: timeout_ns > 0.
  virtual RunbookResult Run(const RunbookStep& step, int64_t timeout_ns) = 0;
};

class SystemRunbookExecutor : public RunbookExecutor {
 public:
  // kill_grace_ns: how long after SIGTERM the group gets SIGKILL (default 2 s).
  explicit SystemRunbookExecutor(int64_t kill_grace_ns = 2'000'000'000)
      : kill_grace_ns_(kill_grace_ns) {}
  RunbookResult Run(const RunbookStep& step, int64_t timeout_ns) override;

 private:
  RunbookResult RunCommand(const RunbookStep& step, int64_t timeout_ns) const;
  RunbookResult RunHttp(const RunbookStep& step, int64_t timeout_ns) const;

  const int64_t kill_grace_ns_;
};

}  // namespace dnsight
