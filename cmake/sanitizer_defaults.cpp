// Default options of the sanitizer runtimes, linked into every executable of a sanitizer build
// (cmake/PreflightSanitizers.cmake). The runtimes call these before main; ASAN_OPTIONS,
// UBSAN_OPTIONS and TSAN_OPTIONS in the environment override them.
//
// No leak checking: libfabric, libibverbs and Open MPI allocate in the constructors of plugins
// they dlopen and then unload; LeakSanitizer's stacks for those end in "<unknown module>", which
// no suppression can name, and a leak report turns a rank's exit status into 1.

// NOLINTBEGIN(readability-identifier-naming): names fixed by the sanitizer runtimes
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0:abort_on_error=1";
}
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}
extern "C" const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1";
}
// NOLINTEND(readability-identifier-naming)
