// `zeroshot serve` as a child process for the end-to-end tests: started on a free loopback port
// (--port 0, read back from its "listening" log line), its stderr (the JSON log) kept in a file,
// stopped with SIGTERM (or killed if a test leaves it running, and when the test process dies).
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/run_cli.h"

namespace zeroshot::testing {

class ServeProcess {
 public:
  // Runs `zeroshot serve --port 0 ARGS...` and waits (up to 30 s) for it to listen.
  explicit ServeProcess(const std::vector<std::string>& args) {
    log_path_ = make_temp_dir("zs_serve_") / "stderr.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      // The server dies with the test process, even one that crashes or is killed.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<std::string> argv_strings = {ZEROSHOT_CLI, "serve", "--port", "0"};
      argv_strings.insert(argv_strings.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& s : argv_strings) argv.push_back(s.data());
      argv.push_back(nullptr);
      if (!std::freopen(log_path_.c_str(), "w", stderr)) ::_exit(127);
      ::execv(ZEROSHOT_CLI, argv.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline && !exited()) {
      for (const auto& line : log_lines()) {
        if (line.value("event", "") == "listening") port_ = line["port"];
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  // Whether the process has ended (a start that failed: its log says why).
  bool exited() {
    int status = 0;
    if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    // Every call bounded (cpp-httplib's connect timeout is 300 s by default): a server that
    // stops answering fails the test instead of hanging it.
    c.set_connection_timeout(5);
    c.set_read_timeout(60);
    c.set_write_timeout(60);
    return c;
  }
  // Polls /health/ready until 200 (true) or `timeout`.
  bool wait_ready(std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    auto c = client();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = c.Get("/health/ready"); r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // SIGTERM, then the exit status (-1: killed by a signal or still running after 30 s).
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 3000; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The log's JSON lines (anything else skipped).
  std::vector<nlohmann::json> log_lines() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) lines.push_back(std::move(j));
    }
    return lines;
  }

 private:
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

}  // namespace zeroshot::testing
