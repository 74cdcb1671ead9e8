// MountDashboard: the fixed table of dashboard files over a real httplib server on port 0:
// bodies and content types, no-cache, redirects, and nothing outside the table (plain and
// percent-encoded `..`, directory paths, files that exist but are not listed).
#include "serve/static_files.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using test_support::TempDir;

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// A web/ directory of fixture files, with a file beside it that must never be served.
void WriteDashboard(const TempDir& dir) {
  WriteFile(dir / "web/index.html", "<!doctype html><title>fixture</title>");
  WriteFile(dir / "web/app.js", "console.log('fixture');");
  WriteFile(dir / "web/style.css", "body { color: black; }");
  WriteFile(dir / "web/node_modules/uplot/dist/uPlot.iife.min.js", "var uPlot = 1;");
  WriteFile(dir / "web/node_modules/uplot/dist/uPlot.min.css", ".uplot { width: 1px; }");
  WriteFile(dir / "web/package.json", "{}");
  WriteFile(dir / "CMakeLists.txt", "project(secret)");
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteDashboard(dir_); }

  void TearDown() override {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  void Listen() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  // Sends the path as written: no client-side encoding or normalisation.
  httplib::Result Get(const std::string& path) {
    httplib::Client client("127.0.0.1", port_);
    client.set_url_encode(false);
    client.set_follow_location(false);
    return client.Get(path.c_str());
  }

  TempDir dir_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(StaticFilesTest, ServesEveryFileWithItsContentType) {
  ASSERT_TRUE(MountDashboard(server_, dir_ / "web").ok());
  Listen();
  struct Case {
    const char* path;
    const char* type;
    const char* body;
  };
  const Case cases[] = {
      {"/ui/", "text/html; charset=utf-8", "<!doctype html><title>fixture</title>"},
      {"/ui/index.html", "text/html; charset=utf-8", "<!doctype html><title>fixture</title>"},
      {"/ui/app.js", "text/javascript; charset=utf-8", "console.log('fixture');"},
      {"/ui/style.css", "text/css; charset=utf-8", "body { color: black; }"},
      {"/ui/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", "var uPlot = 1;"},
      {"/ui/vendor/uPlot.min.css", "text/css; charset=utf-8", ".uplot { width: 1px; }"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    auto res = Get(c.path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), c.type);
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-cache");
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_NE(res->get_header_value("Content-Security-Policy").find("default-src 'none'"),
              std::string::npos);
    EXPECT_EQ(res->body, c.body);
  }
}

TEST_F(StaticFilesTest, RedirectsRootToUi) {
  ASSERT_TRUE(MountDashboard(server_, dir_ / "web").ok());
  Listen();
  for (const char* path : {"/", "/ui"}) {
    SCOPED_TRACE(path);
    auto res = Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 302);
    EXPECT_EQ(res->get_header_value("Location"), "/ui/");
  }
}

TEST_F(StaticFilesTest, ServesNothingOutsideTheTable) {
  ASSERT_TRUE(MountDashboard(server_, dir_ / "web").ok());
  Listen();
  for (const char* path : {
           "/ui/../CMakeLists.txt",
           "/ui/%2e%2e/CMakeLists.txt",
           "/ui/%2E%2E/CMakeLists.txt",
           "/ui/..%2fCMakeLists.txt",
           "/ui/%2e%2e%2fCMakeLists.txt",
           "/ui/vendor/../../CMakeLists.txt",
           "/ui/vendor/%2e%2e/app.js",
           "/ui//app.js",
           "/ui/./app.js",
           "/ui/appXjs",
           "/ui/app.js/",
           "/ui/package.json",
           "/ui/node_modules/uplot/dist/uPlot.min.css",
           "/ui/vendor/",
           "/ui/vendor",
           "/ui/vendor/uPlot.iife.js",
           "/CMakeLists.txt",
           "/web/index.html",
       }) {
    SCOPED_TRACE(path);
    auto res = Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(res->body.find("secret"), std::string::npos);
  }
}

TEST_F(StaticFilesTest, ReadsFilesOnEachRequest) {
  ASSERT_TRUE(MountDashboard(server_, dir_ / "web").ok());
  Listen();
  WriteFile(dir_ / "web/app.js", "console.log('edited');");
  auto edited = Get("/ui/app.js");
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->body, "console.log('edited');");

  std::filesystem::remove(dir_ / "web/style.css");
  auto gone = Get("/ui/style.css");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 503);
  EXPECT_NE(gone->body.find("style.css"), std::string::npos);
}

TEST_F(StaticFilesTest, MissingDirectoryIsAnError) {
  const Status s = MountDashboard(server_, dir_ / "nope");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("is not a directory"), std::string::npos) << s.ToString();
  EXPECT_EQ(MountDashboard(server_, "").code(), StatusCode::kInvalidArgument);
}

TEST_F(StaticFilesTest, MissingUplotSaysToRunNpmCi) {
  std::filesystem::remove_all(dir_ / "web/node_modules");
  const Status s = MountDashboard(server_, dir_ / "web");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("npm ci"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("uPlot.iife.min.js"), std::string::npos) << s.ToString();

  // Nothing was registered: the dashboard's paths are unknown to the server.
  Listen();
  auto res = Get("/ui/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(StaticFilesTest, MissingPageFileIsAnError) {
  std::filesystem::remove(dir_ / "web/app.js");
  const Status s = MountDashboard(server_, dir_ / "web");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("app.js is missing"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("npm ci"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace dnsight
