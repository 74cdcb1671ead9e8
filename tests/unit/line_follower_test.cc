#include "ingest/line_follower.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using test_support::TempDir;

// Collects what a follower hands over; safe to read while Run() is on another thread.
class Collector {
 public:
  LineFollower::LineCallback OnLine() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    };
  }
  LineFollower::MalformedCallback OnMalformed() {
    return [this](std::string_view reason, std::string_view sample) {
      std::lock_guard<std::mutex> lock(mu_);
      ++malformed_[std::string(reason)];
      samples_.emplace_back(sample);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::map<std::string, int> malformed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return malformed_;
  }
  std::vector<std::string> samples() const {
    std::lock_guard<std::mutex> lock(mu_);
    return samples_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::map<std::string, int> malformed_;
  std::vector<std::string> samples_;
};

void Write(const std::string& path, const std::string& text,
           std::ios::openmode mode = std::ios::trunc) {
  std::ofstream f(path, std::ios::binary | std::ios::out | mode);
  f << text;
}

TEST(LineFollower, ReadsAFileLineByLine) {
  TempDir dir;
  const std::string path = dir / "in.log";
  const std::string text = "one\n\ntwo\r\n" + std::string(3000, 'x') + "\nthree\nfour";
  Write(path, text);
  LineFollowerOptions o;
  o.path = path;
  o.max_line_bytes = 1000;
  LineFollower f(o);
  Collector c;
  ASSERT_TRUE(f.Run(c.OnLine(), c.OnMalformed()).ok());
  // The blank line is skipped, '\r' dropped, and the unterminated last line kept.
  EXPECT_EQ(c.lines(), (std::vector<std::string>{"one", "two", "three", "four"}));
  EXPECT_EQ(c.malformed(), (std::map<std::string, int>{{"line_too_long", 1}}));
  ASSERT_EQ(c.samples().size(), 1u);
  EXPECT_EQ(c.samples()[0], std::string(256, 'x'));  // a bounded sample
  const LineFollowerCounters n = f.counters();
  EXPECT_EQ(n.lines, 5u);  // the long line counts as seen
  EXPECT_EQ(n.bytes, text.size());
  EXPECT_EQ(n.rotations, 0u);
  EXPECT_EQ(n.truncations, 0u);
}

TEST(LineFollower, LongLinesAcrossReadsAreSkippedOnce) {
  TempDir dir;
  const std::string path = dir / "in.log";
  // Longer than one read: the splitter sees it without its newline first.
  Write(path, "a\n" + std::string(3 << 20, 'y') + "\nb\n" + std::string(500, 'z'));
  LineFollowerOptions o;
  o.path = path;
  o.max_line_bytes = 100;
  LineFollower f(o);
  Collector c;
  ASSERT_TRUE(f.Run(c.OnLine(), c.OnMalformed()).ok());
  EXPECT_EQ(c.lines(), (std::vector<std::string>{"a", "b"}));
  // The 3 MiB line and the unterminated 500-byte tail.
  EXPECT_EQ(c.malformed(), (std::map<std::string, int>{{"line_too_long", 2}}));
}

TEST(LineFollower, MissingFileIsAnErrorUnlessFollowing) {
  LineFollowerOptions o;
  o.path = "/nonexistent/dir/x.log";
  LineFollower f(o);
  Collector c;
  const Status s = f.Run(c.OnLine(), c.OnMalformed());
  EXPECT_EQ(s.code(), StatusCode::kIoError);

  // Following: waited for until stopped, which is not an error.
  o.follow = true;
  o.poll_interval_ms = 5;
  LineFollower g(o);
  std::thread t([&] { EXPECT_TRUE(g.Run(c.OnLine(), c.OnMalformed()).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  g.RequestStop();
  t.join();
  EXPECT_TRUE(c.lines().empty());
}

// Polls until `done` holds or about five seconds pass.
template <typename Pred>
void WaitFor(Pred done) {
  for (int i = 0; i < 500 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

TEST(LineFollower, FollowsRotationTruncationAndLateFiles) {
  TempDir dir;
  const std::string path = dir / "access.log";
  LineFollowerOptions o;
  o.path = path;
  o.follow = true;
  o.poll_interval_ms = 5;
  LineFollower f(o);
  Collector c;
  std::thread t([&] { EXPECT_TRUE(f.Run(c.OnLine(), c.OnMalformed()).ok()); });
  const auto have = [&](size_t n) { return [&, n] { return c.lines().size() >= n; }; };

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Write(path, "1\n");  // the file appears after Run() started
  WaitFor(have(1));
  Write(path, "2\n", std::ios::app);
  WaitFor(have(2));
  // A line written in two parts is handed over once, whole.
  Write(path, "3-", std::ios::app);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(c.lines().size(), 2u);
  Write(path, "three\n", std::ios::app);
  WaitFor(have(3));
  // Rotation: rename away, the writer still appends to the old file, a new one appears.
  std::filesystem::rename(path, dir / "access.log.1");
  Write(dir / "access.log.1", "4\n", std::ios::app);
  Write(path, "five-five\n");
  WaitFor(have(5));
  // copytruncate: the file shrinks in place (to less than was read, so it is noticed).
  Write(path, "6\n", std::ios::trunc);
  WaitFor(have(6));
  // An unterminated line is not handed over while following.
  Write(path, "partial", std::ios::app);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  f.RequestStop();
  t.join();
  EXPECT_EQ(c.lines(), (std::vector<std::string>{"1", "2", "3-three", "4", "five-five", "6"}));
  const LineFollowerCounters n = f.counters();
  EXPECT_EQ(n.rotations, 1u);
  EXPECT_EQ(n.truncations, 1u);
  EXPECT_EQ(n.lines, 6u);
  EXPECT_TRUE(c.malformed().empty());
}

TEST(LineFollower, ReadsStandardInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  const std::string text = "alpha\nbeta\r\ngamma";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);  // EOF after the text

  LineFollowerOptions o;
  o.path = "-";
  LineFollower f(o);
  Collector c;
  const Status s = f.Run(c.OnLine(), c.OnMalformed());
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.lines(), (std::vector<std::string>{"alpha", "beta", "gamma"}));
  EXPECT_EQ(f.counters().bytes, text.size());
}

}  // namespace
}  // namespace dnsight
