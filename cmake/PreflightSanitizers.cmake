# PREFLIGHT_SANITIZE: empty, "address,undefined" or "thread". Applied to every target, so the
# libraries, binaries and tests of one build directory agree.
set(PREFLIGHT_SANITIZE "" CACHE STRING "Sanitizers: address,undefined | thread")
if(PREFLIGHT_SANITIZE)
  add_compile_options(-fsanitize=${PREFLIGHT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PREFLIGHT_SANITIZE})
endif()
