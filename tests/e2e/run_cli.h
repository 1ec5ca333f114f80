// Runs the zeroshot CLI binary (ZEROSHOT_CLI) the way a shell user would, for the end-to-end
// tests: arguments quoted, stdin empty, stdout and stderr captured, and the run bounded by
// `timeout` so that a hang fails its test instead of the suite.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace zeroshot::testing {

struct CliResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// A single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A new empty folder under the system's temporary folder, named PREFIX<pid>_<n>; the test removes
// it when it is done with it.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       (prefix + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline CliResult run_cli(const std::vector<std::string>& args, int timeout_seconds = 300) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("zs_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  std::string command =
      "timeout " + std::to_string(timeout_seconds) + " " + shell_quote(ZEROSHOT_CLI);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " >" + shell_quote(dir / "out") + " 2>" + shell_quote(dir / "err") + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

// Starts the CLI with `args` in a child process (no shell; stdin, stdout and stderr on
// /dev/null) and returns its pid without waiting: for tests that kill or race runs.
inline pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(ZEROSHOT_CLI));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(ZEROSHOT_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

// The whole content of a file ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace zeroshot::testing
