#include "services/common/topology/yaml_to_proto.h"

#include <cctype>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "yaml-cpp/yaml.h"

namespace trunkline {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

int LineOfNode(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return absl::StrCat("\"", node.Scalar(), "\"");
    default:
      return "nothing";
  }
}

// The prefix every value of `type` starts with: SrtpMode -> "SRTP_MODE_".
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string prefix;
  const std::string& name = type->name();
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
        std::islower(static_cast<unsigned char>(name[i - 1]))) {
      prefix += '_';
    }
    prefix += absl::ascii_toupper(c);
  }
  return prefix + "_";
}

const EnumValueDescriptor* FindEnumValue(const EnumDescriptor* type,
                                         absl::string_view text) {
  std::string upper = NormalizeEnumSpelling(text);
  if (const EnumValueDescriptor* full = type->FindValueByName(upper)) {
    return full;
  }
  return type->FindValueByName(EnumPrefix(type) + upper);
}

std::string EnumChoices(const EnumDescriptor* type) {
  std::string prefix = EnumPrefix(type);
  std::string out;
  for (int i = 0; i < type->value_count(); ++i) {
    const std::string& name = type->value(i)->name();
    if (type->value(i)->number() == 0) continue;  // UNSPECIFIED
    absl::string_view short_name = name;
    if (short_name.substr(0, prefix.size()) == prefix) {
      short_name.remove_prefix(prefix.size());
    }
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    absl::AsciiStrToLower(short_name));
  }
  return out;
}

// By JSON name (lowerCamelCase) or proto name (snake_case).
const FieldDescriptor* FindField(const Descriptor* descriptor,
                                 const std::string& key) {
  if (const FieldDescriptor* field = descriptor->FindFieldByName(key)) {
    return field;
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i)->json_name() == key) return descriptor->field(i);
  }
  return nullptr;
}

class Converter {
 public:
  Converter(SourceMap* source_map, std::vector<SourceError>* errors)
      : source_map_(source_map), errors_(errors) {}

