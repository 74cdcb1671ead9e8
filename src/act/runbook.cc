#include "act/runbook.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace dnsight {
namespace {

// How long to keep reading after the command exits and its group was swept, for output
// still in flight from descendants.
constexpr int64_t kDrainAfterExitNs = 100'000'000;
// Upper bound on one wait between checks of the child.
constexpr int kPollSliceMs = 10;

int64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Keeps the first kMaxRunbookOutput bytes.
void Capture(std::string_view data, RunbookResult* r) {
  const size_t room = kMaxRunbookOutput - std::min(kMaxRunbookOutput, r->output.size());
  if (data.size() > room) r->output_truncated = true;
  r->output.append(data.substr(0, room));
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

// Only async-signal-safe calls from here to execvp: the parent may have other threads.
[[noreturn]] void ExecChild(char* const* argv, int devnull, int out_w, int status_w) {
  ::setpgid(0, 0);
  if (::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(out_w, STDOUT_FILENO) < 0 ||
      ::dup2(out_w, STDERR_FILENO) < 0) {
    const int e = errno;
    (void)!::write(status_w, &e, sizeof e);
    ::_exit(127);
  }
  // Every inherited descriptor but the three standard ones and the exec-status pipe
  // (close-on-exec, so it closes itself once execvp succeeds).
  const unsigned lo = 3, sw = static_cast<unsigned>(status_w);
  if ((sw > lo && ::close_range(lo, sw - 1, 0) != 0) || ::close_range(sw + 1, ~0U, 0) != 0) {
    for (int fd = 3; fd < 65536; ++fd)
      if (fd != status_w) ::close(fd);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execvp(argv[0], argv);
  const int e = errno;
  (void)!::write(status_w, &e, sizeof e);
  ::_exit(127);
}

struct ParsedUrl {
  std::string scheme_host_port;  // "https://host:8443"
  std::string path;              // "/x?y", at least "/"
};

bool ParseUrl(const std::string& url, ParsedUrl* out) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return false;
  const std::string scheme = url.substr(0, sep);
  if (scheme != "http" && scheme != "https") return false;
  const size_t path_at = url.find('/', sep + 3);
  const std::string authority =
      url.substr(sep + 3, path_at == std::string::npos ? std::string::npos : path_at - sep - 3);
  if (authority.empty() || authority.find_first_of("@ ") != std::string::npos) return false;
  out->scheme_host_port = scheme + "://" + authority;
  out->path = path_at == std::string::npos ? "/" : url.substr(path_at);
  return true;
}

}  // namespace

std::string RunbookStep::Describe() const {
  std::string s;
  if (kind == Kind::kCommand) {
    s = "command:";
    for (const auto& a : argv) {
      s.push_back(' ');
      s.append(a);
    }
  } else {
    s = "http: " + method + " " + url;
  }
  return s;
}

bool RunbookResult::ok() const {
  if (!started || timed_out) return false;
  if (http_status != 0) return http_status >= 200 && http_status < 300;
  return exit_code == 0;
}

RunbookResult SystemRunbookExecutor::Run(const RunbookStep& step, int64_t timeout_ns) {
  if (timeout_ns <= 0) {
    RunbookResult r;
    r.error = "timeout must be positive";
    return r;
  }
  return step.kind == RunbookStep::Kind::kCommand ? RunCommand(step, timeout_ns)
                                                  : RunHttp(step, timeout_ns);
}

RunbookResult SystemRunbookExecutor::RunCommand(const RunbookStep& step, int64_t timeout_ns) const {
  RunbookResult r;
  if (step.argv.empty() || step.argv[0].empty()) {
    r.error = "empty command";
    return r;
  }
  // Built before fork: the child must not allocate.
  std::vector<char*> argv;
  argv.reserve(step.argv.size() + 1);
  for (const auto& a : step.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int out[2] = {-1, -1}, status[2] = {-1, -1};
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0) {
    r.error = std::string("cannot set up pipes: ") + std::strerror(errno);
    CloseFd(&devnull);
    CloseFd(&out[0]);
    CloseFd(&out[1]);
    CloseFd(&status[0]);
    CloseFd(&status[1]);
    return r;
  }
  const int64_t start = MonotonicNs();
  const pid_t pid = ::fork();
  if (pid == 0) ExecChild(argv.data(), devnull, out[1], status[1]);
  const int fork_errno = errno;
  CloseFd(&devnull);
  CloseFd(&out[1]);
  CloseFd(&status[1]);
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(fork_errno);
    CloseFd(&out[0]);
    CloseFd(&status[0]);
    return r;
  }
  // Also from this side, so the group exists before any kill below (either call wins).
  ::setpgid(pid, pid);

