#include "common/raii.hpp"

#include <link.h>

namespace preflight {

DynamicLibrary DynamicLibrary::open(const std::string& name, int flags) {
  DynamicLibrary library;
  ::dlerror();  // clear a stale message
  void* handle = ::dlopen(name.c_str(), flags);
  if (handle == nullptr) {
    const char* message = ::dlerror();
    library.error_ = message != nullptr ? message : "dlopen failed";
  } else {
    library.handle_.reset(handle);
  }
  return library;
}

std::string DynamicLibrary::resolved_path() const {
  if (!handle_) {
    return {};
  }
  link_map* map = nullptr;
  if (::dlinfo(handle_.get(), RTLD_DI_LINKMAP, &map) != 0 || map == nullptr ||
      map->l_name == nullptr) {
    return {};
  }
  return map->l_name;
}

}  // namespace preflight
