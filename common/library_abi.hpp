// Build-time proof that a hand-written function table matches a library's own header: the
// header's declaration, with its enums read as int (their calling convention) and its structs
// mapped to the table's own layout-compatible types, must be exactly the table's pointer type.
// Used only by the *_api_check.cpp files, compiled where the headers exist.
#pragma once

#include <type_traits>

namespace preflight::abi {

// What a header type becomes in a table: itself unless specialised.
template <typename T>
struct TableType {
  using type = T;
};

// Enums travel as int.
template <typename T>
requires std::is_enum_v<T>
struct TableType<T> {
  static_assert(sizeof(T) == sizeof(int), "an enum argument the table passes as int");
  using type = int;
};

template <typename T>
requires std::is_enum_v<T>
struct TableType<T*> {
  static_assert(sizeof(T) == sizeof(int), "an enum out-parameter the table passes as int*");
  using type = int*;
};

// A pointer to anything else points to what that becomes: a header struct mapped to the table's
// own type (one specialisation, in the *_api_check.cpp file) is mapped behind a pointer too.
template <typename T>
requires(!std::is_enum_v<T>) struct TableType<T*> {
  using type = typename TableType<T>::type*;
};

template <typename Result, typename... Parameters>
struct TableType<Result (*)(Parameters...)> {
  using type = typename TableType<Result>::type (*)(typename TableType<Parameters>::type...);
};

// The header's function `Declared` (a pointer type), read as a table entry.
template <typename Declared>
using table_type_t = typename TableType<Declared>::type;

}  // namespace preflight::abi

// The proof for one function, expanded by a table's X-macro list where its `signatures` are in
// scope: the header's ::name, read as a table entry, is exactly signatures::name##_type.
#define PREFLIGHT_ABI_SAME_SIGNATURE(name, table_header, library_header)                          \
  static_assert(                                                                                  \
      std::is_same_v<::preflight::abi::table_type_t<decltype(&::name)>, signatures::name##_type>, \
      table_header ": the signature of " #name " differs from " library_header)