  // EOF means execvp succeeded (the close-on-exec end went away); an int is its errno.
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(status[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  CloseFd(&status[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    int ignored;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
    CloseFd(&out[0]);
    r.error = "cannot run " + step.argv[0] + ": " + std::strerror(exec_errno);
    r.duration_ns = MonotonicNs() - start;
    return r;
  }
  r.started = true;

  const int64_t deadline = start + timeout_ns;
  int64_t kill_at = 0;  // when SIGKILL follows SIGTERM; 0 = not yet terminated
  bool killed = false, exited = false;
  int64_t exited_at = 0;
  char buf[4096];
  for (;;) {
    if (!exited) {
      // WNOWAIT: the child stays a zombie, so its pid (and process group id) cannot be
      // reused before the group is swept below.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
        exited_at = MonotonicNs();
        ::kill(-pid, SIGKILL);  // descendants left in the group
      }
    }
    const int64_t now = MonotonicNs();
    if (exited && (out[0] < 0 || now - exited_at >= kDrainAfterExitNs)) break;
    if (!exited && now >= deadline && kill_at == 0) {
      r.timed_out = true;
      ::kill(-pid, SIGTERM);
      kill_at = now + kill_grace_ns_;
    }
    if (!exited && kill_at != 0 && !killed && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    int64_t next = now + int64_t{kPollSliceMs} * 1'000'000;
    if (!exited && kill_at == 0) next = std::min(next, deadline);
    if (!exited && kill_at != 0 && !killed) next = std::min(next, kill_at);
    const int wait_ms =
        static_cast<int>(std::clamp<int64_t>((next - now + 999'999) / 1'000'000, 0, kPollSliceMs));
    if (out[0] < 0) {
      const timespec pause{0, static_cast<long>(wait_ms) * 1'000'000};
      ::nanosleep(&pause, nullptr);
      continue;
    }
    pollfd pfd{out[0], POLLIN, 0};
    const int pr = ::poll(&pfd, 1, wait_ms);
    if (pr > 0) {
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        Capture(std::string_view(buf, static_cast<size_t>(n)), &r);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(&out[0]);
      }
    }
  }
  CloseFd(&out[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  r.duration_ns = MonotonicNs() - start;
  if (WIFEXITED(wstatus)) r.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) r.term_signal = WTERMSIG(wstatus);
  if (r.timed_out) {
    r.error = "timed out after " + std::to_string(timeout_ns / 1'000'000) + " ms";
  } else if (r.term_signal != 0) {
    r.error = std::string("killed by signal ") + std::to_string(r.term_signal);
  }
  return r;
}

RunbookResult SystemRunbookExecutor::RunHttp(const RunbookStep& step, int64_t timeout_ns) const {
  RunbookResult r;
  ParsedUrl url;
  if (!ParseUrl(step.url, &url)) {
    r.error = "not an http(s) URL: " + step.url;
    return r;
  }
  httplib::Client client(url.scheme_host_port);
  if (!client.is_valid()) {
    r.error = "cannot make a client for " + url.scheme_host_port;
    return r;
  }
  const time_t sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
  const time_t usec = static_cast<time_t>((timeout_ns % 1'000'000'000) / 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_follow_location(false);

  httplib::Request req;
  req.method = step.method;
  req.path = url.path;
  req.body = step.body;
  bool has_type = false;
  for (const auto& [k, v] : step.headers) {
    req.headers.emplace(k, v);
    has_type |= ::strcasecmp(k.c_str(), "Content-Type") == 0;
  }
  if (!req.body.empty() && !has_type) req.headers.emplace("Content-Type", "application/json");

  const int64_t start = MonotonicNs();
  r.started = true;
  httplib::Result res = client.send(req);
  r.duration_ns = MonotonicNs() - start;
  if (!res) {
    const httplib::Error e = res.error();
    // A read timeout is reported as a read error; the elapsed time tells them apart.
    r.timed_out = e == httplib::Error::ConnectionTimeout ||
                  ((e == httplib::Error::Read || e == httplib::Error::Write) &&
                   r.duration_ns >= timeout_ns - timeout_ns / 10);
    r.error = "http " + step.method + " " + step.url + ": " + httplib::to_string(e);
    return r;
  }
  r.http_status = res->status;
  Capture(res->body, &r);
  return r;
}

}  // namespace dnsight
