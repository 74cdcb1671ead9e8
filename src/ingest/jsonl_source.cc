#include "ingest/jsonl_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "ingest/jsonl_decoder.h"

namespace dnsight {
namespace {

constexpr size_t kChunk = 1 << 20;

// Splits a byte stream into lines and hands each to the decoder. Keeps the padding that
// simdjson needs after every line in the same buffer, so lines are parsed in place.
class LineFeeder {
 public:
  LineFeeder(size_t max_line, ObservationSink& sink, JsonLinesSourceCounters& counters)
      : max_line_(max_line), sink_(sink), counters_(counters) {
    buf_.resize(kChunk + max_line + JsonLinesDecoder::kPadding);
  }

  // Reads once from fd. Returns bytes read (0 at EOF) or -1 on error (errno set).
  ssize_t ReadFrom(int fd) {
    if (len_ + kChunk + JsonLinesDecoder::kPadding > buf_.size())
      buf_.resize(len_ + kChunk + JsonLinesDecoder::kPadding);
    ssize_t n;
    do {
      n = ::read(fd, buf_.data() + len_, kChunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    counters_.bytes += static_cast<uint64_t>(n);
    len_ += static_cast<size_t>(n);
    Drain();
    return n;
  }

  // End of a file: parse an unterminated last line.
  void Finish() {
    if (len_ > 0 && !skipping_) HandleLine(0, len_);
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
      // Too long: report once, then skip to the next newline.
      sink_.OnMalformed("line_too_long", {reinterpret_cast<const uint8_t*>(buf_.data()),
                                          std::min<size_t>(len_, 256)});
      len_ = 0;
      skipping_ = true;
    }
  }

  void HandleLine(size_t start, size_t end) {
    if (end > start && buf_[end - 1] == '\r') --end;
    if (end == start) return;  // blank lines are allowed
    ++counters_.lines;
    const std::string_view line(buf_.data() + start, end - start);
    if (line.size() > max_line_) {
      sink_.OnMalformed("line_too_long", {reinterpret_cast<const uint8_t*>(line.data()),
                                          std::min<size_t>(line.size(), 256)});
      return;
    }
    RawDnsObservation obs;
    std::string_view reason;
    const size_t padding = buf_.size() - end;
    if (decoder_.Decode(line, padding, &obs, &reason)) {
      sink_.OnObservation(obs);
    } else {
      sink_.OnMalformed(reason, {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
    }
  }

  size_t max_line_;
  ObservationSink& sink_;
  JsonLinesSourceCounters& counters_;
  JsonLinesDecoder decoder_;
  std::vector<char> buf_;
  size_t len_ = 0;
  bool skipping_ = false;
};

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

JsonLinesSource::JsonLinesSource(JsonLinesSourceOptions options) : options_(std::move(options)) {}

std::string JsonLinesSource::Describe() const {
  return "jsonl:" + (options_.path == "-" ? std::string("stdin") : options_.path);
}

std::vector<std::pair<std::string, uint64_t>> JsonLinesSource::Counters() const {
  return {{"lines", counters_.lines},
          {"bytes", counters_.bytes},
          {"rotations", counters_.rotations},
          {"truncations", counters_.truncations}};
}

Status JsonLinesSource::Run(ObservationSink& sink) {
  LineFeeder feeder(options_.max_line_bytes, sink, counters_);
  const auto sleep = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.poll_interval_ms));
  };
  if (options_.path == "-") {
    while (!stop_.load()) {
      const ssize_t n = feeder.ReadFrom(STDIN_FILENO);
      if (n == 0) break;
      if (n < 0) return Status::IoError(std::string("stdin: ") + std::strerror(errno));
    }
    feeder.Finish();
    return Status::Ok();
  }

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
    const ssize_t n = feeder.ReadFrom(fd);
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
    struct stat open_st {
    }, path_st{};
    ::fstat(fd, &open_st);
    if (::stat(options_.path.c_str(), &path_st) == 0 && !SameFile(open_st, path_st)) {
      // Rotated: the old file is fully drained (we are at its EOF); switch.
      const int nfd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nfd >= 0) {
        feeder.Finish();
        ::close(fd);
        fd = nfd;
        offset = 0;
        ++counters_.rotations;
        continue;
      }
    } else if (open_st.st_size < offset) {
      ::lseek(fd, 0, SEEK_SET);
      feeder.Finish();
      offset = 0;
      ++counters_.truncations;
      continue;
    }
    sleep();
  }
  if (!options_.follow || !stop_.load()) feeder.Finish();
  ::close(fd);
  return result;
}

}  // namespace dnsight