  void ConvertMessage(const YAML::Node& node, Message* message,
                      const std::string& path) {
    source_map_->Record(path, LineOfNode(node));
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Error(node, path,
            absl::StrCat("expected a mapping, found ", TypeName(node)));
      return;
    }
    const Descriptor* descriptor = message->GetDescriptor();
    // YAML parsers keep the last of two equal keys; an operator who writes
    // `trunks:` twice would silently lose the first list.
    std::map<std::string, int> seen_keys;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      auto [first, inserted] = seen_keys.emplace(key, LineOfNode(entry.first));
      if (!inserted) {
        Error(entry.first, path,
              absl::StrCat("\"", key, "\" appears twice in one ",
                           descriptor->name(), " (first at line ",
                           first->second, ")"));
        continue;
      }
      const FieldDescriptor* field = FindField(descriptor, key);
      if (field == nullptr) {
        Error(entry.first, path,
              absl::StrCat("unknown field \"", key, "\" in ",
                           descriptor->name()));
        continue;
      }
      const std::string field_path =
          path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
      source_map_->Record(field_path, LineOfNode(entry.first));
      ConvertField(entry.second, message, field, field_path);
    }
  }

 private:
  void ConvertField(const YAML::Node& node, Message* message,
                    const FieldDescriptor* field, const std::string& path) {
    if (node.IsNull()) return;  // `key:` with no value leaves it unset.
    if (!field->is_repeated()) {
      ConvertSingle(node, message, field, path, /*index=*/-1);
      return;
    }
    if (!node.IsSequence()) {
      Error(node, path,
            absl::StrCat("expected a list, found ", TypeName(node)));
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = absl::StrCat(path, "[", i, "]");
      source_map_->Record(item_path, LineOfNode(node[i]));
      ConvertSingle(node[i], message, field, item_path, static_cast<int>(i));
    }
  }

  void ConvertSingle(const YAML::Node& node, Message* message,
                     const FieldDescriptor* field, const std::string& path,
                     int index) {
    const Reflection* reflection = message->GetReflection();
    const bool repeated = index >= 0;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* child = repeated ? reflection->AddMessage(message, field)
                                : reflection->MutableMessage(message, field);
      ConvertMessage(node, child, path);
      return;
    }
    if (!node.IsScalar()) {
      Error(node, path,
            absl::StrCat(field->json_name(),
                         ": expected a single value, found ", TypeName(node)));
      return;
    }
    const std::string& text = node.Scalar();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? reflection->AddString(message, field, text)
                 : reflection->SetString(message, field, text);
        return;
      case FieldDescriptor::CPPTYPE_BOOL: {
        std::string lower = absl::AsciiStrToLower(text);
        bool value;
        if (lower == "true" || lower == "yes" || lower == "on") {
          value = true;
        } else if (lower == "false" || lower == "no" || lower == "off") {
          value = false;
        } else {
          Error(node, path,
                absl::StrCat(field->json_name(),
                             ": expected true or false, found \"", text, "\""));
          return;
        }
        repeated ? reflection->AddBool(message, field, value)
                 : reflection->SetBool(message, field, value);
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t value;
        if (!absl::SimpleAtoi(text, &value)) {
          Error(node, path,
                absl::StrCat(field->json_name(),
                             ": expected a whole number from 0 to 4294967295, "
                             "found \"",
                             text, "\""));
          return;
        }
        repeated ? reflection->AddUInt32(message, field, value)
                 : reflection->SetUInt32(message, field, value);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t value;
        if (!absl::SimpleAtoi(text, &value)) {
          Error(
              node, path,
              absl::StrCat(field->json_name(),
                           ": expected a whole number, found \"", text, "\""));
          return;
        }
        repeated ? reflection->AddInt32(message, field, value)
                 : reflection->SetInt32(message, field, value);
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* value =
            FindEnumValue(field->enum_type(), text);
        if (value == nullptr) {
          Error(node, path,
                absl::StrCat(
                    field->json_name(), ": \"", text,
                    "\" is not one of: ", EnumChoices(field->enum_type())));
          return;
        }
        repeated ? reflection->AddEnum(message, field, value)
                 : reflection->SetEnum(message, field, value);
        return;
      }
      default:
        Error(node, path,
              absl::StrCat(field->json_name(), ": unsupported field type"));
    }
  }

  void Error(const YAML::Node& node, const std::string& path,
             std::string message) {
    int line = LineOfNode(node);
    if (line == 0) line = source_map_->LineOf(path);
    errors_->push_back({line, std::move(message)});
  }

  SourceMap* source_map_;
  std::vector<SourceError>* errors_;
};

}  // namespace

int SourceMap::LineOf(absl::string_view path) const {
  std::string probe(path);
  while (true) {
    auto it = lines_.find(probe);
    if (it != lines_.end() && it->second > 0) return it->second;
    if (probe.empty()) return 0;
    size_t cut = probe.find_last_of(".[");
    probe.resize(cut == std::string::npos ? 0 : cut);
  }
}

std::string NormalizeEnumSpelling(absl::string_view text) {
  std::string out;
  bool has_lower = false;
  for (char c : text) has_lower |= std::islower(static_cast<unsigned char>(c));
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '-' || c == ' ' || c == '.') {
      out += '_';
      continue;
    }
    // camelCase / PascalCase word boundary.
    if (has_lower && i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
        std::islower(static_cast<unsigned char>(text[i - 1]))) {
      out += '_';
    }
    out += absl::ascii_toupper(c);
  }
  return out;
}

void YamlToMessage(const YAML::Node& node, google::protobuf::Message* message,
                   const std::string& path, SourceMap* source_map,
                   std::vector<SourceError>* errors) {
  Converter(source_map, errors).ConvertMessage(node, message, path);
}

void YamlTextToMessage(absl::string_view text,
                       google::protobuf::Message* message,
                       SourceMap* source_map,
                       std::vector<SourceError>* errors) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    errors->push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0,
                       absl::StrCat("YAML syntax error: ", e.msg)});
    return;
  }
  if (root.IsNull()) {
    errors->push_back({1, "the file is empty"});
    return;
  }
  try {
    YamlToMessage(root, message, "", source_map, errors);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed documents only while walking them.
    errors->push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0,
                       absl::StrCat("YAML error: ", e.msg)});
  }
}

}  // namespace trunkline
