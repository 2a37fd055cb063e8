#include "bench_int8/tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "octet/octet.h"

namespace octet::bench {
namespace {

bool is_space_byte(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Word bytes: a-z, 0-9 and every byte >= 0x80, so multi-byte UTF-8 letters stay in words.
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

}  // namespace

WordTokenizer WordTokenizer::load(const std::string& vocab_path) {
  std::ifstream in(vocab_path, std::ios::binary);
  if (!in) throw Error(vocab_path + ": cannot open the vocabulary");
  std::vector<std::string> vocabulary;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocabulary.push_back(line);
  }
  if (vocabulary.size() < 4)
    throw Error(vocab_path + ": vocabulary has " + std::to_string(vocabulary.size()) +
                " lines, expected the 4 special tokens and more");
  return WordTokenizer(vocabulary);
}

WordTokenizer::WordTokenizer(const std::vector<std::string>& vocabulary) {
  ids_.reserve(vocabulary.size());
  for (size_t i = 0; i < vocabulary.size(); ++i)
    ids_.emplace(vocabulary[i], static_cast<int64_t>(i));  // the first occurrence wins
}

std::vector<std::string> WordTokenizer::split(const std::string& text) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (is_space_byte(c)) {
      flush();
    } else if (is_word_byte(c)) {
      word.push_back(static_cast<char>(c));
    } else {
      flush();
      tokens.emplace_back(1, static_cast<char>(c));
    }
  }
  flush();
  return tokens;
}

std::vector<int64_t> WordTokenizer::token_ids(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& token : split(text)) {
    auto it = ids_.find(token);
    ids.push_back(it == ids_.end() ? kUnk : it->second);
  }
  return ids;
}

EncodedText WordTokenizer::encode(const std::string& text, int seq_len) const {
  if (seq_len < 2) throw Error("WordTokenizer::encode: sequence length " + std::to_string(seq_len) + " < 2");
  std::vector<int64_t> ids = token_ids(text);
  const size_t keep = std::min(ids.size(), static_cast<size_t>(seq_len - 2));
  EncodedText out;
  out.input_ids.assign(seq_len, kPad);
  out.attention_mask.assign(seq_len, 0);
  out.input_ids[0] = kCls;
  for (size_t i = 0; i < keep; ++i) out.input_ids[i + 1] = ids[i];
  out.input_ids[keep + 1] = kSep;
  for (size_t i = 0; i < keep + 2; ++i) out.attention_mask[i] = 1;
  return out;
}

std::vector<TextSample> read_labelled_tsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<TextSample> samples;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) continue;  // header: text<TAB>label
    if (line.empty()) continue;
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos)
      throw Error(path + ":" + std::to_string(line_number) + ": no TAB before the label");
    const std::string label = line.substr(tab + 1);
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(label.c_str(), &end, 10);
    if (label.empty() || errno != 0 || *end != '\0' || value < 0)
      throw Error(path + ":" + std::to_string(line_number) + ": label '" + label +
                  "' is not a non-negative integer");
    samples.push_back({line.substr(0, tab), value});
  }
  if (line_number == 0) throw Error(path + ": empty file (expected a header line)");
  return samples;
}

}  // namespace octet::bench
