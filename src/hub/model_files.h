// What a model folder holds, as plain data from the caller: the hub and the cache know no model
// family. The api asks the family registry (src/api/model_files.cc) and hands over a ModelLayout.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace zeroshot::hub {

// A file a folder must hold in one of several forms (tokenizer.json, or vocab.json + merges.txt).
struct FileNeed {
  std::string what;  // "the weights of a <model_type> model", for messages
  std::vector<std::vector<std::string>> forms;  // any one form, all its files there, meets it
  // Forms zeroshot does not read (file, why): when a download lacks the need, the first of these
  // that the repo has is named with its reason instead of "not found".
  std::vector<std::pair<std::string, std::string>> unread;
};

// The files of one model folder besides config.json, as its config.json decides.
struct ModelFiles {
  std::vector<std::string> fetch;  // downloaded in this order after config.json; a missing one is
                                   // an error at once when it is the one form of a need
  std::vector<FileNeed> needs;     // all met: the folder is complete
};

struct ModelLayout {
  // config.json's path -> what its folder holds. Throws zeroshot::Error for a config.json that no
  // known model loads (the hub passes it on).
  std::function<ModelFiles(const std::string& config_path)> files_for;
  // What loads at all ("clip, siglip"), for the message about a repo without config.json.
  std::string supported;
};

// The files of `need`'s forms, for messages: "tokenizer.json or vocab.json + merges.txt".
std::string forms_text(const FileNeed& need);

}  // namespace zeroshot::hub
