# Report tools on top of preflight_reports: baselines, the compare engine, renderers, the
# nccl-tests importer, validation, the SQLite history, and the preflight-report binary.
set(_reports_dir ${CMAKE_CURRENT_LIST_DIR})
add_library(preflight_report_tools STATIC
  ${_reports_dir}/baseline.cpp
  ${_reports_dir}/compare.cpp
  ${_reports_dir}/format.cpp
  ${_reports_dir}/import_nccl_tests.cpp
  ${_reports_dir}/render_html.cpp
  ${_reports_dir}/render_junit.cpp
  ${_reports_dir}/render_markdown.cpp
  ${_reports_dir}/render_prometheus.cpp
  ${_reports_dir}/render_series.cpp
  ${_reports_dir}/render_tables.cpp
  ${_reports_dir}/validate.cpp)
target_link_libraries(preflight_report_tools PUBLIC preflight_reports PRIVATE preflight_warnings)

# The history needs SQLite; without it `preflight-report history` exits 3 (skip) saying which
# option to turn on.
if(PREFLIGHT_WITH_SQLITE)
  add_library(preflight_report_history STATIC ${_reports_dir}/history.cpp)
  target_link_libraries(preflight_report_history
    PUBLIC preflight_report_tools PRIVATE SQLite::SQLite3 preflight_warnings)
endif()

add_executable(preflight-report ${_reports_dir}/report_main.cpp)
target_link_libraries(preflight-report PRIVATE preflight_report_tools preflight_warnings)
if(PREFLIGHT_WITH_SQLITE)
  target_link_libraries(preflight-report PRIVATE preflight_report_history)
endif()
install(TARGETS preflight-report RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
