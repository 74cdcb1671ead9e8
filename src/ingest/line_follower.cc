#include "ingest/line_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace dnsight {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kMalformedSampleBytes = 256;

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

// Splits a byte stream into lines. Keeps kLinePadding spare bytes after the data in the
// same buffer, so every line handed out can be parsed in place.
class LineFollower::Splitter {
 public:
  Splitter(LineFollower& owner, const LineCallback& on_line, const MalformedCallback& on_malformed)
      : owner_(owner),
        max_line_(owner.options_.max_line_bytes),
        on_line_(on_line),
        on_malformed_(on_malformed) {
    buf_.resize(kChunk + max_line_ + kLinePadding);
  }

  // Reads once from fd. Returns bytes read (0 at EOF) or -1 on error (errno set).
  ssize_t ReadFrom(int fd) {
    if (len_ + kChunk + kLinePadding > buf_.size()) buf_.resize(len_ + kChunk + kLinePadding);
    ssize_t n;
    do {
      n = ::read(fd, buf_.data() + len_, kChunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    owner_.bytes_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    len_ += static_cast<size_t>(n);
    Drain();
    return n;
  }

  // End of a file: hands over an unterminated last line.
  void Finish() {
    if (len_ > 0 && !skipping_) HandleLine(0, len_);
    len_ = 0;
    skipping_ = false;
  }

  // Drops a partial line without handing it over (used when stopping while following).
  void Discard() {
    len_ = 0;
    skipping_ = false;
  }

 private:
  void Drain() {
    size_t start = 0;
    while (true) {
      const void* nl = std::memchr(buf_.data() + start, '\n', len_ - start);
      if (nl == nullptr) break;
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - buf_.data());
      if (skipping_) {
        skipping_ = false;
      } else {
        HandleLine(start, end);
      }
      start = end + 1;
    }
    std::memmove(buf_.data(), buf_.data() + start, len_ - start);
    len_ -= start;
    if (len_ > max_line_) {
      // Too long: report once (not once per read of it), then skip to the next newline.
      if (!skipping_) {
        on_malformed_("line_too_long",
                      std::string_view(buf_.data(), std::min(len_, kMalformedSampleBytes)));
      }
      len_ = 0;
      skipping_ = true;
    }
  }

  void HandleLine(size_t start, size_t end) {
    if (end > start && buf_[end - 1] == '\r') --end;
    if (end == start) return;  // blank lines are allowed
    owner_.lines_.fetch_add(1, std::memory_order_relaxed);
    const std::string_view line(buf_.data() + start, end - start);
    if (line.size() > max_line_) {
      on_malformed_("line_too_long", line.substr(0, kMalformedSampleBytes));
      return;
    }
    on_line_(line);
  }

  LineFollower& owner_;
  const size_t max_line_;
  const LineCallback& on_line_;
  const MalformedCallback& on_malformed_;
  std::vector<char> buf_;
  size_t len_ = 0;
  bool skipping_ = false;
};

LineFollower::LineFollower(LineFollowerOptions options) : options_(std::move(options)) {}

LineFollowerCounters LineFollower::counters() const {
  LineFollowerCounters c;
  c.lines = lines_.load(std::memory_order_relaxed);
  c.bytes = bytes_.load(std::memory_order_relaxed);
  c.rotations = rotations_.load(std::memory_order_relaxed);
  c.truncations = truncations_.load(std::memory_order_relaxed);
  return c;
}

Status LineFollower::Run(const LineCallback& on_line, const MalformedCallback& on_malformed) {
  Splitter splitter(*this, on_line, on_malformed);
  if (options_.path != "-") return RunFile(splitter);
  while (!stop_.load()) {
    const ssize_t n = splitter.ReadFrom(STDIN_FILENO);
    if (n == 0) break;
    if (n < 0) return Status::IoError(std::string("stdin: ") + std::strerror(errno));
  }
  splitter.Finish();
  return Status::Ok();
}

Status LineFollower::RunFile(Splitter& splitter) {
  const auto sleep = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.poll_interval_ms));
  };
  int fd = -1;
  while (!stop_.load()) {
    fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) break;
    if (!options_.follow || errno != ENOENT)
      return Status::IoError(options_.path + ": " + std::strerror(errno));
    sleep();
  }
  if (fd < 0) return Status::Ok();  // stopped while waiting for the file
  off_t offset = 0;
  Status result;
  while (!stop_.load()) {
    const ssize_t n = splitter.ReadFrom(fd);
    if (n < 0) {
      result = Status::IoError(options_.path + ": " + std::strerror(errno));
      break;
    }
    if (n > 0) {
      offset += n;
      continue;
    }
    if (!options_.follow) break;
    // At EOF: has the file been rotated or truncated?
    struct stat open_st {};
    struct stat path_st {};
    ::fstat(fd, &open_st);
    if (::stat(options_.path.c_str(), &path_st) == 0 && !SameFile(open_st, path_st)) {
      // Rotated: the old file is fully drained (we are at its EOF); switch.
      const int nfd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nfd >= 0) {
        // The writer may have appended to the old file after our last read and before
        // the rename we just saw: read it to its end once more before switching.
        while (splitter.ReadFrom(fd) > 0) {
        }
        splitter.Finish();
        ::close(fd);
        fd = nfd;
        offset = 0;
        rotations_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
    } else if (open_st.st_size < offset) {
      ::lseek(fd, 0, SEEK_SET);
      splitter.Finish();
      offset = 0;
      truncations_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    sleep();
  }
  if (!options_.follow || !stop_.load()) {
    splitter.Finish();
  } else {
    splitter.Discard();
  }
  ::close(fd);
  return result;
}

}  // namespace dnsight
