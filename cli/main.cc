// zeroshot: command-line entry point. Each subcommand lives in its own file (cli/commands.h).
#include <CLI/CLI.hpp>

#include <iostream>

#include "zeroshot/zeroshot.h"

int main(int argc, char** argv) {
  CLI::App app{"zeroshot: zero-shot image classification with CLIP"};
  app.set_version_flag("--version", zeroshot::version());
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
