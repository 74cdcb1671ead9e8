// LineFollower: splits a file, a followed file, or stdin into lines for a callback.
//
// path "-" reads standard input until EOF. With follow=true a file is read like
// `tail -F`: after reaching the end it polls every poll_interval_ms for more data; when
// the path is renamed away and re-created (rotation) it drains the old file to its end
// and then opens the new one from the start; when the file shrinks (copytruncate) it
// restarts from offset 0. A missing file is waited for when following and is an error
// otherwise. Lines longer than max_line_bytes are skipped and reported once each as
// "line_too_long"; a trailing '\r' is dropped; blank lines are skipped silently. An
// unterminated last line is handed over at EOF unless following (a followed writer may
// still be in the middle of it).
//
// Lifetime: the view passed to on_line points into the follower's buffer and is valid
// only during the callback; at least kLinePadding readable bytes of the same buffer
// follow its end (so simdjson can parse it in place). The sample passed to on_malformed
// is valid only during the callback.
//
// Thread-safety: Run() runs on one thread; RequestStop() and counters() may be called
// from any thread while it runs. The callbacks run on Run()'s thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

struct LineFollowerOptions {
  std::string path;  // "-" for stdin
  // Keep reading after EOF, across rotation and truncation, until RequestStop().
  bool follow = false;
  // How long to sleep at EOF before looking again; only used when following.
  int64_t poll_interval_ms = 200;
  // Longer lines are skipped. The read buffer grows to about 1 MiB plus this.
  size_t max_line_bytes = 1 << 20;
};

struct LineFollowerCounters {
  uint64_t lines = 0;  // non-blank lines seen, including ones then rejected as too long
  uint64_t bytes = 0;  // bytes read from every file opened
  uint64_t rotations = 0;
  uint64_t truncations = 0;
};

class LineFollower {
 public:
  static constexpr size_t kLinePadding = 64;

  using LineCallback = std::function<void(std::string_view line)>;
  using MalformedCallback = std::function<void(std::string_view reason, std::string_view sample)>;

  explicit LineFollower(LineFollowerOptions options);
  LineFollower(const LineFollower&) = delete;
  LineFollower& operator=(const LineFollower&) = delete;

  // Reads until EOF (not following), until RequestStop(), or until an I/O error, which is
  // returned as IoError. Stopping while waiting for a missing file returns Ok.
  // REQUIRES: not called concurrently with itself.
  Status Run(const LineCallback& on_line, const MalformedCallback& on_malformed);

  // Makes Run() return at its next check (at most one poll interval or one read later).
  void RequestStop() { stop_.store(true); }
  bool stop_requested() const { return stop_.load(); }

  // A snapshot; each field is read atomically, not the set as a whole.
  LineFollowerCounters counters() const;
  const LineFollowerOptions& options() const { return options_; }

 private:
  class Splitter;

  Status RunFile(Splitter& splitter);

  LineFollowerOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> lines_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> rotations_{0};
  std::atomic<uint64_t> truncations_{0};
};

}  // namespace dnsight
