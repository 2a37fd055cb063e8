// The zoo's word-level tokenizer for sst2-tinybert (zoo README, "Tokenizer (exact)"):
// ASCII lowercasing, whitespace / word-run / single-punctuation splitting, vocabulary
// lookup with [UNK], [CLS] ... [SEP], padding with an attention mask.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace octet::bench {

struct EncodedText {
  std::vector<int64_t> input_ids;       // [seq_len]
  std::vector<int64_t> attention_mask;  // [seq_len], 1 on [CLS]..[SEP]
};

class WordTokenizer {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1, kCls = 2, kSep = 3;

  // Line i of the file is the token with id i (UTF-8 bytes, no separators).
  static WordTokenizer load(const std::string& vocab_path);
  explicit WordTokenizer(const std::vector<std::string>& vocabulary);

  // Steps 1-2: lowercase ASCII A-Z, then split into tokens.
  static std::vector<std::string> split(const std::string& text);
  // Step 3: token ids, [UNK] for tokens outside the vocabulary.
  std::vector<int64_t> token_ids(const std::string& text) const;
  // Steps 4-5: at most seq_len - 2 ids between [CLS] and [SEP], padded to seq_len.
  EncodedText encode(const std::string& text, int seq_len) const;

  size_t vocabulary_size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, int64_t> ids_;
};

// One labelled sentence of a GLUE-style TSV file.
struct TextSample {
  std::string text;
  int64_t label = 0;
};

// A TSV with a header line, then "<text><TAB><label>" rows; the text is everything before
// the last TAB (trailing space included). Throws octet::Error naming the file and line.
std::vector<TextSample> read_labelled_tsv(const std::string& path);

}  // namespace octet::bench
